import { test } from "node:test";
import assert from "node:assert/strict";
import { bf16ToF32, f16ToF32, f32BitsToBf16, f32BitsToF16, f32ToBf16, f32ToF16 } from "../../../../nodes/src/engine/formats/half-precision.ts";

const bitsOf = (value: number) => new Uint32Array(new Float32Array([value]).buffer)[0];

// [binary16 bits, exact value]
const F16_KNOWN: [number, number][] = [
  [0x0000, 0], [0x8000, -0], [0x3c00, 1], [0xbc00, -1], [0x4000, 2], [0x3555, 0.333251953125],
  [0x7bff, 65504], [0x0400, 2 ** -14], [0x03ff, 1023 * 2 ** -24], [0x0001, 2 ** -24], [0x8001, -(2 ** -24)],
  [0x7c00, Infinity], [0xfc00, -Infinity],
];

test("f16 widening is exact for normals, subnormals, zeros and infinities", () => {
  const widened = f16ToF32(new Uint16Array(F16_KNOWN.map(([h]) => h)));
  F16_KNOWN.forEach(([h, value], i) => assert.ok(Object.is(widened[i], Math.fround(value)), `0x${h.toString(16)} -> ${widened[i]}, want ${value}`));
  const nan = f16ToF32(new Uint16Array([0x7e00, 0xfe01]));
  assert.ok(Number.isNaN(nan[0]) && Number.isNaN(nan[1]));
});

test("f16 narrowing inverts widening for every one of the 65,536 patterns (NaNs stay NaN)", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = f32ToF16(f16ToF32(all));
  for (let h = 0; h < 65536; h++) {
    const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    if (isNaN) assert.ok((back[h] & 0x7c00) === 0x7c00 && (back[h] & 0x3ff) !== 0, `NaN 0x${h.toString(16)}`);
    else assert.equal(back[h], h, `pattern 0x${h.toString(16)}`);
  }
});

test("f16 narrowing rounds to nearest even, saturates and flushes tiny values", () => {
  assert.equal(f32BitsToF16(bitsOf(1 + 2 ** -11)), 0x3c00, "tie between 1 and next rounds to even (1)");
  assert.equal(f32BitsToF16(bitsOf(1 + 3 * 2 ** -11)), 0x3c02, "tie rounds up to even");
  assert.equal(f32BitsToF16(bitsOf(1 + 2 ** -11 + 2 ** -20)), 0x3c01, "above the tie rounds up");
  assert.equal(f32BitsToF16(bitsOf(65520)), 0x7c00, "65520 rounds to Infinity");
  assert.equal(f32BitsToF16(bitsOf(65519)), 0x7bff, "65519 rounds to max finite");
  assert.equal(f32BitsToF16(bitsOf(1e10)), 0x7c00);
  assert.equal(f32BitsToF16(bitsOf(-1e10)), 0xfc00);
  assert.equal(f32BitsToF16(bitsOf(2 ** -25)), 0x0000, "half the smallest subnormal ties to even zero");
  assert.equal(f32BitsToF16(bitsOf(1.5 * 2 ** -25)), 0x0001);
  assert.equal(f32BitsToF16(bitsOf(3 * 2 ** -25)), 0x0002, "subnormal tie rounds to even");
  assert.equal(f32BitsToF16(bitsOf(2 ** -30)), 0x0000);
  assert.equal(f32BitsToF16(bitsOf(-(2 ** -30))), 0x8000);
  assert.equal(f32BitsToF16(bitsOf((2 ** -14) * (1 - 2 ** -12))), 0x0400, "largest subnormal + half rounds up into the normals");
});

test("bf16 widening places the bits in the high half; narrowing rounds to nearest even", () => {
  const widened = bf16ToF32(new Uint16Array([0x3f80, 0xc000, 0x7f80, 0xff80, 0x0001, 0x7fc0]));
  assert.deepEqual([...widened.subarray(0, 4)], [1, -2, Infinity, -Infinity]);
  assert.equal(widened[4], 2 ** -133, "bf16 subnormal");
  assert.ok(Number.isNaN(widened[5]));
  assert.equal(f32BitsToBf16(0x3f808000), 0x3f80, "tie rounds to even (down)");
  assert.equal(f32BitsToBf16(0x3f818000), 0x3f82, "tie rounds to even (up)");
  assert.equal(f32BitsToBf16(0x3f808001), 0x3f81);
  assert.equal(f32BitsToBf16(0x7f7fffff), 0x7f80, "max float rounds to Infinity");
  assert.equal(f32BitsToBf16(0x7f800001) & 0x7fc0, 0x7fc0, "signalling NaN stays NaN");
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = f32ToBf16(bf16ToF32(all));
  for (let h = 0; h < 65536; h++) {
    const isNaN = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
    if (!isNaN) assert.equal(back[h], h);
  }
});
