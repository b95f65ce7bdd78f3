// Half-precision operands on the packed path: weights kept in memory as bf16 or f16 (as the
// checkpoint stores them, half the bytes of float32) are converted to float32 a tile at a time, just
// before the f32 kernels use them (the few-rows path widens them in registers instead, dot-rows.ts),
// so every product is computed and accumulated in float32 exactly as if the weights had been
// converted up front: the results are bitwise the same, only the memory read is halved.
import { F32 } from "./blocking";
import { B_F16, f16Quad, scalar, storeF16Constants } from "./dot-rows";

/**
 * dst [rows, cols] (float32, contiguous) = src rows of `cols` half values, `stride` halves apart.
 * bf16 is the top half of a float32, so its conversion is a shift; f16 takes a shift, a mask and a
 * multiply (dot-rows.ts); both four lanes at a time. `constants`: F16_CONSTANT_BYTES of scratch.
 */
export function convertRows(dst: usize, src: usize, rows: i32, cols: i32, stride: i32, bf16: bool, constants: usize): void {
  storeF16Constants(constants);
  const k0 = v128.load(constants), k1 = v128.load(constants, 16), k2 = v128.load(constants, 32), k3 = v128.load(constants, 48);
  for (let r = 0; r < rows; r++) {
    const s = src + <usize>r * <usize>stride * 2;
    const d = dst + <usize>r * <usize>cols * F32;
    let c = 0;
    if (bf16) {
      for (; c + 4 <= cols; c += 4) v128.store(d + <usize>c * F32, i32x4.shl(v128.load16x4_u(s + <usize>c * 2), 16));
      for (; c < cols; c++) store<u32>(d + <usize>c * F32, (<u32>load<u16>(s + <usize>c * 2)) << 16);
    } else {
      for (; c + 4 <= cols; c += 4) v128.store(d + <usize>c * F32, f16Quad(v128.load16x4_s(s + <usize>c * 2), k0, k1, k2, k3));
      for (; c < cols; c++) store<f32>(d + <usize>c * F32, scalar(s, c, B_F16));
    }
  }
}
