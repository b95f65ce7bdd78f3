/**
 * Gradient attribution by TracIn-CP (Pruthi et al. 2020) over projected LoRA gradients.
 *
 * At training time the engine stores, for C checkpoints with learning rates lr_i, each training
 * example's LoRA gradient projected to k dimensions (a "gradient sketch"). At inference it computes
 * the output's projected gradient at the same checkpoints. The influence of example e on output o is
 *
 *   TracIn(e, o) = sum_i lr_i * <g_o,i , g_e,i>
 *
 * A contribution's influence is the MEAN over its examples: a contributor is paid for how relevant
 * their data is, not for how many examples they split it into. Only positive influence is kept
 * (a contribution that pushed the output away from what was produced did not help produce it).
 *
 * Cost: O(C * E * k) multiply-adds for E examples (3 checkpoints x 100k examples x 128 dims is
 * ~38M, tens of milliseconds). Dot products accumulate in float64 in a fixed order (checkpoint, then
 * example, then dim), so the result is
 * the same on every machine.
 */
import { InvalidGradientSketchError } from "./errors.ts";

export interface GradientCheckpoint {
  learningRate: number;
  /** E x dims, row-major: row e is example e's projected gradient at this checkpoint. */
  exampleGradients: Float32Array;
}

/** The per-example projected gradients of one trained adapter (an artifact stored with the model). */
export interface GradientSketch {
  /** Projection dimension k. */
  dims: number;
  /** The contribution each example came from (length E). */
  exampleContributionIds: readonly bigint[];
  checkpoints: readonly GradientCheckpoint[];
}

/** The output's projected gradient at each checkpoint of the sketch, in the same order. */
export interface OutputGradientCheckpoint {
  learningRate: number;
  gradient: Float32Array;
}

export function checkGradientSketch(sketch: GradientSketch): void {
  const examples = sketch.exampleContributionIds.length;
  if (!Number.isSafeInteger(sketch.dims) || sketch.dims < 1) {
    throw new InvalidGradientSketchError(`Gradient sketch dims must be a positive integer, got ${sketch.dims}.`, { dims: sketch.dims });
  }
  sketch.checkpoints.forEach((checkpoint, i) => {
    if (!Number.isFinite(checkpoint.learningRate) || checkpoint.learningRate <= 0) {
      throw new InvalidGradientSketchError(`Checkpoint ${i} has learning rate ${checkpoint.learningRate}; it must be a positive number.`, { checkpoint: i });
    }
    if (checkpoint.exampleGradients.length !== examples * sketch.dims) {
      throw new InvalidGradientSketchError(
        `Checkpoint ${i} holds ${checkpoint.exampleGradients.length} floats; ${examples} examples x ${sketch.dims} dims needs ${examples * sketch.dims}.`,
        { checkpoint: i, floats: checkpoint.exampleGradients.length, examples, dims: sketch.dims },
      );
    }
  });
}

/** Positive mean TracIn influence of each contribution on the output; contributions at or below zero are absent. */
export function gradientInfluence(sketch: GradientSketch, output: readonly OutputGradientCheckpoint[]): Map<bigint, number> {
  checkGradientSketch(sketch);
  if (output.length !== sketch.checkpoints.length) {
    throw new InvalidGradientSketchError(`The output has gradients at ${output.length} checkpoints; the sketch has ${sketch.checkpoints.length}.`, {
      output: output.length,
      sketch: sketch.checkpoints.length,
    });
  }
  const { dims } = sketch;
  output.forEach((o, i) => {
    if (o.gradient.length !== dims) {
      throw new InvalidGradientSketchError(`The output gradient at checkpoint ${i} has ${o.gradient.length} dims; the sketch has ${dims}.`, { checkpoint: i });
    }
    if (o.learningRate !== sketch.checkpoints[i].learningRate) {
      throw new InvalidGradientSketchError(`Checkpoint ${i}: the output's learning rate ${o.learningRate} differs from the sketch's ${sketch.checkpoints[i].learningRate}.`, {
        checkpoint: i,
      });
    }
  });

  // Dense index per contribution, so the inner loop adds into typed arrays instead of a Map.
  const slot = new Map<bigint, number>();
  const exampleSlot = sketch.exampleContributionIds.map((id) => {
    if (!slot.has(id)) slot.set(id, slot.size);
    return slot.get(id)!;
  });
  const totals = new Float64Array(slot.size);
  const examples = new Uint32Array(slot.size);
  for (const s of exampleSlot) examples[s]++;

  for (let i = 0; i < sketch.checkpoints.length; i++) {
    const { learningRate, exampleGradients: g } = sketch.checkpoints[i];
    const go = output[i].gradient;
    for (let e = 0; e < exampleSlot.length; e++) {
      let dot = 0;
      for (let j = 0, at = e * dims; j < dims; j++, at++) dot += go[j] * g[at];
      totals[exampleSlot[e]] += learningRate * dot;
    }
  }

  const influence = new Map<bigint, number>();
  for (const [id, s] of slot) {
    const mean = totals[s] / examples[s];
    if (mean > 0) influence.set(id, mean);
  }
  return influence;
}
