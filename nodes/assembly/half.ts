// Half-precision operands: weights kept in memory as bf16 or f16 (as the checkpoint stores them, half
// the bytes of float32) are converted to float32 a tile at a time, just before the f32 kernels use
// them, so every product is computed and accumulated in float32 exactly as if the weights had been
// converted up front: the results are bitwise the same, only the memory read is halved.
import { F32 } from "./blocking";

// @ts-ignore: decorator
@inline
function f16ToF32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent == 0) {
    // Zero or subnormal: mantissa · 2^-24, exact in float32.
    const magnitude = <f32>mantissa * 5.9604644775390625e-8;
    return reinterpret<f32>(reinterpret<u32>(magnitude) | sign);
  }
  if (exponent == 31) return reinterpret<f32>(sign | 0x7f800000 | (mantissa << 13));
  return reinterpret<f32>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

/**
 * dst [rows, cols] (float32, contiguous) = src rows of `cols` half values, `stride` halves apart.
 * bf16 is the top half of a float32, so its conversion is a shift, four lanes at a time.
 */
export function convertRows(dst: usize, src: usize, rows: i32, cols: i32, stride: i32, bf16: bool): void {
  for (let r = 0; r < rows; r++) {
    const s = src + <usize>r * <usize>stride * 2;
    const d = dst + <usize>r * <usize>cols * F32;
    let c = 0;
    if (bf16) {
      for (; c + 4 <= cols; c += 4) v128.store(d + <usize>c * F32, i32x4.shl(v128.load16x4_u(s + <usize>c * 2), 16));
      for (; c < cols; c++) store<u32>(d + <usize>c * F32, (<u32>load<u16>(s + <usize>c * 2)) << 16);
    } else {
      for (; c < cols; c++) store<f32>(d + <usize>c * F32, f16ToF32(<u32>load<u16>(s + <usize>c * 2)));
    }
  }
}
