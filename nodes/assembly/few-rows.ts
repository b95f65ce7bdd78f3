// The unpacked path for products of a few rows (see matmul.ts).
import { F32 } from "./blocking";
import { zeroRect } from "./output";
import { madd } from "./simd";

// A few rows times a wide b, as in token-by-token generation: packing b would cost as much as the
// product itself, so b is streamed once, unpacked. The rows of op(a) are first copied to scratch
// as contiguous K-vectors (a few K floats: cheap), which absorbs transA.
export function fewRows(
  out: usize, a: usize, b: usize, M: i32, K: i32, N: i32, transA: bool, transB: bool, accumulate: bool,
  r0: i32, r1: i32, c0: i32, c1: i32, scratch: usize,
): void {
  const rows = r1 - r0;
  const rowBytes = <usize>K * F32;
  for (let r = 0; r < rows; r++) {
    const dst = scratch + <usize>r * rowBytes;
    if (transA) {
      for (let k = 0; k < K; k++) store<f32>(dst + <usize>(k * F32), load<f32>(a + (<usize>k * <usize>M + <usize>(r0 + r)) * F32));
    } else {
      memory.copy(dst, a + <usize>(r0 + r) * rowBytes, rowBytes);
    }
  }
  const ldc = <usize>N * F32;
  const c = out + (<usize>r0 * <usize>N) * F32;
  if (transB) {
    // Rows in fours against pairs of b rows share every load; the rest row by row against fours.
    // All variants sum each element in the same order (see dotLanes), so the grouping, which
    // depends on the split across threads, never changes a result.
    let r = 0;
    for (; r + 4 <= rows; r += 4) {
      const x = scratch + <usize>r * rowBytes;
      let j = c0;
      for (; j + 2 <= c1; j += 2) dot4x2(x, rowBytes, b + <usize>j * rowBytes, K, c + <usize>r * ldc + <usize>(j * F32), ldc, accumulate);
      for (; j < c1; j++) {
        for (let i = 0; i < 4; i++) dot1x4(x + <usize>i * rowBytes, b + <usize>j * rowBytes, rowBytes, 1, K, c + <usize>(r + i) * ldc + <usize>(j * F32), accumulate);
      }
    }
    for (; r < rows; r++) {
      const x = scratch + <usize>r * rowBytes;
      const o = c + <usize>r * ldc;
      let j = c0;
      for (; j + 4 <= c1; j += 4) dot1x4(x, b + <usize>j * rowBytes, rowBytes, 4, K, o + <usize>(j * F32), accumulate);
      if (j < c1) dot1x4(x, b + <usize>j * rowBytes, rowBytes, c1 - j, K, o + <usize>(j * F32), accumulate);
    }
  } else {
    if (!accumulate) zeroRect(out, N, r0, r1, c0, c1);
    for (let r = 0; r < rows; r++) {
      axpyRows(scratch + <usize>r * rowBytes, b, K, N, c0, c1, c + <usize>r * ldc);
    }
  }
}

// The dot products of few-rows transB: one vector accumulator per output element over k in steps
// of four, its lanes summed in a fixed order, then the scalar tail. Every variant below follows
// exactly this order.
// @ts-ignore: decorator
@inline
function dotLanes(acc: v128, x: usize, y: usize, k: i32, K: i32): f32 {
  let sum = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; k < K; k++) sum += load<f32>(x + <usize>(k * F32)) * load<f32>(y + <usize>(k * F32));
  return sum;
}

// @ts-ignore: decorator
@inline
function storeDot(o: usize, value: f32, add: bool): void {
  store<f32>(o, add ? load<f32>(o) + value : value);
}

// Four rows of x (stride ldx bytes) against two rows of y (b rows j, j+1): 8 accumulators, so the
// multiply-adds do not wait on each other, and each loaded vector feeds two or four of them.
function dot4x2(x: usize, ldx: usize, y: usize, K: i32, o: usize, ldo: usize, add: bool): void {
  const y1 = y + ldx;
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= K; k += 4) {
    const ko = <usize>(k * F32);
    const b0 = v128.load(y + ko), b1 = v128.load(y1 + ko);
    let v = v128.load(x + ko);
    a00 = madd(v, b0, a00); a01 = madd(v, b1, a01);
    v = v128.load(x + ldx + ko);
    a10 = madd(v, b0, a10); a11 = madd(v, b1, a11);
    v = v128.load(x + 2 * ldx + ko);
    a20 = madd(v, b0, a20); a21 = madd(v, b1, a21);
    v = v128.load(x + 3 * ldx + ko);
    a30 = madd(v, b0, a30); a31 = madd(v, b1, a31);
  }
  storeDot(o, dotLanes(a00, x, y, k, K), add);
  storeDot(o + 4, dotLanes(a01, x, y1, k, K), add);
  storeDot(o + ldo, dotLanes(a10, x + ldx, y, k, K), add);
  storeDot(o + ldo + 4, dotLanes(a11, x + ldx, y1, k, K), add);
  storeDot(o + 2 * ldo, dotLanes(a20, x + 2 * ldx, y, k, K), add);
  storeDot(o + 2 * ldo + 4, dotLanes(a21, x + 2 * ldx, y1, k, K), add);
  storeDot(o + 3 * ldo, dotLanes(a30, x + 3 * ldx, y, k, K), add);
  storeDot(o + 3 * ldo + 4, dotLanes(a31, x + 3 * ldx, y1, k, K), add);
}

// One row of x against up to four rows of y (stride ldy bytes): `count` outputs at o, o+4, ...
// Unused accumulators multiply the first row again; only `count` results are stored.
function dot1x4(x: usize, y: usize, ldy: usize, count: i32, K: i32, o: usize, add: bool): void {
  const y1 = count > 1 ? y + ldy : y;
  const y2 = count > 2 ? y + 2 * ldy : y;
  const y3 = count > 3 ? y + 3 * ldy : y;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= K; k += 4) {
    const ko = <usize>(k * F32);
    const v = v128.load(x + ko);
    a0 = madd(v, v128.load(y + ko), a0);
    a1 = madd(v, v128.load(y1 + ko), a1);
    a2 = madd(v, v128.load(y2 + ko), a2);
    a3 = madd(v, v128.load(y3 + ko), a3);
  }
  storeDot(o, dotLanes(a0, x, y, k, K), add);
  if (count > 1) storeDot(o + 4, dotLanes(a1, x, y1, k, K), add);
  if (count > 2) storeDot(o + 8, dotLanes(a2, x, y2, k, K), add);
  if (count > 3) storeDot(o + 12, dotLanes(a3, x, y3, k, K), add);
}

// outRow[c0 : c1] += Σ_k x[k]·b[k, c0 : c1], four k at a time so each slice of the output row is
// loaded and stored once per four rows of b.
function axpyRows(x: usize, b: usize, K: i32, N: i32, c0: i32, c1: i32, outRow: usize): void {
  const ldb = <usize>N * F32;
  const width = c1 - c0;
  let k = 0;
  for (; k + 4 <= K; k += 4) {
    const xo = x + <usize>(k * F32);
    const x0 = v128.load32_splat(xo), x1 = v128.load32_splat(xo, 4), x2 = v128.load32_splat(xo, 8), x3 = v128.load32_splat(xo, 12);
    const b0 = b + (<usize>k * <usize>N + <usize>c0) * F32;
    const o0 = outRow + <usize>(c0 * F32);
    let j = 0;
    for (; j + 4 <= width; j += 4) {
      const jo = <usize>(j * F32);
      let acc = v128.load(o0 + jo);
      acc = madd(x0, v128.load(b0 + jo), acc);
      acc = madd(x1, v128.load(b0 + ldb + jo), acc);
      acc = madd(x2, v128.load(b0 + 2 * ldb + jo), acc);
      acc = madd(x3, v128.load(b0 + 3 * ldb + jo), acc);
      v128.store(o0 + jo, acc);
    }
    for (; j < width; j++) {
      const jo = <usize>(j * F32);
      let v = load<f32>(o0 + jo);
      for (let t = 0; t < 4; t++) v += load<f32>(xo + <usize>(t * F32)) * load<f32>(b0 + <usize>t * ldb + jo);
      store<f32>(o0 + jo, v);
    }
  }
  for (; k < K; k++) {
    const xk = load<f32>(x + <usize>(k * F32));
    const bk = b + (<usize>k * <usize>N + <usize>c0) * F32;
    const o0 = outRow + <usize>(c0 * F32);
    for (let j = 0; j < width; j++) {
      const jo = <usize>(j * F32);
      store<f32>(o0 + jo, load<f32>(o0 + jo) + xk * load<f32>(bk + jo));
    }
  }
}
