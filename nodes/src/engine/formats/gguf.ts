/**
 * Reads and writes GGUF version 3, the single-file format llama.cpp and Ollama load
 * (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md), little-endian throughout:
 *   u32 magic "GGUF" | u32 version 3 | u64 tensor count | u64 metadata count
 *   metadata: { string key, u32 value type, value }*
 *   tensor infos: { string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset }*
 *   padding to `general.alignment` (32), then the tensors' bytes, each starting at an aligned offset.
 * Strings are u64 length + UTF-8 bytes. `ne` lists dimensions innermost first, the reverse of a row-major
 * (PyTorch) shape: a Linear weight [out, in] has ne = [in, out]. Only F32 and F16 tensors are written or read:
 * what the engine computes in and what llama.cpp's converters emit without quantizing.
 */
import { open } from "node:fs/promises";
import { GgufFormatError } from "./errors.ts";
import { f16ToF32, f32ToF16 } from "./half-precision.ts";

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** GGUF metadata value types (gguf_type in ggml). */
export const GgufValueType = {
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9,
  UINT64: 10, INT64: 11, FLOAT64: 12,
} as const;
type ScalarType = Exclude<(typeof GgufValueType)[keyof typeof GgufValueType], 9>;

/** A metadata value with its GGUF type spelled out (JavaScript numbers do not say u32 from f32). */
export type GgufValue =
  | { type: ScalarType; value: number | bigint | boolean | string }
  | { type: typeof GgufValueType.ARRAY; itemType: ScalarType; value: readonly (number | bigint | boolean | string)[] };

export const gguf = {
  u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufValue => ({ type: GgufValueType.INT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value }),
  string: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
  strings: (value: readonly string[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value }),
  i32s: (value: readonly number[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value }),
};

/** ggml tensor types this module handles. */
export type GgufTensorType = "F32" | "F16";
const GGML_TYPE: Record<GgufTensorType, number> = { F32: 0, F16: 1 };
const TYPE_BYTES: Record<GgufTensorType, number> = { F32: 4, F16: 2 };

/** A tensor to write: row-major float32 data in `shape` (PyTorch order), stored as `type`. */
export interface GgufTensor {
  name: string;
  shape: readonly number[];
  type: GgufTensorType;
  data: Float32Array;
}

export interface GgufFile {
  metadata: Map<string, GgufValue>;
  tensors: GgufTensor[];
}

/** What `readGguf` returns: metadata values decoded to JavaScript values, tensors widened to float32. */
export interface ParsedGguf {
  version: number;
  metadata: Map<string, unknown>;
  tensors: Map<string, { shape: number[]; type: GgufTensorType; data: Float32Array }>;
}

/** The whole file as bytes (tests, small files). Large models go through `writeGgufFile`, which streams. */
export function encodeGguf(file: GgufFile): Uint8Array {
  const chunks = [...ggufChunks(file)];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** Writes the file chunk by chunk, so a model never needs a second copy of its weights in memory. */
export async function writeGgufFile(path: string, file: GgufFile): Promise<void> {
  const handle = await open(path, "w");
  try {
    for (const chunk of ggufChunks(file)) await handle.write(chunk);
  } finally {
    await handle.close();
  }
}

/** Header (padded to the alignment), then each tensor's bytes padded to the alignment. */
export function* ggufChunks(file: GgufFile): Generator<Uint8Array> {
  const alignment = alignmentOf(file.metadata);
  const names = new Set<string>();
  let offset = 0;
  const infos = file.tensors.map((tensor) => {
    checkTensor(tensor, names);
    const bytes = tensor.data.length * TYPE_BYTES[tensor.type];
    const info = { tensor, offset, bytes };
    offset += alignUp(bytes, alignment);
    return info;
  });

  const header = new ByteWriter();
  header.u32(GGUF_MAGIC);
  header.u32(GGUF_VERSION);
  header.u64(BigInt(file.tensors.length));
  header.u64(BigInt(file.metadata.size));
  for (const [key, value] of file.metadata) {
    header.string(key);
    header.value(key, value);
  }
  for (const { tensor, offset: at } of infos) {
    header.string(tensor.name);
    header.u32(tensor.shape.length);
    for (let d = tensor.shape.length - 1; d >= 0; d--) header.u64(BigInt(tensor.shape[d]));
    header.u32(GGML_TYPE[tensor.type]);
    header.u64(BigInt(at));
  }
  header.pad(alignment);
  yield header.bytes();

  for (const { tensor, bytes } of infos) {
    const encoded = tensor.type === "F32"
      ? new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength)
      : new Uint8Array(f32ToF16(tensor.data).buffer);
    yield HOST_IS_LITTLE_ENDIAN ? encoded : swapBytes(encoded, TYPE_BYTES[tensor.type]);
    const padding = alignUp(bytes, alignment) - bytes;
    if (padding > 0) yield new Uint8Array(padding);
  }
}

/** Parses a GGUF file written by anyone, decoding metadata and F32/F16 tensors (other tensor types are refused). */
export function readGguf(bytes: Uint8Array): ParsedGguf {
  const reader = new ByteReader(bytes);
  const magic = reader.u32();
  if (magic !== GGUF_MAGIC) throw new GgufFormatError(`does not start with "GGUF" (magic 0x${magic.toString(16)})`);
  const version = reader.u32();
  if (version !== 2 && version !== 3) throw new GgufFormatError(`has version ${version}; versions 2 and 3 are read`);
  const tensorCount = Number(reader.u64());
  const metadataCount = Number(reader.u64());
  const metadata = new Map<string, unknown>();
  for (let i = 0; i < metadataCount; i++) {
    const key = reader.string();
    metadata.set(key, reader.value(reader.u32()));
  }
  const alignment = (metadata.get("general.alignment") as number | undefined) ?? GGUF_DEFAULT_ALIGNMENT;
  const infos: { name: string; shape: number[]; type: GgufTensorType; offset: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = reader.string();
    const dims = reader.u32();
    const ne: number[] = [];
    for (let d = 0; d < dims; d++) ne.push(Number(reader.u64()));
    const ggmlType = reader.u32();
    const type = (Object.keys(GGML_TYPE) as GgufTensorType[]).find((t) => GGML_TYPE[t] === ggmlType);
    if (type === undefined) throw new GgufFormatError(`tensor "${name}" has ggml type ${ggmlType}; only F32 (0) and F16 (1) are read`);
    infos.push({ name, shape: ne.reverse(), type, offset: Number(reader.u64()) });
  }
  const dataStart = alignUp(reader.at, alignment);
  const tensors: ParsedGguf["tensors"] = new Map();
  for (const info of infos) {
    if (info.offset % alignment !== 0) throw new GgufFormatError(`tensor "${info.name}" starts at offset ${info.offset}, not a multiple of ${alignment}`);
    const count = info.shape.reduce((n, d) => n * d, 1);
    const begin = dataStart + info.offset;
    const end = begin + count * TYPE_BYTES[info.type];
    if (end > bytes.byteLength) throw new GgufFormatError(`tensor "${info.name}" runs past the end of the file (${end} > ${bytes.byteLength})`);
    const copy = bytes.slice(begin, end);
    const data = info.type === "F32" ? new Float32Array(copy.buffer) : f16ToF32(new Uint16Array(copy.buffer));
    tensors.set(info.name, { shape: info.shape, type: info.type, data });
  }
  return { version, metadata, tensors };
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapBytes(bytes: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += width) for (let b = 0; b < width; b++) out[i + b] = bytes[i + width - 1 - b];
  return out;
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

function alignmentOf(metadata: Map<string, GgufValue>): number {
  const given = metadata.get("general.alignment");
  if (given === undefined) return GGUF_DEFAULT_ALIGNMENT;
  const value = Number(given.value);
  if (given.type !== GgufValueType.UINT32 || !Number.isInteger(value) || value <= 0 || value % 8 !== 0) {
    throw new GgufFormatError(`general.alignment must be a u32 multiple of 8, got ${String(given.value)}`);
  }
  return value;
}

function checkTensor(tensor: GgufTensor, names: Set<string>): void {
  if (names.has(tensor.name)) throw new GgufFormatError(`tensor "${tensor.name}" is written twice`);
  names.add(tensor.name);
  // ggml_tensor's name field is 64 bytes including the terminating zero.
  if (new TextEncoder().encode(tensor.name).length > 63) throw new GgufFormatError(`tensor name "${tensor.name}" is longer than ggml's 63 bytes`);
  if (tensor.shape.length < 1 || tensor.shape.length > 4) throw new GgufFormatError(`tensor "${tensor.name}" has ${tensor.shape.length} dimensions; ggml allows 1 to 4`);
  const count = tensor.shape.reduce((n, d) => n * d, 1);
  if (count !== tensor.data.length) {
    throw new GgufFormatError(`tensor "${tensor.name}" has ${tensor.data.length} values but shape [${tensor.shape.join(", ")}] holds ${count}`);
  }
}

/** Appends little-endian values to a growing buffer. */
class ByteWriter {
  private buffer = new Uint8Array(1 << 16);
  private view = new DataView(this.buffer.buffer);
  private length = 0;

  bytes(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  u32(value: number): void {
    this.reserve(4).setUint32(this.length - 4, value, true);
  }

  u64(value: bigint): void {
    this.reserve(8).setBigUint64(this.length - 8, value, true);
  }

  string(value: string): void {
    const utf8 = new TextEncoder().encode(value);
    this.u64(BigInt(utf8.length));
    this.reserve(utf8.length);
    this.buffer.set(utf8, this.length - utf8.length);
  }

  pad(alignment: number): void {
    this.reserve(alignUp(this.length, alignment) - this.length);
  }

  value(key: string, value: GgufValue): void {
    this.u32(value.type);
    if (value.type === GgufValueType.ARRAY) {
      this.u32(value.itemType);
      this.u64(BigInt(value.value.length));
      for (const item of value.value) this.scalar(key, value.itemType, item);
    } else {
      this.scalar(key, value.type, value.value);
    }
  }

  private scalar(key: string, type: ScalarType, value: number | bigint | boolean | string): void {
    const wrong = (what: string) => new GgufFormatError(`metadata "${key}" must hold ${what}, got ${typeof value} ${String(value)}`);
    if (type === GgufValueType.STRING) {
      if (typeof value !== "string") throw wrong("a string");
      this.string(value);
      return;
    }
    if (type === GgufValueType.BOOL) {
      if (typeof value !== "boolean") throw wrong("a boolean");
      this.reserve(1).setUint8(this.length - 1, value ? 1 : 0);
      return;
    }
    if (type === GgufValueType.UINT64 || type === GgufValueType.INT64) {
      const big = BigInt(value as number | bigint);
      const view = this.reserve(8);
      if (type === GgufValueType.UINT64) view.setBigUint64(this.length - 8, big, true);
      else view.setBigInt64(this.length - 8, big, true);
      return;
    }
    if (typeof value !== "number") throw wrong("a number");
    const isFloat = type === GgufValueType.FLOAT32 || type === GgufValueType.FLOAT64;
    if (!isFloat && !Number.isInteger(value)) throw wrong("an integer");
    switch (type) {
      case GgufValueType.UINT8: this.reserve(1).setUint8(this.length - 1, value); break;
      case GgufValueType.INT8: this.reserve(1).setInt8(this.length - 1, value); break;
      case GgufValueType.UINT16: this.reserve(2).setUint16(this.length - 2, value, true); break;
      case GgufValueType.INT16: this.reserve(2).setInt16(this.length - 2, value, true); break;
      case GgufValueType.UINT32: this.reserve(4).setUint32(this.length - 4, value, true); break;
      case GgufValueType.INT32: this.reserve(4).setInt32(this.length - 4, value, true); break;
      case GgufValueType.FLOAT32: this.reserve(4).setFloat32(this.length - 4, value, true); break;
      case GgufValueType.FLOAT64: this.reserve(8).setFloat64(this.length - 8, value, true); break;
    }
  }

  /** Grows the buffer for `n` more bytes, advances the length and returns the view to write them through. */
  private reserve(n: number): DataView {
    if (this.length + n > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + n));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length += n;
    return this.view;
  }
}

/** Reads little-endian values, refusing to run past the end. */
class ByteReader {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  at = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): number {
    if (this.at + n > this.bytes.byteLength) throw new GgufFormatError(`ends inside its header (needed ${n} bytes at offset ${this.at})`);
    const at = this.at;
    this.at += n;
    return at;
  }

  u32(): number { return this.view.getUint32(this.need(4), true); }
  u64(): bigint { return this.view.getBigUint64(this.need(8), true); }

  string(): string {
    const length = Number(this.u64());
    const at = this.need(length);
    return new TextDecoder("utf-8", { fatal: true }).decode(this.bytes.subarray(at, at + length));
  }

  value(type: number): unknown {
    switch (type) {
      case GgufValueType.UINT8: return this.view.getUint8(this.need(1));
      case GgufValueType.INT8: return this.view.getInt8(this.need(1));
      case GgufValueType.UINT16: return this.view.getUint16(this.need(2), true);
      case GgufValueType.INT16: return this.view.getInt16(this.need(2), true);
      case GgufValueType.UINT32: return this.u32();
      case GgufValueType.INT32: return this.view.getInt32(this.need(4), true);
      case GgufValueType.FLOAT32: return this.view.getFloat32(this.need(4), true);
      case GgufValueType.BOOL: return this.view.getUint8(this.need(1)) !== 0;
      case GgufValueType.STRING: return this.string();
      case GgufValueType.UINT64: return this.u64();
      case GgufValueType.INT64: return this.view.getBigInt64(this.need(8), true);
      case GgufValueType.FLOAT64: return this.view.getFloat64(this.need(8), true);
      case GgufValueType.ARRAY: {
        const itemType = this.u32();
        const count = Number(this.u64());
        const items: unknown[] = [];
        for (let i = 0; i < count; i++) items.push(this.value(itemType));
        return items;
      }
      default: throw new GgufFormatError(`has metadata of unknown type ${type} at offset ${this.at - 4}`);
    }
  }
}
