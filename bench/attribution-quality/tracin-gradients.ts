/**
 * The gradient half of the evidence, as a node produces it: the adapter's gradient sketch
 * (buildGradientSketch, at the Trainer's TracIn checkpoints) and every output's projected gradient
 * at the same checkpoints (outputGradients, what goes into its attribution record). With `sharedText`, the
 * examples must carry their contributor (the sketch leaves text several accounts share out of every loss).
 */
import { buildGradientSketch, type TaggedTrainingExample } from "../../nodes/src/attribution/build-gradient-sketch.ts";
import type { GradientSimilarity, GradientSketch, OutputGradientCheckpoint } from "../../nodes/src/attribution/gradient-influence.ts";
import { outputGradients } from "../../nodes/src/attribution/output-gradients.ts";
import type { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import type { SharedTextOptions } from "../../nodes/src/attribution/shared-text.ts";
import type { GradientProjection } from "../../nodes/src/engine/train/projected-gradients.ts";
import type { TracInCheckpoint } from "../../nodes/src/engine/train/tracin-checkpoint.ts";
import { BenchmarkInputError } from "./errors.ts";

export type TrainingExample = TaggedTrainingExample;

export interface GeneratedOutput {
  prompt: Int32Array;
  output: Int32Array;
}

export interface TracInGradients {
  sketch: GradientSketch;
  /** Per output, its gradient at each checkpoint (the sketch's order). */
  outputs: OutputGradientCheckpoint[][];
  seconds: number;
}

/** The model is the base the checkpoints were trained on; its attached adapter is left in place. */
export function tracinGradients(
  model: LlamaModel, checkpoints: readonly TracInCheckpoint[], examples: readonly TrainingExample[], outputs: readonly GeneratedOutput[],
  sequenceLength: number, projection: GradientProjection, baseModel: `0x${string}`, similarity?: GradientSimilarity, sharedText?: SharedTextOptions,
): TracInGradients {
  if (checkpoints.length === 0) throw new BenchmarkInputError("TracIn needs at least one checkpoint.");
  const started = performance.now();
  const sketch = buildGradientSketch(model, checkpoints, examples, {
    projection, sequenceLength, baseModel, ...(similarity ? { similarity } : {}), ...(sharedText ? { sharedText } : {}),
  });
  const perOutput = outputs.map(({ prompt, output }) => outputGradients(model, sketch.provenance!, checkpoints, prompt, output));
  return { sketch, outputs: perOutput, seconds: (performance.now() - started) / 1000 };
}

/**
 * The sketch and output gradients at the last `count` checkpoints only: what a job that kept fewer TracIn checkpoints
 * would score with (its sketch's rows and its outputs' gradients at those checkpoints are exactly these).
 */
export function atLastCheckpoints(g: { sketch: GradientSketch; outputs: readonly (readonly OutputGradientCheckpoint[])[] }, count: number): { sketch: GradientSketch; outputs: OutputGradientCheckpoint[][] } {
  const all = g.sketch.checkpoints.length;
  if (!Number.isInteger(count) || count < 1 || count > all) throw new BenchmarkInputError(`count must be an integer in [1, ${all}], got ${count}.`);
  const provenance = g.sketch.provenance!;
  return {
    sketch: { ...g.sketch, checkpoints: g.sketch.checkpoints.slice(all - count), provenance: { ...provenance, checkpoints: provenance.checkpoints.slice(all - count) } },
    outputs: g.outputs.map((o) => o.slice(all - count)),
  };
}
