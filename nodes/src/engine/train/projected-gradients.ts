import type { LlamaModel } from "../model/llama.ts";
import { ModelInputError } from "../model/errors.ts";
import { LORA_TARGETS } from "../model/config.ts";
import { loraKey, loraTargetDims } from "../lora/adapter.ts";
import { IGNORE_INDEX } from "../ops/cross-entropy.ts";
import { makeBatch, windowSequences } from "./data.ts";
import { TrainingConfigError } from "./errors.ts";
import { projectGradientKronecker, type GradientBlock } from "./kronecker-projection.ts";

/**
 * Per-example LoRA gradients, randomly projected, for TracIn-CP attribution (Pruthi et al. 2020,
 * "Estimating Training Data Influence by Tracing Gradient Descent").
 *
 * Method. TracIn-CP scores the influence of training example z on a test output z' as
 *     influence(z, z') = Σ_c  η_c · ⟨∇_θ ℓ(z; θ_c), ∇_θ ℓ(z'; θ_c)⟩
 * over saved checkpoints c with learning rate η_c. Here θ is ONLY the LoRA factors (the base is
 * frozen, and the adapter is what the Datanet taught the model), and ℓ(z) is the example's mean
 * next-token loss. Storing full gradients per example is too big, so each is projected to k
 * dimensions with a random matrix R [k, P] whose entries are ±1/√k (Rademacher): by the
 * Johnson–Lindenstrauss lemma ⟨Rg, Rg'⟩ ≈ ⟨g, g'⟩, with error shrinking like 1/√k. TRAK and
 * LoGra use the same idea.
 *
 * R is never stored: entry (j, i) is a bit of a hash of (seed, i, j div 32), so the node that
 * stored training-time projections and the node that projects an inference's gradient (possibly
 * another machine, much later) only have to agree on the seed, k, and the parameter order:
 * layer by layer, targets in LORA_TARGETS order (q, k, v, o, gate, up, down), lora_A before
 * lora_B, each row-major; index i counts through them all (see adapterGradientTensors).
 *
 * Cost: P·k sign flips per example (a 1M-parameter adapter at k=256: 2.6e8 additions). That is the
 * "dense-rademacher" kind; "kronecker-rademacher" (kronecker-projection.ts) projects each LoRA
 * factor's gradient block with two small sign matrices instead, about P·√k operations, and is what
 * gradient sketches use by default.
 */
export interface GradientProjection {
  /** k, the projected size; a multiple of 32 keeps every hash's bits used. */
  dimensions: number;
  seed: number;
  /** "dense-rademacher" (default, the R above) or "kronecker-rademacher" (see kronecker-projection.ts, ~16× cheaper at k = 256). */
  kind?: GradientProjectionKind;
}

/**
 * Which adapter parameters a gradient covers. `lastLayers` K restricts it to the LoRA factors of the
 * last K layers (L−K … L−1): the backward stops at layer L−K, so an output's gradient costs a
 * forward plus K layers' backward instead of L. The projection of such a gradient is that of the full
 * parameter vector with every earlier layer's entries zero (the same indices and block ids), so a
 * sketch and the outputs scored against it must use the same K. Default: every layer.
 */
export interface GradientLayers {
  lastLayers?: number;
}

/** The first layer a GradientLayers covers (0 for every layer). */
export function firstGradientLayer(numLayers: number, layers: GradientLayers = {}): number {
  const K = layers.lastLayers ?? numLayers;
  if (!Number.isInteger(K) || K < 1 || K > numLayers) {
    throw new ModelInputError(`lastLayers must be an integer in [1, ${numLayers}] (the model's layers), got ${K}.`, { lastLayers: K, numLayers });
  }
  return numLayers - K;
}

export type GradientProjectionKind = "dense-rademacher" | "kronecker-rademacher";
export const GRADIENT_PROJECTION_KINDS: readonly GradientProjectionKind[] = ["dense-rademacher", "kronecker-rademacher"];

export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** 32 signs of R's column i: bit b gives the sign of row 32·word + b. */
export function signBits(seed: number, i: number, word: number): number {
  return mix32(mix32(mix32(seed ^ 0x9e3779b9) ^ i) ^ Math.imul(word + 1, 0x27d4eb2f));
}

/**
 * R·g for g the concatenation of `tensors` (in order), R as above. `firstIndex` is the index of the
 * first tensor's first entry in the whole parameter order (the entries before it are zero).
 */
export function projectGradient(tensors: readonly Float32Array[], projection: GradientProjection, firstIndex = 0): Float32Array {
  const k = projection.dimensions;
  if (!Number.isInteger(k) || k <= 0) throw new TrainingConfigError("projection.dimensions", k, "must be a positive integer");
  const words = Math.ceil(k / 32);
  const acc = new Float64Array(k);
  let i = firstIndex;
  for (const tensor of tensors) {
    for (let e = 0; e < tensor.length; e++, i++) {
      const g = tensor[e];
      if (g === 0) continue;
      for (let w = 0; w < words; w++) {
        const bits = signBits(projection.seed, i, w);
        const end = Math.min(32, k - w * 32);
        for (let b = 0; b < end; b++) acc[w * 32 + b] += (bits >>> b) & 1 ? g : -g;
      }
    }
  }
  const out = new Float32Array(k);
  const scale = 1 / Math.sqrt(k);
  for (let j = 0; j < k; j++) out[j] = acc[j] * scale;
  return out;
}

/**
 * The adapter's gradients in the canonical order the projection indexes: layer by layer, targets
 * in LORA_TARGETS order, lora_A before lora_B. Independent of how the adapter's Map was filled
 * (created here or read from a PEFT file whose target list is in another order).
 */
export function adapterGradientTensors(model: LlamaModel, layers: GradientLayers = {}): Float32Array[] {
  const grads = model.getAdapterGradients();
  if (!grads) throw new ModelInputError("Projected LoRA gradients need an adapter attached to the model.");
  const tensors: Float32Array[] = [];
  for (let layer = firstGradientLayer(model.config.numLayers, layers); layer < model.config.numLayers; layer++) {
    for (const target of LORA_TARGETS) {
      const factors = grads.get(loraKey(layer, target));
      if (factors) tensors.push(factors.A, factors.B);
    }
  }
  return tensors;
}

/**
 * The adapter's gradient as [rows, cols] blocks in the canonical order (see adapterGradientTensors),
 * each with a stable id from its (layer, target, factor): what a structured projection needs.
 */
export function adapterGradientBlocks(model: LlamaModel, layers: GradientLayers = {}): GradientBlock[] {
  const grads = model.getAdapterGradients();
  const adapter = model.getAdapter();
  if (!grads || !adapter) throw new ModelInputError("Projected LoRA gradients need an adapter attached to the model.");
  const r = adapter.config.rank;
  const blocks: GradientBlock[] = [];
  for (let layer = firstGradientLayer(model.config.numLayers, layers); layer < model.config.numLayers; layer++) {
    LORA_TARGETS.forEach((target, t) => {
      const factors = grads.get(loraKey(layer, target));
      if (!factors) return;
      const { IN, OUT } = loraTargetDims(model.config, target);
      const id = (layer * LORA_TARGETS.length + t) * 2;
      blocks.push({ id, rows: r, cols: IN, data: factors.A }, { id: id + 1, rows: OUT, cols: r, data: factors.B });
    });
  }
  return blocks;
}

/** The projection of the adapter's current gradient buffers (of the layers `layers` covers), by the projection's kind. */
export function projectAdapterGradient(model: LlamaModel, projection: GradientProjection, layers: GradientLayers = {}): Float32Array {
  const kind = projection.kind ?? "dense-rademacher";
  if (kind === "kronecker-rademacher") return projectGradientKronecker(adapterGradientBlocks(model, layers), projection);
  if (kind === "dense-rademacher") {
    // Indices continue the whole adapter's order: the skipped layers' (zero) entries come first.
    const all = adapterGradientTensors(model);
    const kept = adapterGradientTensors(model, layers);
    const firstIndex = all.slice(0, all.length - kept.length).reduce((n, t) => n + t.length, 0);
    return projectGradient(kept, projection, firstIndex);
  }
  throw new TrainingConfigError("projection.kind", kind, `must be one of ${GRADIENT_PROJECTION_KINDS.join(", ")}`);
}

/**
 * Gradient of the mean loss over the scored targets of `windows`, left in the adapter's gradient
 * buffers. Each window runs alone (B = 1) padded to T; its backward is weighted by its share of
 * the scored tokens so the sum is the gradient of the token-weighted mean.
 */
export function adapterGradientOf(
  model: LlamaModel, batches: { tokens: Int32Array; targets: Int32Array; count: number }[], T: number, layers: GradientLayers,
): void {
  const total = batches.reduce((s, b) => s + b.count, 0);
  if (total === 0) throw new ModelInputError("The sequence has no token to score.");
  model.zeroGradients();
  for (const batch of batches) {
    if (batch.count === 0) continue;
    model.forward(batch.tokens, 1, T, batch.targets, layers);
    model.backward(batch.count / total);
  }
}

/**
 * Token positions of a sequence left out of a gradient's loss: `mask[i] = 1` means token i is not scored as a
 * target (it still conditions what follows). Gradient sketches built with shared text use it
 * (attribution/shared-text.ts); undefined scores every token.
 */
export type UnscoredTokens = Uint8Array | undefined;

/**
 * The windows of `sequence` (windowSequences) as one-row batches, their targets before `firstScored` (a sequence
 * index) and at the positions `unscored` marks not scored; `count` is what is left.
 */
export function scoredWindowBatches(
  sequence: Int32Array, T: number, unscored: UnscoredTokens = undefined, firstScored = 0,
): { tokens: Int32Array; targets: Int32Array; count: number }[] {
  if (unscored !== undefined && unscored.length !== sequence.length) {
    throw new ModelInputError(`The unscored-token mask has ${unscored.length} entries for a sequence of ${sequence.length} tokens.`, { mask: unscored.length, tokens: sequence.length });
  }
  // windowSequences cuts window k at token k·T.
  return windowSequences([sequence], T).map((window, k) => {
    const start = k * T;
    const batch = makeBatch([window], 1, T);
    let count = 0;
    for (let t = 0; t < T; t++) {
      if (batch.targets[t] === IGNORE_INDEX) continue;
      // Target t of this window is token start + t + 1 of the sequence.
      if (start + t + 1 < firstScored || unscored?.[start + t + 1] === 1) batch.targets[t] = IGNORE_INDEX;
      else count++;
    }
    return { ...batch, count };
  });
}

/**
 * For each training example (a token sequence; longer ones are cut into T+1 windows), the
 * projected gradient of its mean next-token loss w.r.t. the attached adapter's LoRA factors, at the
 * model's current parameters (call it at each TracIn checkpoint); with `layers.lastLayers` K, w.r.t.
 * the factors of the last K layers only (see GradientLayers). `unscored[e]` leaves tokens of example e
 * out of its loss; an example with nothing left to score gets a zero row. Uses and zeroes the model's
 * gradient buffers: call it between optimizer steps, not inside one.
 */
export function projectedExampleGradients(
  model: LlamaModel, examples: readonly Int32Array[], sequenceLength: number, projection: GradientProjection, layers: GradientLayers = {},
  unscored: readonly UnscoredTokens[] = [],
): Float32Array[] {
  return examples.map((example, e) => {
    const batches = scoredWindowBatches(example, sequenceLength, unscored[e]);
    if (unscored[e] !== undefined && batches.every((b) => b.count === 0)) return new Float32Array(projection.dimensions);
    adapterGradientOf(model, batches, sequenceLength, layers);
    return projectAdapterGradient(model, projection, layers);
  });
}

/**
 * The projected gradient of an inference's output: `tokens` is prompt + generated output, and only
 * the output tokens (from index promptLength on) are scored, as they are what attribution explains;
 * of those, the ones `unscored` marks (indices into `tokens`) are not. Nothing left to score: a zero
 * gradient. The sequence is cut into windows of sequenceLength + 1 tokens (as training examples are)
 * aligned to its end: an output that fits is one window whose prompt is cut from the left; a longer
 * one takes as many windows as it needs, the first reaching back into the prompt, and its gradient is
 * that of the mean loss over all its scored tokens. `layers` restricts the gradient to the last K
 * layers' factors (see GradientLayers).
 */
export function projectedOutputGradient(
  model: LlamaModel, tokens: Int32Array, promptLength: number, sequenceLength: number, projection: GradientProjection,
  layers: GradientLayers = {}, unscored: UnscoredTokens = undefined,
): Float32Array {
  if (!(promptLength >= 1 && promptLength < tokens.length)) {
    throw new ModelInputError(`promptLength must be in [1, ${tokens.length - 1}] so at least one output token is scored, got ${promptLength}.`, { promptLength, tokens: tokens.length });
  }
  if (unscored !== undefined && unscored.length !== tokens.length) {
    throw new ModelInputError(`The unscored-token mask has ${unscored.length} entries for ${tokens.length} tokens.`, { mask: unscored.length, tokens: tokens.length });
  }
  const T = sequenceLength;
  if (!Number.isInteger(T) || T < 1) throw new ModelInputError(`sequenceLength must be a positive integer, got ${T}.`, { sequenceLength: T });
  // Window starts from the end back, T apart, until a window predicts the first output token (target promptLength).
  const starts: number[] = [];
  for (let start = tokens.length - 1 - T; ; start -= T) {
    starts.unshift(start);
    if (start <= promptLength - 1) break;
  }
  const batches = starts.map((start) => {
    // A window starting before the sequence is cut at 0, so no target is scored twice.
    const from = Math.max(0, start);
    const [batch] = scoredWindowBatches(tokens.subarray(from, start + T + 1), T, unscored?.subarray(from, start + T + 1), promptLength - from);
    return batch;
  });
  if (batches.every((b) => b.count === 0)) return new Float32Array(projection.dimensions);
  adapterGradientOf(model, batches, T, layers);
  return projectAdapterGradient(model, projection, layers);
}
