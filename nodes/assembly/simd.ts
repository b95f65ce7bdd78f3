// SIMD helpers shared by the matmul kernels.

// a*b + c. With relaxed SIMD enabled at build time this is one fused multiply-add where the host
// has FMA (faster, rounded once); without it, a separate multiply and add (bit-identical everywhere).
// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(c, f32x4.mul(a, b));
  }
}
