// WebAssembly SIMD matmul kernels (AssemblyScript), BLIS-style:
//   out[M, N] (+)= op(a)[M, K] · op(b)[K, N]
// Every thread instantiates this module on one shared memory and computes a rectangle of `out`;
// the JavaScript side (nodes/src/engine/backend/) splits the work and owns the memory layout.
//
// Blocking: for each NC-wide column block and KC-deep slice of K, a panel of B is packed into
// NR-wide strips (KC x NR, fits L1); for each MC-tall row block a panel of A is packed into MR-tall
// strips (fits L2). The micro-kernel keeps an MR x NR tile of `out` in v128 registers across the
// whole KC slice (x64 has 16: 6 x 8 with fused multiply-add, 4 x 8 without; blocking.ts says why).
// Packing is also where transA/transB are absorbed, so one micro-kernel serves all four layouts.
//
// Products of at most FEW_ROWS rows (generation: one token per sequence) skip packing, which would
// cost as much as the product: b is streamed once, as dot products (transB, dot-rows.ts: one weight
// row after another, half precision widened in registers) or row updates.
//
// Each output element is summed in the same order whatever the split across threads, so the
// result does not depend on the thread count.
//
// All pointers are byte offsets into the shared memory. This module has no static data and no
// allocator, so instantiating it again in every worker cannot clobber anything.

import { F32, FEW_ROWS, FEW_ROWS_MAX_K, KC, MC, MR, NC, NR } from "./blocking";
import { fewRows } from "./few-rows";
import { microKernel } from "./micro-kernel";
import { writeEdge, zeroRect } from "./output";
import { packA, packB } from "./pack";
import { convertRows } from "./half";
import { B_BF16, B_F16, B_F16_FINITE, B_F32, F16_CONSTANT_BYTES } from "./dot-rows";

export const TRANS_A: i32 = 1;
export const TRANS_B: i32 = 2;
export const ACCUMULATE: i32 = 4;
/** b holds bf16 (or, with HALF_F16, f16) values, 2 bytes each; only with TRANS_B (weights as nn.Linear stores them). */
export const HALF_BF16: i32 = 8;
export const HALF_F16: i32 = 16;
/** With HALF_F16: b holds no infinity or NaN (the caller checked it once with f16HasSpecials). */
export const HALF_FINITE: i32 = 32;

/** Floats of the per-thread tile a half-precision b is converted into on the packed path (one packed-B panel). */
const HALF_TILE: i32 = KC * NC;
const BASE_SCRATCH: i32 = MC * KC + KC * NC + MR * NR;

/** Bytes of per-thread scratch `gemm` needs: packed A block, packed B block, one edge tile, the half-precision tile, the f16 constants. */
export function scratchBytes(): i32 {
  return (BASE_SCRATCH + HALF_TILE) * F32 + <i32>F16_CONSTANT_BYTES;
}

/** Rows of a micro-tile: the JavaScript side splits rows in multiples of it. */
export function tileRows(): i32 {
  return MR;
}

/** Columns of a micro-tile: the JavaScript side splits columns in multiples of it. */
export function tileCols(): i32 {
  return NR;
}

/**
 * Computes rows [r0, r1) x columns [c0, c1) of out[M, N] (+)= op(a)·op(b).
 * `flags` is a sum of TRANS_A, TRANS_B, ACCUMULATE. `scratch` points to scratchBytes() bytes owned
 * by the calling thread.
 */
export function gemm(
  out: usize, a: usize, b: usize, M: i32, K: i32, N: i32, flags: i32,
  r0: i32, r1: i32, c0: i32, c1: i32, scratch: usize,
): void {
  if (r0 >= r1 || c0 >= c1) return;
  const transA = (flags & TRANS_A) != 0;
  const transB = (flags & TRANS_B) != 0;
  const accumulate = (flags & ACCUMULATE) != 0;
  if (K == 0) {
    if (!accumulate) zeroRect(out, N, r0, r1, c0, c1);
    return;
  }
  const half = (flags & (HALF_BF16 | HALF_F16)) != 0;
  const bf16 = (flags & HALF_BF16) != 0;
  const halfTile = scratch + <usize>(BASE_SCRATCH * F32);
  const constants = halfTile + <usize>(HALF_TILE * F32);
  // Decided on the whole product, not this thread's share, so that every element is computed the
  // same way whatever the split.
  if (M <= FEW_ROWS && K <= FEW_ROWS_MAX_K) {
    // Half-precision rows are widened in registers as they stream by (dot-rows.ts): each output
    // element is the same dot product, in the same order, as over the float32 widening.
    const mode = !half ? B_F32 : bf16 ? B_BF16 : (flags & HALF_FINITE) != 0 ? B_F16_FINITE : B_F16;
    fewRows(out, a, b, mode, M, K, N, transA, transB, accumulate, r0, r1, c0, c1, scratch, constants);
    return;
  }
  const packedA = scratch;
  const packedB = packedA + <usize>(MC * KC * F32);
  const edgeTile = packedB + <usize>(KC * NC * F32);
  const ldc = <usize>N * F32;

  for (let jc = c0; jc < c1; jc += NC) {
    const nc = min(NC, c1 - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      if (half) {
        // The panel's nc rows × kc columns of b, as float32 [nc, kc], packed as a transposed b of that shape.
        convertRows(halfTile, b + (<usize>jc * <usize>K + <usize>pc) * 2, nc, kc, K, bf16, constants);
        packB(halfTile, true, kc, nc, 0, kc, 0, nc, packedB);
      } else {
        packB(b, transB, K, N, pc, kc, jc, nc, packedB);
      }
      // The first K slice overwrites `out` unless the caller asked to accumulate.
      const addToOut = accumulate || pc > 0;
      for (let ic = r0; ic < r1; ic += MC) {
        const mc = min(MC, r1 - ic);
        packA(a, transA, M, K, ic, mc, pc, kc, packedA);
        for (let jr = 0; jr < nc; jr += NR) {
          const bStrip = packedB + <usize>(jr * kc * F32);
          const cols = min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            const aStrip = packedA + <usize>(ir * kc * F32);
            const rows = min(MR, mc - ir);
            const c = out + (<usize>(ic + ir) * <usize>N + <usize>(jc + jr)) * F32;
            if (rows == MR && cols == NR) {
              microKernel(kc, aStrip, bStrip, c, ldc, addToOut);
            } else {
              // Ragged edge: compute the full tile aside, then write only the valid part.
              microKernel(kc, aStrip, bStrip, edgeTile, <usize>(NR * F32), false);
              writeEdge(edgeTile, c, ldc, rows, cols, addToOut);
            }
          }
        }
      }
    }
  }
}

export { sgmvShrink, sgmvExpand, segmentWords } from "./sgmv";
export { f16HasSpecials } from "./dot-rows";
