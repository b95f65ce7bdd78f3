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
import type { GradientSketchProvenance, OutputGradientCheckpoint } from "./gradient-influence.ts";

/**
 * `prompt` conditions the output and is not scored; `output` is scored. The checkpoints must be the
 * ones the provenance names, in its order (checked by digest, step and learning rate). `layers`
 * restricts the gradients to the last K layers' LoRA factors; it must be what the sketch was built with.
 */
export function outputGradients(
  model: LlamaModel, provenance: GradientSketchProvenance, checkpoints: readonly TracInCheckpoint[],
  prompt: ArrayLike<number>, output: ArrayLike<number>, layers: GradientLayers = {},
): OutputGradientCheckpoint[] {
  if (checkpoints.length !== provenance.checkpoints.length) {
    throw new InvalidGradientSketchError(`${checkpoints.length} checkpoints given; the sketch was built at ${provenance.checkpoints.length}.`, {});
  }
  checkpoints.forEach((c, i) => {
    const named = provenance.checkpoints[i];
    if (c.digest !== named.digest || c.step !== named.step || c.learningRate !== named.learningRate) {
      throw new InvalidGradientSketchError(`Checkpoint ${i} (step ${c.step}, ${c.digest}) is not the sketch's (step ${named.step}, ${named.digest}).`, { checkpoint: i });
    }
  });
  if (prompt.length < 1) throw new InvalidGradientSketchError("An output gradient needs at least one prompt token to condition the first output token on.", {});
  const sequence = new Int32Array(prompt.length + output.length);
  for (let i = 0; i < prompt.length; i++) sequence[i] = prompt[i];
  for (let i = 0; i < output.length; i++) sequence[prompt.length + i] = output[i];
  const projection = { kind: provenance.projection.kind, seed: provenance.projection.seed, dimensions: provenance.projection.dims };
  const previous = model.getAdapter();
  try {
    return checkpoints.map((checkpoint) => {
      model.setAdapter(checkpoint.adapter);
      return { learningRate: checkpoint.learningRate, gradient: projectedOutputGradient(model, sequence, prompt.length, provenance.sequenceLength, projection, layers) };
    });
  } finally {
    model.setAdapter(previous);
  }
}
