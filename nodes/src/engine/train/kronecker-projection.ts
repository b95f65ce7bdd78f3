/**
 * A structured random projection of LoRA gradients (LoGra's idea, Choe et al. 2024, "What is Your
 * Data Worth to GPT?"): instead of one dense k × P sign matrix over every parameter, each gradient
 * block G [m, n] (one LoRA factor: A is [r, IN], B is [OUT, r]) is projected by a Kronecker product
 * of two small sign matrices,
 *
 *     Y_b = L_b · G_b · R_bᵀ        L_b [k1, m], R_b [k2, n], entries ±1, k1 · k2 = k
 *     projection(g) = (1/√k) · Σ_b vec(Y_b)
 *
 * Each (L_b ⊗ R_b)/√k is an unbiased Johnson–Lindenstrauss map of block b (E[MᵀM] = I), the blocks'
 * matrices are independent, so the sum is one of the whole gradient: ⟨proj g, proj g'⟩ ≈ ⟨g, g'⟩.
 * LoGra applies the two factors to a layer's input activations and output gradients before they
 * are multiplied; here the per-example LoRA gradient is already formed by the backward (it is small:
 * rank r), so the factors are applied to it directly, always shrinking the larger side first.
 *
 * Cost per block: m·n·min(k1, k2) + k1·k2·min(m, n) multiply-adds instead of the dense m·n·k sign
 * flips, so about P·√k in all: 16× less at k = 256, and no hashing in the inner loop (the sign
 * matrices are generated once per shape and kept).
 *
 * Entry (a, i) of L_b is bit (a mod 32) of hash(seed, block id, side, i, a div 32), so any machine
 * rebuilds the same matrices from (seed, k, the adapter's shapes). Accumulation is float64 in a fixed
 * order (block, then row, then column): the result is the same on every machine.
 */
import { TrainingConfigError } from "./errors.ts";

/** One gradient tensor as a row-major [rows, cols] matrix, with an id that fixes its random matrices. */
export interface GradientBlock {
  id: number;
  rows: number;
  cols: number;
  data: Float32Array;
}

export interface KroneckerProjectionSpec {
  dimensions: number;
  seed: number;
}

function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** k = k1 · k2 with k1 the largest divisor of k not above √k (16 × 16 at k = 256, 8 × 16 at 128). */
export function kroneckerFactors(k: number): [number, number] {
  if (!Number.isSafeInteger(k) || k <= 0) throw new TrainingConfigError("projection.dimensions", k, "must be a positive integer");
  let k1 = Math.floor(Math.sqrt(k));
  while (k % k1 !== 0) k1--;
  return [k1, k / k1];
}

/** [size, length] matrix of ±1: row a, column i. side 0 is L (left), 1 is R (right). */
function signMatrix(seed: number, block: number, side: number, size: number, length: number): Float32Array {
  const out = new Float32Array(size * length);
  const base = mix32(mix32(mix32(seed ^ 0x7f4a7c15) ^ block) ^ Math.imul(side + 1, 0x9e3779b1));
  const words = Math.ceil(size / 32);
  for (let i = 0; i < length; i++) {
    const column = mix32(base ^ Math.imul(i + 1, 0x27d4eb2f));
    for (let w = 0; w < words; w++) {
      const bits = mix32(column ^ Math.imul(w + 1, 0x165667b1));
      const end = Math.min(32, size - 32 * w);
      for (let b = 0; b < end; b++) out[(32 * w + b) * length + i] = (bits >>> b) & 1 ? 1 : -1;
    }
  }
  return out;
}

/** Sign matrices by (seed, k, block id, shape): built once, reused for every example and checkpoint. */
const cache = new Map<string, { left: Float32Array; right: Float32Array }>();
const MAX_CACHED_BLOCKS = 8192;

function blockMatrices(spec: KroneckerProjectionSpec, k1: number, k2: number, block: GradientBlock): { left: Float32Array; right: Float32Array } {
  const key = `${spec.seed}:${spec.dimensions}:${block.id}:${block.rows}:${block.cols}`;
  let entry = cache.get(key);
  if (!entry) {
    if (cache.size >= MAX_CACHED_BLOCKS) cache.clear();
    entry = { left: signMatrix(spec.seed, block.id, 0, k1, block.rows), right: signMatrix(spec.seed, block.id, 1, k2, block.cols) };
    cache.set(key, entry);
  }
  return entry;
}

/** (1/√k) Σ_b vec(L_b G_b R_bᵀ) over the blocks, in order; k = spec.dimensions. */
export function projectGradientKronecker(blocks: readonly GradientBlock[], spec: KroneckerProjectionSpec): Float32Array {
  const acc = new Float64Array(spec.dimensions);
  const seen = new Set<number>();
  for (const block of blocks) {
    if (seen.has(block.id)) throw new TrainingConfigError("gradient block", block.id, "appears twice: block ids must be distinct");
    seen.add(block.id);
    accumulateKronecker(acc, block, spec);
  }
  return finishKronecker(acc);
}

/** Scales an accumulator filled by accumulateKronecker into the projection (1/√k · acc, as float32). */
export function finishKronecker(acc: Float64Array): Float32Array {
  const out = new Float32Array(acc.length);
  const scale = 1 / Math.sqrt(acc.length);
  for (let j = 0; j < acc.length; j++) out[j] = acc[j] * scale;
  return out;
}

/** acc [k] += weight · vec(L_b G_b R_bᵀ) for one block (unscaled by 1/√k). */
export function accumulateKronecker(acc: Float64Array, block: GradientBlock, spec: KroneckerProjectionSpec, weight = 1): void {
  const k = spec.dimensions;
  if (acc.length !== k) throw new TrainingConfigError("projection.dimensions", k, `does not match the accumulator's ${acc.length}`);
  const [k1, k2] = kroneckerFactors(k);
  const { rows: m, cols: n, data: g } = block;
  if (g.length !== m * n) throw new TrainingConfigError("gradient block", block.id, `holds ${g.length} values, not ${m}×${n}`);
  const { left, right } = blockMatrices(spec, k1, k2, block);
  if (m <= n) {
    // Z = G Rᵀ [m, k2], then Y = L Z [k1, k2].
    const z = new Float64Array(m * k2);
    for (let i = 0; i < m; i++) {
      for (let b = 0; b < k2; b++) {
        let s = 0;
        for (let j = 0, gi = i * n, rb = b * n; j < n; j++) s += g[gi + j] * right[rb + j];
        z[i * k2 + b] = s * weight;
      }
    }
    for (let a = 0; a < k1; a++) {
      for (let i = 0; i < m; i++) {
        const l = left[a * m + i];
        for (let b = 0; b < k2; b++) acc[a * k2 + b] += l * z[i * k2 + b];
      }
    }
  } else {
    // Z = L G [k1, n], then Y = Z Rᵀ [k1, k2].
    const z = new Float64Array(k1 * n);
    for (let a = 0; a < k1; a++) {
      for (let i = 0; i < m; i++) {
        const l = left[a * m + i];
        for (let j = 0, gi = i * n, za = a * n; j < n; j++) z[za + j] += l * g[gi + j];
      }
    }
    for (let a = 0; a < k1; a++) {
      for (let b = 0; b < k2; b++) {
        let s = 0;
        for (let j = 0, za = a * n, rb = b * n; j < n; j++) s += z[za + j] * right[rb + j];
        acc[a * k2 + b] += s * weight;
      }
    }
  }
}
