/**
 * Exact conversions between float32 and the two 16-bit float formats checkpoints use:
 * IEEE binary16 ("F16") and bfloat16 ("BF16", the top half of a float32).
 * Widening is exact; narrowing rounds to nearest, ties to even, keeps NaN a NaN and saturates to ±Infinity,
 * as PyTorch's `.half()` / `.bfloat16()` do.
 */

/** float32 bit patterns of all 65,536 binary16 values: widening a tensor is one table lookup per element. */
const F16_TO_F32_BITS: Uint32Array = buildF16Table();

function buildF16Table(): Uint32Array {
  const table = new Uint32Array(65536);
  const scratch = new Float32Array(1);
  const scratchBits = new Uint32Array(scratch.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) {
      // zero or subnormal: mantissa * 2^-24 is exact in float32
      scratch[0] = mantissa * 2 ** -24;
      table[h] = (sign | scratchBits[0]) >>> 0;
    } else if (exponent === 31) {
      table[h] = (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
    } else {
      table[h] = (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
    }
  }
  return table;
}

/** Widens binary16 values (as raw 16-bit patterns) to float32. */
export function f16ToF32(halves: Uint16Array, out: Float32Array = new Float32Array(halves.length)): Float32Array {
  const outBits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < halves.length; i++) outBits[i] = F16_TO_F32_BITS[halves[i]];
  return out;
}

/** Widens bfloat16 values (as raw 16-bit patterns) to float32: the 16 bits become the float's high half. */
export function bf16ToF32(halves: Uint16Array, out: Float32Array = new Float32Array(halves.length)): Float32Array {
  const outBits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < halves.length; i++) outBits[i] = halves[i] << 16;
  return out;
}

/** Narrows one float32 bit pattern to binary16, rounding to nearest even. */
export function f32BitsToF16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  const halfExponent = exponent - 112;
  if (halfExponent >= 31) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // below 2^-25 (half the smallest subnormal, a tie that rounds to even zero) nothing survives
    if (halfExponent < -10) return sign;
    const significand = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    let half = significand >>> shift;
    const remainder = significand & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    if (remainder > midpoint || (remainder === midpoint && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  // a carry out of the mantissa correctly bumps the exponent, up to Infinity (0x7c00)
  if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/** Narrows one float32 bit pattern to bfloat16, rounding to nearest even. */
export function f32BitsToBf16(bits: number): number {
  const isNaN = (bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0;
  // quieten the NaN so that dropping the low mantissa bits cannot turn it into Infinity
  if (isNaN) return (bits >>> 16) | 0x40;
  return ((bits >>> 0) + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

/** Narrows float32 values to binary16 bit patterns. */
export function f32ToF16(values: Float32Array, out: Uint16Array = new Uint16Array(values.length)): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32BitsToF16(bits[i]);
  return out;
}

/** Narrows float32 values to bfloat16 bit patterns. */
export function f32ToBf16(values: Float32Array, out: Uint16Array = new Uint16Array(values.length)): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32BitsToBf16(bits[i]);
  return out;
}
