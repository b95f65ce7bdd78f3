import { test } from "node:test";
import assert from "node:assert/strict";
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from "../../../../nodes/src/engine/formats/safetensors.ts";
import { SafetensorsFormatError, UnsupportedDtypeError } from "../../../../nodes/src/engine/formats/errors.ts";

/** Builds a file by hand, as the spec lays it out, so the reader is not only checked against our writer. */
function handBuilt(header: Record<string, unknown>, data: Uint8Array, padTo = 8): Uint8Array {
  let json = JSON.stringify(header);
  while ((json.length % padTo) !== 0) json += " ";
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.length);
  return out;
}

const f32Bytes = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

test("reads a hand-built file with F32, F16 and BF16 tensors and metadata", () => {
  const data = new Uint8Array([...f32Bytes([1, -2]), 0x00, 0x3c, 0x00, 0xc0, 0x80, 0x3f, 0x80, 0x7f]);
  const bytes = handBuilt({
    __metadata__: { format: "pt" },
    a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
    h: { dtype: "F16", shape: [1, 2], data_offsets: [8, 12] },
    b: { dtype: "BF16", shape: [2], data_offsets: [12, 16] },
  }, data, 3);
  const file = readSafetensors(bytes);
  assert.deepEqual(file.metadata, { format: "pt" });
  assert.deepEqual([...file.tensors.get("a")!.data], [1, -2]);
  assert.deepEqual(file.tensors.get("h"), { dtype: "F16", shape: [1, 2], data: new Float32Array([1, -2]) });
  assert.deepEqual([...file.tensors.get("b")!.data], [1, Infinity]);
});

test("writes what the reference writer writes: sorted by dtype width then name, header space-padded to 8", () => {
  const bytes = writeSafetensors({
    z: { shape: [1], data: new Float32Array([3]) },
    a: { shape: [2], data: new Float32Array([1, 2]) },
    half: { shape: [1], data: new Float32Array([1]), dtype: "F16" },
  }, { metadata: { format: "pt" } });
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLength % 8, 0);
  const json = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
  assert.equal(json, JSON.stringify({
    __metadata__: { format: "pt" },
    a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
    z: { dtype: "F32", shape: [1], data_offsets: [8, 12] },
    half: { dtype: "F16", shape: [1], data_offsets: [12, 14] },
  }).padEnd(headerLength, " "));
  assert.deepEqual([...bytes.subarray(8 + headerLength)], [...f32Bytes([1, 2, 3]), 0x00, 0x3c]);
});

test("round-trips f32 exactly and f16/bf16 to within their precision", () => {
  const values = new Float32Array(1000).map((_, i) => Math.sin(i) * 100);
  for (const dtype of ["F32", "F16", "BF16"] as const) {
    const back = readSafetensors(writeSafetensors(new Map([["w", { shape: [10, 100], data: values }]]), { dtype })).tensors.get("w")!;
    assert.equal(back.dtype, dtype);
    assert.deepEqual(back.shape, [10, 100]);
    const tolerance = { F32: 0, F16: 2 ** -11, BF16: 2 ** -8 }[dtype];
    values.forEach((v, i) => assert.ok(Math.abs(back.data[i] - v) <= Math.abs(v) * tolerance, `${dtype}[${i}]`));
  }
  const empty = readSafetensors(writeSafetensors({}));
  assert.equal(empty.tensors.size, 0);
});

test("reads a tensor that is not 4-byte aligned in the file", () => {
  const file = readSafetensors(handBuilt({ h: { dtype: "F16", shape: [1], data_offsets: [0, 2] }, a: { dtype: "F32", shape: [1], data_offsets: [2, 6] } }, new Uint8Array([0, 0x3c, ...f32Bytes([5])]), 1));
  assert.deepEqual([...file.tensors.get("a")!.data], [5]);
});

test("refuses unsupported dtypes naming the tensor and dtype", () => {
  const bytes = handBuilt({ ids: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8));
  assert.throws(() => readSafetensors(bytes), (e: unknown) => e instanceof UnsupportedDtypeError && e.tensor === "ids" && e.dtype === "I64" && /ids.*I64/.test(e.message));
  assert.throws(() => writeSafetensors({ x: { shape: [1], data: new Float32Array(1), dtype: "F64" as "F32" } }), UnsupportedDtypeError);
});

test("refuses malformed files with errors that say what is wrong", () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ["too short", new Uint8Array(4), /too short/],
    ["header longer than file", (() => { const b = new Uint8Array(16); b[0] = 200; return b; })(), /header length 200/],
    ["not JSON", handBuilt({}, new Uint8Array()).map((b, i) => (i === 8 ? 0x41 : b)), /not valid UTF-8 JSON/],
    ["not an object", (() => { const b = new Uint8Array(8 + 8); b[0] = 8; b.set(new TextEncoder().encode("[1]     "), 8); return b; })(), /not a JSON object/],
    ["offsets outside", handBuilt({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), /outside the 4-byte buffer/],
    ["size mismatch", handBuilt({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /shape \[3\] x F32 = 12 bytes but data_offsets span 8/],
    ["overlap", handBuilt({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /"b" starts at 4 and overlaps/],
    ["gap", handBuilt({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /leaves a gap/],
    ["trailing bytes", handBuilt({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)), /cover 4 bytes but the byte buffer holds 8/],
    ["bad shape", handBuilt({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /shape that is not a list/],
    ["bad offsets", handBuilt({ a: { dtype: "F32", shape: [1], data_offsets: [0] } }, new Uint8Array(4)), /data_offsets that are not two/],
    ["unknown dtype", handBuilt({ a: { dtype: "Q4", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /unknown dtype Q4/],
    ["bad metadata", handBuilt({ __metadata__: { n: 1 } }, new Uint8Array()), /__metadata__ value "n" must be a string/],
  ];
  for (const [label, bytes, message] of cases) {
    assert.throws(() => readSafetensorsHeader(bytes), (e: unknown) => e instanceof SafetensorsFormatError && message.test(e.message), label);
  }
});

test("refuses to write tensors whose data does not match their shape or a reserved name", () => {
  assert.throws(() => writeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }), /shape \[2, 2\] but 3 values/);
  assert.throws(() => writeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } }), /reserved/);
});

test("reads and writes a 100 MB file in well under a few seconds", () => {
  const values = new Float32Array(25_000_000).map((_, i) => i % 1000);
  let start = performance.now();
  const bytes = writeSafetensors({ big: { shape: [5000, 5000], data: values } });
  const writeMs = performance.now() - start;
  start = performance.now();
  const back = readSafetensors(bytes).tensors.get("big")!.data;
  const readMs = performance.now() - start;
  assert.equal(back[24_999_999], 999);
  start = performance.now();
  const half = readSafetensors(writeSafetensors({ big: { shape: [5000, 5000], data: values } }, { dtype: "BF16" }));
  const bf16Ms = performance.now() - start;
  assert.equal(half.tensors.get("big")!.data[512], 512, "512 is exact in bf16");
  console.log(`100 MB f32: write ${writeMs.toFixed(0)} ms, read ${readMs.toFixed(0)} ms; 50 MB bf16 write+read ${bf16Ms.toFixed(0)} ms`);
  assert.ok(readMs < 3000 && writeMs < 3000);
});
