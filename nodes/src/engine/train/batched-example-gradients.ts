/**
 * Per-example projected LoRA gradients from batched forward/backward passes: what makes a gradient
 * sketch cost about what training costs, instead of one B = 1 pass per example.
 *
 * A batch's backward sums every window's gradient into each LoRA factor with one matmul,
 *     dB += doutᵀ · hidden   and   dA += dhiddenᵀ · inp      (the sum runs over the N = B·T rows),
 * and the rows of window j are rows j·T … (j+1)·T − 1. Restricting that sum to one window's rows
 * gives that window's gradient (attention never mixes batch rows, padding rows carry no gradient).
 * So the model runs on a backend wrapper that recognises those two matmuls by their output buffer
 * (the adapter's gradient buffers) and, instead of summing, forms each window's [r, IN] / [OUT, r]
 * gradient block and adds its Kronecker projection (kronecker-projection.ts) into the window's
 * example's accumulator, weighted so each example gets the gradient of its own mean loss. No hook
 * in the model is needed; every other matmul passes straight through.
 */
import type { Backend, BackendMemoryStats, HalfMatrix, LoraSegment, MatmulOptions, WeightMatrix } from "../backend/backend.ts";
import { LlamaModel } from "../model/llama.ts";
import { ModelInputError } from "../model/errors.ts";
import { LORA_TARGETS } from "../model/config.ts";
import { loraKey, loraTargetDims } from "../lora/adapter.ts";
import { IGNORE_INDEX } from "../ops/cross-entropy.ts";
import { TrainingConfigError } from "./errors.ts";
import { firstGradientLayer, scoredWindowBatches, type GradientLayers, type UnscoredTokens } from "./projected-gradients.ts";
import { accumulateKronecker, finishKronecker, type GradientBlock, type KroneckerProjectionSpec } from "./kronecker-projection.ts";

interface BlockShape {
  id: number;
  rows: number;
  cols: number;
}

/** The window in each batch slot: its example's accumulator and the weight its gradient gets. */
interface SlotTarget {
  accumulator: Float64Array;
  weight: number;
}

class GradientSplittingBackend implements Backend {
  readonly name: string;
  /** Adapter gradient buffer -> its block; filled once the model has allocated them. */
  blocks = new Map<Float32Array, BlockShape>();
  slots: SlotTarget[] = [];
  rowsPerSlot = 0;
  spec: KroneckerProjectionSpec = { dimensions: 1, seed: 0 };
  private readonly scratch = new Map<number, Float32Array>();
  private readonly inner: Backend;

  constructor(inner: Backend) {
    this.inner = inner;
    this.name = `${inner.name} (per-example LoRA gradients)`;
  }

  alloc(n: number): Float32Array {
    return this.inner.alloc(n);
  }

  free(buffer: Float32Array | HalfMatrix): void {
    this.inner.free(buffer);
  }

  memoryStats(): BackendMemoryStats {
    return this.inner.memoryStats();
  }

  allocHalf(n: number, dtype: HalfMatrix["dtype"]): HalfMatrix {
    return this.inner.allocHalf(n, dtype);
  }

  sgmvShrink(u: Float32Array, x: Float32Array, segments: readonly LoraSegment[], IN: number, uStride: number): void {
    this.inner.sgmvShrink(u, x, segments, IN, uStride);
  }

  sgmvExpand(out: Float32Array, u: Float32Array, segments: readonly LoraSegment[], OUT: number, uStride: number): void {
    this.inner.sgmvExpand(out, u, segments, OUT, uStride);
  }

  matmul(out: Float32Array, a: Float32Array, b: WeightMatrix, M: number, K: number, N: number, options: MatmulOptions = {}): void {
    const block = this.blocks.get(out);
    if (!block) return this.inner.matmul(out, a, b, M, K, N, options);
    // The LoRA gradient matmuls multiply two float32 activations, never a half-precision weight.
    if (!(b instanceof Float32Array)) throw new ModelInputError("A LoRA gradient matmul received a half-precision operand.", { M, K, N });
    // out [M, N] += aᵀ[M, K] · b[K, N] with K the batch rows (lora-linear.ts's dB and dA).
    if (!options.transA || options.transB || !options.accumulate || K !== this.slots.length * this.rowsPerSlot) {
      throw new ModelInputError("The LoRA backward no longer has the shape per-example gradients rely on (doutᵀ·hidden, dhiddenᵀ·inp).", { M, K, N });
    }
    const size = M * N;
    let scratch = this.scratch.get(size);
    if (!scratch) {
      scratch = this.inner.alloc(size);
      this.scratch.set(size, scratch);
    }
    const T = this.rowsPerSlot;
    this.slots.forEach((slot, j) => {
      if (slot.weight === 0) return; // a padding row
      this.inner.matmul(scratch, a.subarray(j * T * M, (j + 1) * T * M), b.subarray(j * T * N, (j + 1) * T * N), M, T, N, { transA: true });
      accumulateKronecker(slot.accumulator, { ...block, data: scratch } satisfies GradientBlock, this.spec, slot.weight);
    });
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}

const splitters = new WeakMap<LlamaModel, { model: LlamaModel; backend: GradientSplittingBackend }>();

/** A second model over the same weights and adapter, running on the splitting backend (kept per model). */
function splittingModel(model: LlamaModel, layers: GradientLayers): { model: LlamaModel; backend: GradientSplittingBackend } {
  const adapter = model.getAdapter();
  if (!adapter) throw new ModelInputError("Projected LoRA gradients need an adapter attached to the model.");
  let entry = splitters.get(model);
  if (!entry) {
    const backend = new GradientSplittingBackend(model.backend);
    entry = { model: new LlamaModel(model.config, model.weights, backend), backend };
    splitters.set(model, entry);
  }
  if (entry.model.getAdapter() !== adapter) entry.model.setAdapter(adapter);
  const grads = entry.model.getAdapterGradients()!;
  entry.backend.blocks = new Map();
  // Only the covered layers' blocks: the backward does not reach the others.
  for (let layer = firstGradientLayer(model.config.numLayers, layers); layer < model.config.numLayers; layer++) {
    LORA_TARGETS.forEach((target, t) => {
      const factors = grads.get(loraKey(layer, target));
      if (!factors) return;
      const { IN, OUT } = loraTargetDims(model.config, target);
      const id = (layer * LORA_TARGETS.length + t) * 2;
      entry.backend.blocks.set(factors.A, { id, rows: adapter.config.rank, cols: IN });
      entry.backend.blocks.set(factors.B, { id: id + 1, rows: OUT, cols: adapter.config.rank });
    });
  }
  return entry;
}

/**
 * For each example, the Kronecker projection of the gradient of its mean next-token loss w.r.t. the
 * attached adapter's factors: the same quantity as projectedExampleGradients with kind
 * "kronecker-rademacher" (equal up to float rounding), computed `batchSize` windows at a time.
 * `layers` restricts it to the last K layers' factors, and `unscored[e]` leaves tokens of example e out
 * of its loss (a zero row when nothing is left), as for projectedExampleGradients.
 */
export function batchedProjectedExampleGradients(
  model: LlamaModel, examples: readonly Int32Array[], sequenceLength: number, projection: KroneckerProjectionSpec, batchSize: number,
  layers: GradientLayers = {}, unscored: readonly UnscoredTokens[] = [],
): Float32Array[] {
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new TrainingConfigError("batchSize", batchSize, "must be a positive integer");
  const T = sequenceLength;
  const { model: splitting, backend } = splittingModel(model, layers);
  const accumulators = examples.map(() => new Float64Array(projection.dimensions));
  const windows: { example: number; tokens: Int32Array; targets: Int32Array; count: number }[] = [];
  const scored = new Float64Array(examples.length);
  examples.forEach((example, e) => {
    const batches = scoredWindowBatches(example, T, unscored[e]);
    for (const batch of batches) scored[e] += batch.count;
    if (scored[e] === 0) {
      if (unscored[e] !== undefined) return; // nothing left to score (all of it shared): a zero row, as projectedExampleGradients gives
      throw new ModelInputError(`Example ${e} has no token to score (it needs at least 2 tokens).`, { example: e });
    }
    for (const batch of batches) if (batch.count > 0) windows.push({ example: e, ...batch });
  });
  backend.spec = projection;
  const padding: SlotTarget = { accumulator: new Float64Array(projection.dimensions), weight: 0 };
  // Always batchSize rows (the last batch padded): the model keeps one set of activation buffers
  // instead of allocating new ones for every batch size it meets.
  const tokens = new Int32Array(batchSize * T);
  const targets = new Int32Array(batchSize * T);
  for (let start = 0; start < windows.length; start += batchSize) {
    const chunk = windows.slice(start, start + batchSize);
    tokens.fill(0);
    targets.fill(IGNORE_INDEX);
    let count = 0;
    chunk.forEach((w, j) => {
      tokens.set(w.tokens, j * T);
      targets.set(w.targets, j * T);
      count += w.count;
    });
    // backward(1) scales every token's gradient by 1 / the batch's count; an example's mean loss wants 1 / its own count.
    backend.slots = Array.from({ length: batchSize }, (_, j) => (j < chunk.length ? { accumulator: accumulators[chunk[j].example], weight: count / scored[chunk[j].example] } : padding));
    backend.rowsPerSlot = T;
    splitting.forward(tokens, batchSize, T, targets, layers);
    splitting.backward(1);
  }
  backend.slots = [];
  return accumulators.map(finishKronecker);
}
