// Writes to rectangles of the output matrix that the register tiles cannot cover directly.
import { F32, NR } from "./blocking";

/** Zeroes rows [r0, r1) x columns [c0, c1) of out[., N]: the product with K = 0. */
export function zeroRect(out: usize, N: i32, r0: i32, r1: i32, c0: i32, c1: i32): void {
  for (let i = r0; i < r1; i++) {
    memory.fill(out + (<usize>i * <usize>N + <usize>c0) * F32, 0, <usize>(c1 - c0) * F32);
  }
}

/** Writes (or adds) the valid rows x cols corner of a full tile computed aside, at a ragged edge. */
export function writeEdge(tile: usize, c: usize, ldc: usize, rows: i32, cols: i32, add: bool): void {
  for (let r = 0; r < rows; r++) {
    const src = tile + <usize>(r * NR * F32);
    const dst = c + <usize>r * ldc;
    for (let j = 0; j < cols; j++) {
      const o = <usize>(j * F32);
      const v = load<f32>(src + o);
      store<f32>(dst + o, add ? load<f32>(dst + o) + v : v);
    }
  }
}
