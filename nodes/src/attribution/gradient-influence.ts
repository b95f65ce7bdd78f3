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
import { checkSharedTextProvenance, type SharedTextProvenance } from "./shared-text.ts";

export interface GradientCheckpoint {
  learningRate: number;
  /** E x dims, row-major: row e is example e's projected gradient at this checkpoint. */
  exampleGradients: Float32Array;
}

/**
 * Everything the sketch's gradients were computed from, named so a verifier can fetch it and
 * recompute an output's gradient the same way: the projection, the window length, the base model's
 * weights and each TracIn checkpoint file, by sha2-256 digest (0x-hex).
 */
export interface GradientSketchProvenance {
  projection: { kind: "dense-rademacher" | "kronecker-rademacher"; seed: number; dims: number };
  /**
   * K: the gradients are over the LoRA factors of the model's last K layers only (gradient-layers.ts); absent: every
   * layer. Output gradients must be taken over the same parameters, so outputGradients reads it from here.
   */
  lastLayers?: number;
  /** How an output's gradient is compared with an example's (GRADIENT_SIMILARITIES); absent: "dot". */
  similarity?: GradientSimilarity;
  /**
   * Text that contributions of several accounts share, left out of every gradient's loss (shared-text.ts); absent:
   * every token is scored. Output gradients leave out the same text, so outputGradients reads it from here.
   */
  sharedText?: SharedTextProvenance;
  /** T: training examples (and outputs) are cut into windows of T + 1 tokens. */
  sequenceLength: number;
  /** sha2-256 of the base model's weights file (model.safetensors). */
  baseModel: `0x${string}`;
  /** Same order and learning rates as the sketch's checkpoints. */
  checkpoints: { step: number; learningRate: number; digest: `0x${string}` }[];
}

/**
 * "dot": TracIn's raw inner product, Σ_i lr_i · ⟨g_o,i, g_e,i⟩. "cosine": each gradient unit-normalized per
 * checkpoint first, Σ_i lr_i · cos(g_o,i, g_e,i) (as TRAK's and LESS's normalized variants): an example's
 * gradient norm (short or high-loss examples have large ones) no longer decides its rank.
 */
export type GradientSimilarity = "dot" | "cosine";
export const GRADIENT_SIMILARITIES: readonly GradientSimilarity[] = ["dot", "cosine"];

/** The per-example projected gradients of one trained adapter (an artifact stored with the model). */
export interface GradientSketch {
  /** Projection dimension k. */
  dims: number;
  /** The contribution each example came from (length E). */
  exampleContributionIds: readonly bigint[];
  checkpoints: readonly GradientCheckpoint[];
  /** Present in every sketch built by buildGradientSketch; a sketch without it cannot back a verifiable record. */
  provenance?: GradientSketchProvenance;
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
  const provenance = sketch.provenance;
  if (provenance) {
    if (provenance.projection.dims !== sketch.dims) {
      throw new InvalidGradientSketchError(`The sketch's provenance names projection dims ${provenance.projection.dims}; its gradients have ${sketch.dims}.`, { dims: sketch.dims });
    }
    if (provenance.checkpoints.length !== sketch.checkpoints.length) {
      throw new InvalidGradientSketchError(`The sketch's provenance names ${provenance.checkpoints.length} checkpoints; it holds ${sketch.checkpoints.length}.`, {});
    }
    if (provenance.lastLayers !== undefined && !(Number.isSafeInteger(provenance.lastLayers) && provenance.lastLayers >= 1)) {
      throw new InvalidGradientSketchError(`The sketch's provenance names lastLayers ${provenance.lastLayers}; it must be a positive integer.`, {});
    }
    if (provenance.similarity !== undefined && !GRADIENT_SIMILARITIES.includes(provenance.similarity)) {
      throw new InvalidGradientSketchError(`The sketch's provenance names similarity ${String(provenance.similarity)}; it must be one of ${GRADIENT_SIMILARITIES.join(", ")}.`, {});
    }
    if (provenance.sharedText !== undefined) checkSharedTextProvenance(provenance.sharedText);
    provenance.checkpoints.forEach((c, i) => {
      if (c.learningRate !== sketch.checkpoints[i].learningRate) {
        throw new InvalidGradientSketchError(`Checkpoint ${i}: provenance learning rate ${c.learningRate} differs from the sketch's ${sketch.checkpoints[i].learningRate}.`, { checkpoint: i });
      }
      if (!/^0x[0-9a-f]{64}$/.test(c.digest)) throw new InvalidGradientSketchError(`Checkpoint ${i}: digest ${c.digest} is not 32 bytes of lower-case hex.`, { checkpoint: i });
    });
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

/**
 * Positive mean TracIn influence of each contribution on the output; contributions at or below zero are absent.
 * The similarity is the sketch's (its provenance; "dot" without one); `similarity` overrides it for experiments.
 */
export function gradientInfluence(sketch: GradientSketch, output: readonly OutputGradientCheckpoint[], similarity?: GradientSimilarity): Map<bigint, number> {
  checkGradientSketch(sketch);
  const cosine = (similarity ?? sketch.provenance?.similarity ?? "dot") === "cosine";
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
    const outputNorm = cosine ? norm(go, 0, dims) : 1;
    for (let e = 0; e < exampleSlot.length; e++) {
      let dot = 0;
      for (let j = 0, at = e * dims; j < dims; j++, at++) dot += go[j] * g[at];
      if (cosine) {
        // A zero gradient (the output or example has nothing to say at this checkpoint) contributes nothing.
        const scale = outputNorm * norm(g, e * dims, dims);
        dot = scale > 0 ? dot / scale : 0;
      }
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

/** Euclidean norm of v[from … from + length), accumulated in float64 in index order. */
function norm(v: Float32Array, from: number, length: number): number {
  let sum = 0;
  for (let j = from; j < from + length; j++) sum += v[j] * v[j];
  return Math.sqrt(sum);
}
