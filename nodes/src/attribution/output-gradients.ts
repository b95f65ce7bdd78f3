/**
 * An output's projected gradient at each TracIn checkpoint of a sketch (TracIn-CP's test side):
 * what the serving node puts in the attribution record and what a verifier recomputes. Run on a
 * reproducible backend (the reference backend, or the wasm backend without fused multiply-add),
 * the result is the same bit for bit on every machine, so a forged gradient cannot hide.
 */
import type { LlamaModel } from "../engine/model/llama.ts";
import { projectedOutputGradient, type GradientLayers } from "../engine/train/projected-gradients.ts";
import type { TracInCheckpoint } from "../engine/train/tracin-checkpoint.ts";
import { InvalidGradientSketchError } from "./errors.ts";
import { SharedTextMask } from "./shared-text.ts";
import type { GradientSketchProvenance, OutputGradientCheckpoint } from "./gradient-influence.ts";

/**
 * How the checkpoints given differ from the ones the provenance names (count, then each one's digest, step and
 * learning rate, in order), a sentence each; empty when they are the same.
 */
export function checkpointMismatches(provenance: GradientSketchProvenance, checkpoints: readonly TracInCheckpoint[]): string[] {
  const problems: string[] = [];
  if (checkpoints.length !== provenance.checkpoints.length) {
    problems.push(`${checkpoints.length} checkpoints given; the sketch was built at ${provenance.checkpoints.length}`);
  }
  checkpoints.forEach((c, i) => {
    const named = provenance.checkpoints[i];
    if (!named || c.digest !== named.digest || c.step !== named.step || c.learningRate !== named.learningRate) {
      problems.push(`Checkpoint ${i} (step ${c.step}, ${c.digest}) is not the sketch's${named ? ` (step ${named.step}, ${named.digest})` : ""}`);
    }
  });
  return problems;
}

/**
 * `prompt` conditions the output and is not scored; `output` is scored. The checkpoints must be the
 * ones the provenance names, in its order (checked by digest, step and learning rate). The gradients
 * cover the parameters the provenance names (its `lastLayers`, or every layer), exactly as the sketch's
 * rows do, and leave out the shared text it names (its `sharedText`); `layers`, when given, must say the same (a caller's expectation, checked, never an override).
 */
export function outputGradients(
  model: LlamaModel, provenance: GradientSketchProvenance, checkpoints: readonly TracInCheckpoint[],
  prompt: ArrayLike<number>, output: ArrayLike<number>, layers: GradientLayers = {},
): OutputGradientCheckpoint[] {
  const [mismatch] = checkpointMismatches(provenance, checkpoints);
  if (mismatch !== undefined) throw new InvalidGradientSketchError(`${mismatch}.`, {});
  const named = provenance.lastLayers;
  if (layers.lastLayers !== undefined && layers.lastLayers !== named) {
    throw new InvalidGradientSketchError(`lastLayers ${layers.lastLayers} asked for; the sketch was built over ${named === undefined ? "every layer" : `the last ${named} layers`}.`, { lastLayers: layers.lastLayers });
  }
  const covered: GradientLayers = named !== undefined ? { lastLayers: named } : {};
  if (prompt.length < 1) throw new InvalidGradientSketchError("An output gradient needs at least one prompt token to condition the first output token on.", {});
  const sequence = new Int32Array(prompt.length + output.length);
  for (let i = 0; i < prompt.length; i++) sequence[i] = prompt[i];
  for (let i = 0; i < output.length; i++) sequence[prompt.length + i] = output[i];
  // Shared text of the Datanet (prompt included: an n-gram may straddle it) is not scored, as in the sketch's rows.
  const unscored = provenance.sharedText !== undefined ? new SharedTextMask(provenance.sharedText).unscored(sequence) : undefined;
  const projection = { kind: provenance.projection.kind, seed: provenance.projection.seed, dimensions: provenance.projection.dims };
  const previous = model.getAdapter();
  try {
    return checkpoints.map((checkpoint) => {
      model.setAdapter(checkpoint.adapter);
      return { learningRate: checkpoint.learningRate, gradient: projectedOutputGradient(model, sequence, prompt.length, provenance.sequenceLength, projection, covered, unscored) };
    });
  } finally {
    model.setAdapter(previous);
  }
}
