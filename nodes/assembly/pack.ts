// Packing of op(a) and op(b) into the strips the register tile reads (see matmul.ts).
import { F32, MR, NR } from "./blocking";

// Packs op(a)[i0 : i0+mc, k0 : k0+kc] as MR-tall strips, each stored k-major (MR floats per k).
// Rows past M are zero so the micro-kernel never needs a bounds check.
export function packA(a: usize, transA: bool, M: i32, K: i32, i0: i32, mc: i32, k0: i32, kc: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const strip = dst + <usize>(ir * kc * F32);
    const rows = min(MR, mc - ir);
    if (transA) {
      // a is [K, M]: the MR values of one k are adjacent.
      for (let k = 0; k < kc; k++) {
        const src = a + (<usize>(k0 + k) * <usize>M + <usize>(i0 + ir)) * F32;
        const d = strip + <usize>(k * MR * F32);
        for (let r = 0; r < MR; r++) {
          store<f32>(d + <usize>(r * F32), r < rows ? load<f32>(src + <usize>(r * F32)) : 0);
        }
      }
    } else {
      // a is [M, K]: read each row sequentially, scatter into the strip.
      for (let r = 0; r < MR; r++) {
        const d = strip + <usize>(r * F32);
        if (r < rows) {
          const src = a + (<usize>(i0 + ir + r) * <usize>K + <usize>k0) * F32;
          for (let k = 0; k < kc; k++) {
            store<f32>(d + <usize>(k * MR * F32), load<f32>(src + <usize>(k * F32)));
          }
        } else {
          for (let k = 0; k < kc; k++) store<f32>(d + <usize>(k * MR * F32), 0);
        }
      }
    }
  }
}

// Packs op(b)[k0 : k0+kc, j0 : j0+nc] as NR-wide strips, each stored k-major (NR floats per k).
// Columns past N are zero.
export function packB(b: usize, transB: bool, K: i32, N: i32, k0: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const strip = dst + <usize>(jr * kc * F32);
    const cols = min(NR, nc - jr);
    if (transB && cols == NR) {
      packTransposedStrip(b, K, k0, kc, j0 + jr, strip);
    } else if (transB) {
      // b is [N, K]: read each weight row sequentially, scatter into the strip.
      for (let c = 0; c < NR; c++) {
        const d = strip + <usize>(c * F32);
        if (c < cols) {
          const src = b + (<usize>(j0 + jr + c) * <usize>K + <usize>k0) * F32;
          for (let k = 0; k < kc; k++) {
            store<f32>(d + <usize>(k * NR * F32), load<f32>(src + <usize>(k * F32)));
          }
        } else {
          for (let k = 0; k < kc; k++) store<f32>(d + <usize>(k * NR * F32), 0);
        }
      }
    } else if (cols == NR) {
      // b is [K, N] and the strip is full: two vector copies per k.
      for (let k = 0; k < kc; k++) {
        const src = b + (<usize>(k0 + k) * <usize>N + <usize>(j0 + jr)) * F32;
        const d = strip + <usize>(k * NR * F32);
        v128.store(d, v128.load(src));
        v128.store(d, v128.load(src, 16), 16);
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const src = b + (<usize>(k0 + k) * <usize>N + <usize>(j0 + jr)) * F32;
        const d = strip + <usize>(k * NR * F32);
        for (let c = 0; c < NR; c++) {
          store<f32>(d + <usize>(c * F32), c < cols ? load<f32>(src + <usize>(c * F32)) : 0);
        }
      }
    }
  }
}

// A full NR-wide strip of a transposed b ([N, K]): 4x4 blocks are transposed in registers, so the
// strip is written with vector stores instead of one float at a time (this packing is repeated by
// every thread that works on the same columns, so its speed shows in the transB timings).
function packTransposedStrip(b: usize, K: i32, k0: i32, kc: i32, j: i32, strip: usize): void {
  const ldb = <usize>K * F32;
  const row0 = b + (<usize>j * <usize>K + <usize>k0) * F32;
  let k = 0;
  for (; k + 4 <= kc; k += 4) {
    const src = row0 + <usize>(k * F32);
    const d = strip + <usize>(k * NR * F32);
    transpose4x4(src, ldb, d);
    transpose4x4(src + 4 * ldb, ldb, d + 16);
  }
  for (; k < kc; k++) {
    const src = row0 + <usize>(k * F32);
    const d = strip + <usize>(k * NR * F32);
    for (let c = 0; c < NR; c++) store<f32>(d + <usize>(c * F32), load<f32>(src + <usize>c * ldb));
  }
}

// Reads 4 floats from each of 4 rows (stride `ld` bytes) and stores them as 4 columns, one every
// NR floats: dst[t * NR + r] = src[r][t].
// @ts-ignore: decorator
@inline
function transpose4x4(src: usize, ld: usize, dst: usize): void {
  const r0 = v128.load(src);
  const r1 = v128.load(src + ld);
  const r2 = v128.load(src + 2 * ld);
  const r3 = v128.load(src + 3 * ld);
  const lo01 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const lo23 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const hi01 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const hi23 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, i32x4.shuffle(lo01, lo23, 0, 1, 4, 5));
  v128.store(dst, i32x4.shuffle(lo01, lo23, 2, 3, 6, 7), NR * F32);
  v128.store(dst, i32x4.shuffle(hi01, hi23, 0, 1, 4, 5), 2 * NR * F32);
  v128.store(dst, i32x4.shuffle(hi01, hi23, 2, 3, 6, 7), 3 * NR * F32);
}
