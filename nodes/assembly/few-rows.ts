// The unpacked path for products of a few rows (see matmul.ts).
import { F32 } from "./blocking";
import { zeroRect } from "./output";
import { madd } from "./simd";
import { B_F16_FINITE, B_F16_SCALED, dotRows, scaleRowsForF16 } from "./dot-rows";

// A few rows times a wide b, as in token-by-token generation: packing b would cost as much as the
// product itself, so b is streamed once, unpacked. The rows of op(a) are first copied to scratch
// as contiguous K-vectors (a few K floats: cheap), which absorbs transA. With transB (weights in
// nn.Linear's layout, the generation case) b may be half precision (`mode`, see dot-rows.ts).
export function fewRows(
  out: usize, a: usize, b: usize, mode: i32, M: i32, K: i32, N: i32, transA: bool, transB: bool, accumulate: bool,
  r0: i32, r1: i32, c0: i32, c1: i32, scratch: usize, constants: usize,
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
    // Finite f16 weights: scaling the few activation rows once spares a multiply per weight value.
    if (mode == B_F16_FINITE && scaleRowsForF16(scratch, rows * K)) mode = B_F16_SCALED;
    dotRows(scratch, rows, b, K, c0, c1, c, ldc, accumulate, mode, constants);
  } else {
    if (!accumulate) zeroRect(out, N, r0, r1, c0, c1);
    for (let r = 0; r < rows; r++) {
      axpyRows(scratch + <usize>r * rowBytes, b, K, N, c0, c1, c + <usize>r * ldc);
    }
  }
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
