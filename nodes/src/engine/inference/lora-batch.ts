import type { Backend, LoraSegment } from "../backend/backend.ts";
import type { LoraTarget } from "../model/config.ts";
import type { LoraAdapter } from "../lora/adapter.ts";

/**
 * A run of consecutive batch rows [rowStart, rowEnd) that all use one adapter. The forward pass
 * orders its rows by adapter, so each adapter present in the batch is one contiguous run.
 */
export interface AdapterRowGroup {
  adapter: LoraAdapter;
  /** alpha / r, folded into the [n, r] intermediate where it costs n·r multiplies, not n·out. */
  scale: number;
  rowStart: number;
  rowEnd: number;
}

/**
 * The LoRA update of a whole mixed batch (Punica's SGMV, S-LoRA's batched LoRA): after the base
 * projection has run once for all rows, every adapter's rows get
 *   out[rows] += ((inp[rows] · Aᵀ) · scale) · Bᵀ       inp [N, IN], out [N, OUT], A [r, IN], B [OUT, r]
 * in two backend calls for the whole batch, whatever the number of adapters: one shrink gathers
 * each segment's A, one expand each segment's B. Rows of sequences without an adapter (or whose
 * adapter does not adapt this projection) are in no segment and keep the base output.
 * `scratch` holds at least N · max(r) floats over the groups.
 */
export function addLoraDeltas(
  backend: Backend, out: Float32Array, inp: Float32Array, groups: readonly AdapterRowGroup[],
  layer: number, target: LoraTarget, IN: number, OUT: number, scratch: Float32Array,
): void {
  const key = `${layer}.${target}`;
  const shrink: LoraSegment[] = [];
  const expand: LoraSegment[] = [];
  let uStride = 0;
  for (const { adapter, scale, rowStart, rowEnd } of groups) {
    const pair = adapter.weights.get(key);
    if (pair === undefined) continue;
    const rank = adapter.config.rank;
    uStride = Math.max(uStride, rank);
    shrink.push({ rowStart, rowEnd, factor: pair.A, rank, scale });
    expand.push({ rowStart, rowEnd, factor: pair.B, rank, scale });
  }
  if (shrink.length === 0) return;
  backend.sgmvShrink(scratch, inp, shrink, IN, uStride);
  backend.sgmvExpand(out, scratch, expand, OUT, uStride);
}

/**
 * The same update as two matmuls per adapter group: the plain reference addLoraDeltas is tested
 * against, and the baseline the inference bench compares it with.
 */
export function addLoraDeltasPerGroup(
  backend: Backend, out: Float32Array, inp: Float32Array, groups: readonly AdapterRowGroup[],
  layer: number, target: LoraTarget, IN: number, OUT: number, scratch: Float32Array,
): void {
  const key = `${layer}.${target}`;
  for (const { adapter, scale, rowStart, rowEnd } of groups) {
    const pair = adapter.weights.get(key);
    if (pair === undefined) continue;
    const n = rowEnd - rowStart;
    const r = adapter.config.rank;
    const u = scratch.subarray(0, n * r);
    backend.matmul(u, inp.subarray(rowStart * IN, rowEnd * IN), pair.A, n, IN, r, { transB: true });
    for (let i = 0; i < u.length; i++) u[i] *= scale;
    backend.matmul(out.subarray(rowStart * OUT, rowEnd * OUT), u, pair.B, n, r, OUT, { transB: true, accumulate: true });
  }
}
