/**
 * The gradient half of the evidence, as a node produces it: at each saved checkpoint, every training
 * example's projected LoRA gradient (the adapter's gradient sketch) and every output's projected
 * gradient (what goes into its attribution record), through the engine's projectedExampleGradients
 * and projectedOutputGradient with one shared projection.
 */
import type { GradientSketch, OutputGradientCheckpoint } from "../../nodes/src/attribution/gradient-influence.ts";
import type { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import { projectedExampleGradients, projectedOutputGradient, type GradientProjection } from "../../nodes/src/engine/train/projected-gradients.ts";
import { BenchmarkInputError } from "./errors.ts";
import { atSnapshot, type AdapterSnapshot } from "./adapter-snapshots.ts";

export interface TrainingExample {
  contributionId: bigint;
  tokens: Int32Array;
}

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

/** The model must have the snapshots' adapter attached; it is left at its current parameters. */
export function tracinGradients(
  model: LlamaModel, snapshots: readonly AdapterSnapshot[], examples: readonly TrainingExample[], outputs: readonly GeneratedOutput[],
  sequenceLength: number, projection: GradientProjection,
): TracInGradients {
  const adapter = model.getAdapter();
  if (!adapter) throw new BenchmarkInputError("TracIn gradients need the trained adapter attached to the model.");
  if (snapshots.length === 0) throw new BenchmarkInputError("TracIn needs at least one checkpoint.");
  const started = performance.now();
  const exampleTokens = examples.map((e) => e.tokens);
  const perOutput: OutputGradientCheckpoint[][] = outputs.map(() => []);
  const checkpoints = snapshots.map((snapshot) => atSnapshot(adapter, snapshot, () => {
    const rows = projectedExampleGradients(model, exampleTokens, sequenceLength, projection);
    const exampleGradients = new Float32Array(rows.length * projection.dimensions);
    rows.forEach((row, e) => exampleGradients.set(row, e * projection.dimensions));
    outputs.forEach(({ prompt, output }, o) => {
      const sequence = new Int32Array(prompt.length + output.length);
      sequence.set(prompt);
      sequence.set(output, prompt.length);
      const gradient = projectedOutputGradient(model, sequence, prompt.length, sequenceLength, projection);
      perOutput[o].push({ learningRate: snapshot.learningRate, gradient });
    });
    return { learningRate: snapshot.learningRate, exampleGradients };
  }));
  const sketch: GradientSketch = { dims: projection.dimensions, exampleContributionIds: examples.map((e) => e.contributionId), checkpoints };
  return { sketch, outputs: perOutput, seconds: (performance.now() - started) / 1000 };
}
