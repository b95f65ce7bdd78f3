// The register-tiled micro-kernel of the packed path: an MR x NR tile of `out` (blocking.ts says why
// MR depends on the build) kept in registers across a KC slice.
import { F32, MR, NR } from "./blocking";
import { madd } from "./simd";

export function microKernel(kc: i32, ap: usize, bp: usize, c: usize, ldc: usize, add: bool): void {
  if (MR == 6) {
    microKernel6x8(kc, ap, bp, c, ldc, add);
  } else {
    microKernel4x8(kc, ap, bp, c, ldc, add);
  }
}

// The 6 x 8 register tile: per k, two B vectors times six broadcast A values.
// @ts-ignore: decorator
@inline
function microKernel6x8(kc: i32, ap: usize, bp: usize, c: usize, ldc: usize, add: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let av = v128.load32_splat(ap);
    c00 = madd(av, b0, c00); c01 = madd(av, b1, c01);
    av = v128.load32_splat(ap, 4);
    c10 = madd(av, b0, c10); c11 = madd(av, b1, c11);
    av = v128.load32_splat(ap, 8);
    c20 = madd(av, b0, c20); c21 = madd(av, b1, c21);
    av = v128.load32_splat(ap, 12);
    c30 = madd(av, b0, c30); c31 = madd(av, b1, c31);
    av = v128.load32_splat(ap, 16);
    c40 = madd(av, b0, c40); c41 = madd(av, b1, c41);
    av = v128.load32_splat(ap, 20);
    c50 = madd(av, b0, c50); c51 = madd(av, b1, c51);
    ap += <usize>(MR * F32);
    bp += <usize>(NR * F32);
  }
  storeRow(c, c00, c01, add); c += ldc;
  storeRow(c, c10, c11, add); c += ldc;
  storeRow(c, c20, c21, add); c += ldc;
  storeRow(c, c30, c31, add); c += ldc;
  storeRow(c, c40, c41, add); c += ldc;
  storeRow(c, c50, c51, add);
}

// The 4 x 8 register tile of the plain build: per k, two B vectors times four broadcast A values.
// @ts-ignore: decorator
@inline
function microKernel4x8(kc: i32, ap: usize, bp: usize, c: usize, ldc: usize, add: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let av = v128.load32_splat(ap);
    c00 = madd(av, b0, c00); c01 = madd(av, b1, c01);
    av = v128.load32_splat(ap, 4);
    c10 = madd(av, b0, c10); c11 = madd(av, b1, c11);
    av = v128.load32_splat(ap, 8);
    c20 = madd(av, b0, c20); c21 = madd(av, b1, c21);
    av = v128.load32_splat(ap, 12);
    c30 = madd(av, b0, c30); c31 = madd(av, b1, c31);
    ap += <usize>(MR * F32);
    bp += <usize>(NR * F32);
  }
  storeRow(c, c00, c01, add); c += ldc;
  storeRow(c, c10, c11, add); c += ldc;
  storeRow(c, c20, c21, add); c += ldc;
  storeRow(c, c30, c31, add);
}

// @ts-ignore: decorator
@inline
function storeRow(c: usize, lo: v128, hi: v128, add: bool): void {
  if (add) {
    lo = f32x4.add(v128.load(c), lo);
    hi = f32x4.add(v128.load(c, 16), hi);
  }
  v128.store(c, lo);
  v128.store(c, hi, 16);
}
