import type { Backend } from "../backend/backend.ts";
import type { LoraTarget } from "../model/config.ts";
import type { LoraAdapter } from "../lora/adapter.ts";

/**
 * A run of consecutive batch rows [rowStart, rowEnd) that all use one adapter. The forward pass
 * orders its rows by adapter, so each adapter present in the batch is one contiguous run and the
 * low-rank update needs no gather or scatter: it reads and adds into subarrays in place.
 */
export interface AdapterRowGroup {
  adapter: LoraAdapter;
  /** alpha / r, folded into the [n, r] intermediate where it costs n·r multiplies, not n·out. */
  scale: number;
  rowStart: number;
  rowEnd: number;
}

/**
 * The segmented LoRA update (the Punica / S-LoRA idea): after the base projection has run once for
 * the whole batch, each adapter's rows get
 *   out[rows] += ((inp[rows] · Aᵀ) · scale) · Bᵀ       inp [N, IN], out [N, OUT], A [r, IN], B [OUT, r]
 * Rows of sequences without an adapter are in no group and keep the base output.
 * `scratch` holds at least max(n·r) floats over the groups.
 *
 * Both products go through the backend even for one-row groups: measured on the WASM backend, a
 * plain TypeScript loop over a rank-8 row update was slower than the two backend calls.
 */
export function addLoraDeltas(
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
