// Dot products of activation rows against weight rows (b in nn.Linear's [out, in] layout), the core
// of the few-rows path (matmul.ts): token-by-token generation multiplies one to a few rows by every
// weight, so the step is bound by how fast the weights stream from memory.
//
// Each weight row is read from start to end before the next one: one sequential stream, which the
// hardware prefetcher follows at close to full memory bandwidth (walking four rows side by side, as
// this path once did, gets about half of it). Four vector accumulators per output element keep
// the multiply-adds from waiting on each other.
//
// The weights may be float32, bf16 or f16 (as a checkpoint stores them): half-precision values are
// widened to float32 in registers as they are loaded, never written out, so the read is halved
// and the products are those of the float32 widening, bit for bit.
//
// Every output element is summed in one fixed order, whatever the variant, the number of rows or
// the split across threads (see `finish`), so a sequence's logits do not depend on its batch.
import { F32 } from "./blocking";
import { madd } from "./simd";

export const B_F32: i32 = 0;
export const B_BF16: i32 = 1;
export const B_F16: i32 = 2;
/** f16 known to hold no infinity or NaN (checked once per matrix by the caller): the widening skips their fix-up. */
export const B_F16_FINITE: i32 = 3;
/**
 * Finite f16 against activation rows pre-multiplied by 2^112 (scaleRowsForF16): the weights then
 * need no multiply at all, since x·2^112 times the f16 bits shifted into a float32 (w·2^-112) is
 * x·w exactly, so every product and sum is bit for bit that of B_F16_FINITE.
 */
export const B_F16_SCALED: i32 = 4;

/** 2^112: the f16 exponent bias (15) against float32's (127). */
export const F16_SCALE: f32 = 5.192296858534828e+33;

/** Bytes per weight value in `mode`. */
// @ts-ignore: decorator
@inline
export function weightBytes(mode: i32): usize {
  return mode == B_F32 ? 4 : 2;
}

/**
 * The f16 widening's constants, written to `at` (F16_CONSTANT_BYTES of the thread's scratch) and read
 * back into locals before a loop. Read from memory, V8 keeps them in registers; written as
 * constants in the loop, it rebuilds each one at every use, which halved the f16 speed.
 */
export const F16_CONSTANT_BYTES: usize = 64;

// @ts-ignore: decorator
@inline
export function storeF16Constants(at: usize): void {
  v128.store(at, i32x4.splat(0x8fffffff));
  v128.store(at, f32x4.splat(F16_SCALE), 16);
  v128.store(at, i32x4.splat(0x0f800000), 32);
  v128.store(at, i32x4.splat(0x7f800000), 48);
}

/**
 * Four f16 values, sign-extended to 32-bit lanes, as float32. The f16 exponent and mantissa shifted
 * into place make a float32 2^112 times too small (an f16 subnormal lands on a float32 subnormal),
 * and one multiply by 2^112 rescales every finite value exactly. Infinities and NaNs (exponent 31)
 * get float32's all-ones exponent, keeping the NaN payload. `mask`..`infinity`: the constants
 * storeF16Constants writes, in its order.
 */
// @ts-ignore: decorator
@inline
export function f16Quad(widened: v128, mask: v128, scale: v128, exponent: v128, infinity: v128): v128 {
  const bits = v128.and(i32x4.shl(widened, 13), mask);
  const value = f32x4.mul(bits, scale);
  const special = i32x4.eq(v128.and(bits, exponent), exponent);
  return v128.or(value, v128.and(special, infinity));
}

/** Weight values k..k+3 of the row at `y`, as float32 (c0..c3: the f16 constants, unused otherwise). */
// @ts-ignore: decorator
@inline
export function quad(y: usize, k: i32, mode: i32, c0: v128, c1: v128, c2: v128, c3: v128): v128 {
  if (mode == B_F32) return v128.load(y + (<usize>k << 2));
  if (mode == B_BF16) return i32x4.shl(v128.load16x4_u(y + (<usize>k << 1)), 16);
  // Finite values only: the shift, mask and multiply of f16Quad without the infinity/NaN fix-up.
  if (mode == B_F16_FINITE) return f32x4.mul(v128.and(i32x4.shl(v128.load16x4_s(y + (<usize>k << 1)), 13), c0), c1);
  if (mode == B_F16_SCALED) return v128.and(i32x4.shl(v128.load16x4_s(y + (<usize>k << 1)), 13), c0);
  return f16Quad(v128.load16x4_s(y + (<usize>k << 1)), c0, c1, c2, c3);
}

/**
 * 1 when any of the `n` f16 values at `src` is an infinity or a NaN (exponent 31), else 0: the
 * backend checks each f16 weight matrix once and multiplies a finite one with B_F16_FINITE.
 */
export function f16HasSpecials(src: usize, n: i32): i32 {
  const exponent = i32x4.splat(0x7c007c00);
  let found = i32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    found = v128.or(found, i16x8.eq(v128.and(v128.load(src + (<usize>i << 1)), exponent), exponent));
  }
  if (v128.any_true(found)) return 1;
  for (; i < n; i++) if ((load<u16>(src + (<usize>i << 1)) & 0x7c00) == 0x7c00) return 1;
  return 0;
}

// @ts-ignore: decorator
@inline
function f16Scalar(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent == 0) return reinterpret<f32>(reinterpret<u32>(<f32>mantissa * 5.9604644775390625e-8) | sign);
  if (exponent == 31) return reinterpret<f32>(sign | 0x7f800000 | (mantissa << 13));
  return reinterpret<f32>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

/** Weight value k of the row at `y`, as float32. */
// @ts-ignore: decorator
@inline
export function scalar(y: usize, k: i32, mode: i32): f32 {
  if (mode == B_F32) return load<f32>(y + (<usize>k << 2));
  if (mode == B_BF16) return reinterpret<f32>((<u32>load<u16>(y + (<usize>k << 1))) << 16);
  // The f16 bits shifted into place: w·2^-112, for activations scaled by 2^112.
  if (mode == B_F16_SCALED) return reinterpret<f32>(((<u32>load<i16>(y + (<usize>k << 1))) << 13) & 0x8fffffff);
  // Finite or not, the scalar widening is exact.
  return f16Scalar(<u32>load<u16>(y + (<usize>k << 1)));
}

/**
 * The fixed order every dot product ends in. The main loops have summed k in blocks of 16, block
 * lane i into accumulator i; the blocks of four left (at most three) go into accumulators 0, 1, 2;
 * then ((a0 + a1) + (a2 + a3)), its lanes ((l0 + l1) + (l2 + l3)), and the last k one by one.
 */
// @ts-ignore: decorator
@inline
function finish(a0: v128, a1: v128, a2: v128, a3: v128, x: usize, y: usize, k: i32, K: i32, mode: i32, c0: v128, c1: v128, c2: v128, c3: v128): f32 {
  if (k + 4 <= K) { a0 = madd(v128.load(x + (<usize>k << 2)), quad(y, k, mode, c0, c1, c2, c3), a0); k += 4; }
  if (k + 4 <= K) { a1 = madd(v128.load(x + (<usize>k << 2)), quad(y, k, mode, c0, c1, c2, c3), a1); k += 4; }
  if (k + 4 <= K) { a2 = madd(v128.load(x + (<usize>k << 2)), quad(y, k, mode, c0, c1, c2, c3), a2); k += 4; }
  const acc = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  let sum = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; k < K; k++) sum += load<f32>(x + (<usize>k << 2)) * scalar(y, k, mode);
  return sum;
}

// @ts-ignore: decorator
@inline
function storeDot(o: usize, value: f32, add: bool): void {
  store<f32>(o, add ? load<f32>(o) + value : value);
}

/** o (+)= x · y over K: one activation row against one weight row. */
// @ts-ignore: decorator
@inline
function dot1(x: usize, y: usize, K: i32, mode: i32, o: usize, add: bool, c0: v128, c1: v128, c2: v128, c3: v128): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let k = 0;
  for (; k + 16 <= K; k += 16) {
    const xk = x + (<usize>k << 2);
    a0 = madd(v128.load(xk), quad(y, k, mode, c0, c1, c2, c3), a0);
    a1 = madd(v128.load(xk, 16), quad(y, k + 4, mode, c0, c1, c2, c3), a1);
    a2 = madd(v128.load(xk, 32), quad(y, k + 8, mode, c0, c1, c2, c3), a2);
    a3 = madd(v128.load(xk, 48), quad(y, k + 12, mode, c0, c1, c2, c3), a3);
  }
  storeDot(o, finish(a0, a1, a2, a3, x, y, k, K, mode, c0, c1, c2, c3), add);
}

/** Two activation rows (x and x + ldx) against one weight row: each weight value loaded (and widened) once for both. */
// @ts-ignore: decorator
@inline
function dot2(x: usize, ldx: usize, y: usize, K: i32, mode: i32, o: usize, ldo: usize, add: bool, c0: v128, c1: v128, c2: v128, c3: v128): void {
  const x1 = x + ldx;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  let k = 0;
  for (; k + 16 <= K; k += 16) {
    const ko = <usize>k << 2;
    let w = quad(y, k, mode, c0, c1, c2, c3);
    a0 = madd(v128.load(x + ko), w, a0); b0 = madd(v128.load(x1 + ko), w, b0);
    w = quad(y, k + 4, mode, c0, c1, c2, c3);
    a1 = madd(v128.load(x + ko, 16), w, a1); b1 = madd(v128.load(x1 + ko, 16), w, b1);
    w = quad(y, k + 8, mode, c0, c1, c2, c3);
    a2 = madd(v128.load(x + ko, 32), w, a2); b2 = madd(v128.load(x1 + ko, 32), w, b2);
    w = quad(y, k + 12, mode, c0, c1, c2, c3);
    a3 = madd(v128.load(x + ko, 48), w, a3); b3 = madd(v128.load(x1 + ko, 48), w, b3);
  }
  storeDot(o, finish(a0, a1, a2, a3, x, y, k, K, mode, c0, c1, c2, c3), add);
  storeDot(o + ldo, finish(b0, b1, b2, b3, x1, y, k, K, mode, c0, c1, c2, c3), add);
}

// @ts-ignore: decorator
@inline
function dotRowsOf(x: usize, rows: i32, b: usize, K: i32, j0: i32, j1: i32, c: usize, ldc: usize, add: bool, mode: i32, constants: usize): void {
  storeF16Constants(constants);
  const k0 = v128.load(constants), k1 = v128.load(constants, 16), k2 = v128.load(constants, 32), k3 = v128.load(constants, 48);
  const ldx = <usize>K * F32;
  const ldy = <usize>K * weightBytes(mode);
  for (let j = j0; j < j1; j++) {
    const y = b + <usize>j * ldy;
    const o = c + <usize>(j * F32);
    let r = 0;
    for (; r + 2 <= rows; r += 2) dot2(x + <usize>r * ldx, ldx, y, K, mode, o + <usize>r * ldc, ldc, add, k0, k1, k2, k3);
    if (r < rows) dot1(x + <usize>r * ldx, y, K, mode, o + <usize>r * ldc, add, k0, k1, k2, k3);
  }
}

/**
 * c[r, j] (+)= x[r] · b[j] for rows r < `rows` of x (contiguous K-vectors) and weight rows
 * j in [j0, j1); c points at row 0, column 0 of the output (ldc bytes per row). `constants`:
 * F16_CONSTANT_BYTES of the thread's scratch.
 */
export function dotRows(x: usize, rows: i32, b: usize, K: i32, j0: i32, j1: i32, c: usize, ldc: usize, add: bool, mode: i32, constants: usize): void {
  if (mode == B_F32) dotRowsOf(x, rows, b, K, j0, j1, c, ldc, add, B_F32, constants);
  else if (mode == B_BF16) dotRowsOf(x, rows, b, K, j0, j1, c, ldc, add, B_BF16, constants);
  else if (mode == B_F16_FINITE) dotRowsOf(x, rows, b, K, j0, j1, c, ldc, add, B_F16_FINITE, constants);
  else if (mode == B_F16_SCALED) dotRowsOf(x, rows, b, K, j0, j1, c, ldc, add, B_F16_SCALED, constants);
  else dotRowsOf(x, rows, b, K, j0, j1, c, ldc, add, B_F16, constants);
}

/**
 * Multiplies `n` floats at `x` by 2^112 in place for B_F16_SCALED, unless one is 2^16 or more in
 * magnitude (or not finite), whose product would overflow: then it leaves them as they were and
 * returns false (the caller uses B_F16_FINITE). Activations that large are rare.
 */
export function scaleRowsForF16(x: usize, n: i32): bool {
  const limit = f32x4.splat(65536);
  let over = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) over = v128.or(over, v128.not(f32x4.lt(f32x4.abs(v128.load(x + (<usize>i << 2))), limit)));
  let large = v128.any_true(over);
  for (; i < n; i++) if (!(Mathf.abs(load<f32>(x + (<usize>i << 2))) < 65536)) large = true;
  if (large) return false;
  const scale = f32x4.splat(F16_SCALE);
  i = 0;
  for (; i + 4 <= n; i += 4) v128.store(x + (<usize>i << 2), f32x4.mul(v128.load(x + (<usize>i << 2)), scale));
  for (; i < n; i++) store<f32>(x + (<usize>i << 2), load<f32>(x + (<usize>i << 2)) * F16_SCALE);
  return true;
}
