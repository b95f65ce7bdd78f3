// Segmented gather matrix-vector products for the LoRA part of a mixed batch (Punica's SGMV,
// S-LoRA's batched LoRA): the rows of a batch are grouped by adapter into segments, and one call
// computes every segment's low-rank update, each against its own adapter's factor:
//   shrink  u[row, 0:r] = scale · x[row, 0:IN] · Aᵀ      A [r, IN]
//   expand  out[row, 0:OUT] += u[row, 0:r] · Bᵀ          B [OUT, r]
// instead of two matmul calls per adapter per projection. Ranks are small (4-64), so a row's
// update is r dot products of length IN (shrink) and OUT dot products of length r (expand), both
// over contiguous memory; each row is computed the same way whatever segment or batch it is in.
//
// The segment table is SEGMENT_WORDS 32-bit words per segment:
//   [rowStart i32, rowEnd i32, factor pointer i32, rank i32, scale f32]
// u has rows of uStride floats (the batch's largest rank).

import { F32 } from "./blocking";
import { madd } from "./simd";

export const SEGMENT_WORDS: i32 = 5;

/** 32-bit words per segment in the table. */
export function segmentWords(): i32 {
  return SEGMENT_WORDS;
}

// @ts-ignore: decorator
@inline
function dot(x: usize, y: usize, n: i32): f32 {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const at = <usize>i * F32;
    acc0 = madd(v128.load(x + at), v128.load(y + at), acc0);
    acc1 = madd(v128.load(x + at + 16), v128.load(y + at + 16), acc1);
  }
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i * F32;
    acc0 = madd(v128.load(x + at), v128.load(y + at), acc0);
  }
  const acc = f32x4.add(acc0, acc1);
  let sum = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; i < n; i++) sum += load<f32>(x + <usize>i * F32) * load<f32>(y + <usize>i * F32);
  return sum;
}

/** u[row, 0:r] = scale · x[row] · Aᵀ for every row of every segment; rows outside the segments are untouched. */
export function sgmvShrink(u: usize, x: usize, table: usize, segments: i32, IN: i32, uStride: i32): void {
  const rowBytes = <usize>IN * F32;
  for (let s = 0; s < segments; s++) {
    const entry = table + <usize>(s * SEGMENT_WORDS * 4);
    const rowStart = load<i32>(entry);
    const rowEnd = load<i32>(entry, 4);
    const factor = <usize>load<u32>(entry, 8);
    const rank = load<i32>(entry, 12);
    const scale = load<f32>(entry, 16);
    for (let row = rowStart; row < rowEnd; row++) {
      const xr = x + <usize>row * rowBytes;
      const ur = u + <usize>row * <usize>uStride * F32;
      for (let k = 0; k < rank; k++) store<f32>(ur + <usize>k * F32, dot(xr, factor + <usize>k * rowBytes, IN) * scale);
    }
  }
}

/** out[row] += u[row, 0:r] · Bᵀ for every row of every segment. */
export function sgmvExpand(out: usize, u: usize, table: usize, segments: i32, OUT: i32, uStride: i32): void {
  for (let s = 0; s < segments; s++) {
    const entry = table + <usize>(s * SEGMENT_WORDS * 4);
    const rowStart = load<i32>(entry);
    const rowEnd = load<i32>(entry, 4);
    const factor = <usize>load<u32>(entry, 8);
    const rank = load<i32>(entry, 12);
    const factorRowBytes = <usize>rank * F32;
    for (let row = rowStart; row < rowEnd; row++) {
      const ur = u + <usize>row * <usize>uStride * F32;
      const outRow = out + <usize>row * <usize>OUT * F32;
      for (let o = 0; o < OUT; o++) {
        const at = outRow + <usize>o * F32;
        store<f32>(at, load<f32>(at) + dot(ur, factor + <usize>o * factorRowBytes, rank));
      }
    }
  }
}
