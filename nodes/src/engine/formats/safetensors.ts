/**
 * Reads and writes the safetensors format (https://github.com/huggingface/safetensors):
 *   [u64 little-endian N][N bytes of JSON header][byte buffer]
 * The header maps each tensor name to { dtype, shape, data_offsets: [begin, end] } (offsets relative to
 * the byte buffer) plus an optional "__metadata__" string map. The engine computes in float32, so reading
 * widens F16 and BF16 and refuses every other dtype.
 */
import { SafetensorsFormatError, UnsupportedDtypeError } from "./errors.ts";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./half-precision.ts";

export type FloatDtype = "F32" | "F16" | "BF16";

/** A tensor as read: `dtype` is how it was stored, `data` is always float32, row-major in `shape`. */
export interface SafetensorsTensor {
  dtype: FloatDtype;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** A tensor to write; `dtype` overrides the file-wide default for this tensor. */
export interface TensorToWrite {
  shape: readonly number[];
  data: Float32Array;
  dtype?: FloatDtype;
}

export interface WriteSafetensorsOptions {
  metadata?: Record<string, string>;
  /** Storage dtype of tensors that do not name their own; F32 unless given. */
  dtype?: FloatDtype;
}

/** A header entry before its bytes are decoded. */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Where the byte buffer starts in the file: 8 + N. */
  dataStart: number;
}

/** Bytes per element of every dtype the format defines, so a file with other dtypes is still checked for size. */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};

const FLOAT_DTYPES: ReadonlySet<string> = new Set(["F32", "F16", "BF16"]);

/** The reference implementation refuses headers over 100 MB; so do we, before decoding them. */
const MAX_HEADER_BYTES = 100_000_000;

/** Decoding reinterprets bytes in place through typed arrays, which follow the host's byte order. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Parses and validates the header: lengths, entry fields, and offsets that tile the byte buffer exactly. */
export function readSafetensorsHeader(bytes: Uint8Array): SafetensorsHeader {
  return parseSafetensorsHeader(bytes, bytes.byteLength);
}

/** Bytes before the header JSON ends, from the 8-byte length at the start of a file (so a reader can fetch just the header). */
export function safetensorsHeaderBytes(first8: Uint8Array): number {
  if (first8.byteLength < 8) throw new SafetensorsFormatError(`file is ${first8.byteLength} bytes, too short for the 8-byte header length`, { size: first8.byteLength });
  return 8 + Number(new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true));
}

/**
 * Parses and validates the header from the file's first bytes (`prefix`, at least through the
 * header) and the file's size, so a large file can be read tensor by tensor instead of whole.
 */
export function parseSafetensorsHeader(prefix: Uint8Array, fileSize: number): SafetensorsHeader {
  const bytes = prefix;
  if (fileSize < 8 || bytes.byteLength < 8) {
    throw new SafetensorsFormatError(`file is ${fileSize} bytes, too short for the 8-byte header length`, { size: fileSize });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > fileSize || 8 + headerLength > bytes.byteLength) {
    throw new SafetensorsFormatError(`header length ${headerLength} does not fit in a ${fileSize}-byte file`, { headerLength, size: fileSize });
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (cause) {
    throw new SafetensorsFormatError(`header is not valid UTF-8 JSON: ${(cause as Error).message}`, { headerLength });
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new SafetensorsFormatError("header is not a JSON object", { headerLength });
  }

  const dataStart = 8 + headerLength;
  const dataLength = fileSize - dataStart;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = parseMetadata(value);
      continue;
    }
    entries.set(name, parseEntry(name, value, dataLength));
  }

  // Like the reference reader: sorted by offset, tensors must be back to back and cover the buffer exactly.
  const ordered = [...entries].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let expectedBegin = 0;
  for (const [name, entry] of ordered) {
    if (entry.begin !== expectedBegin) {
      const problem = entry.begin < expectedBegin ? "overlaps the previous tensor" : "leaves a gap after the previous tensor";
      throw new SafetensorsFormatError(`tensor "${name}" starts at ${entry.begin} and ${problem} (which ends at ${expectedBegin})`, { tensor: name, begin: entry.begin, previousEnd: expectedBegin });
    }
    expectedBegin = entry.end;
  }
  if (expectedBegin !== dataLength) {
    throw new SafetensorsFormatError(`tensors cover ${expectedBegin} bytes but the byte buffer holds ${dataLength}`, { covered: expectedBegin, dataLength });
  }
  return { entries, metadata, dataStart };
}

function parseMetadata(value: unknown): Record<string, string> {
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new SafetensorsFormatError("__metadata__ must be an object of strings", { metadata: value });
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") {
      throw new SafetensorsFormatError(`__metadata__ value "${key}" must be a string, got ${typeof item}`, { key, value: item });
    }
  }
  return { ...(value as Record<string, string>) };
}

function parseEntry(name: string, value: unknown, dataLength: number): SafetensorsEntry {
  const fail = (problem: string, details: Record<string, unknown> = {}): never => {
    throw new SafetensorsFormatError(`tensor "${name}" ${problem}`, { tensor: name, ...details });
  };
  if (value === null || typeof value !== "object") fail("has no header entry object");
  const { dtype, shape, data_offsets: offsets } = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof dtype !== "string") fail("has no dtype string", { dtype });
  const elementBytes = DTYPE_BYTES[dtype as string];
  if (elementBytes === undefined) fail(`has unknown dtype ${String(dtype)}`, { dtype });
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail("has a shape that is not a list of non-negative integers", { shape });
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail("has data_offsets that are not two non-negative integers", { data_offsets: offsets });
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin || end > dataLength) {
    fail(`has data_offsets [${begin}, ${end}] outside the ${dataLength}-byte buffer`, { begin, end, dataLength });
  }
  const elements = (shape as number[]).reduce((product, d) => product * d, 1);
  if (elements * elementBytes !== end - begin) {
    fail(`has shape [${(shape as number[]).join(", ")}] x ${dtype} = ${elements * elementBytes} bytes but data_offsets span ${end - begin}`, { shape, dtype, bytes: end - begin });
  }
  return { dtype: dtype as string, shape: [...(shape as number[])], begin, end };
}

/** Reads a whole safetensors file, widening every tensor to float32. */
export function readSafetensors(bytes: Uint8Array): SafetensorsFile {
  assertLittleEndianHost();
  const { entries, metadata, dataStart } = readSafetensorsHeader(bytes);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, entry] of entries) {
    if (!FLOAT_DTYPES.has(entry.dtype)) throw new UnsupportedDtypeError(name, entry.dtype);
    tensors.set(name, { dtype: entry.dtype as FloatDtype, shape: entry.shape, data: decodeTensor(bytes, dataStart, entry) });
  }
  return { tensors, metadata };
}

function decodeTensor(bytes: Uint8Array, dataStart: number, entry: SafetensorsEntry): Float32Array {
  // copy into a fresh, aligned buffer whatever the file's alignment, so the tensor owns its memory
  // (not bytes.slice(): on a Node Buffer that is a view of the whole file)
  const raw = new ArrayBuffer(entry.end - entry.begin);
  new Uint8Array(raw).set(bytes.subarray(dataStart + entry.begin, dataStart + entry.end));
  if (entry.dtype === "F32") return new Float32Array(raw);
  const halves = new Uint16Array(raw);
  return entry.dtype === "F16" ? f16ToF32(halves) : bf16ToF32(halves);
}

/**
 * Writes tensors as a safetensors file. Like the reference writer, tensors are laid out by dtype
 * alignment (widest first) then name, and the header is padded with spaces to a multiple of 8 bytes
 * so every tensor starts 8-byte aligned in the file.
 */
export function writeSafetensors(
  tensors: ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>,
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  assertLittleEndianHost();
  const defaultDtype = options.dtype ?? "F32";
  const items = (tensors instanceof Map ? [...tensors] : Object.entries(tensors)) as [string, TensorToWrite][];
  const planned = items.map(([name, tensor]) => {
    if (name === "__metadata__") throw new SafetensorsFormatError('"__metadata__" is reserved and cannot name a tensor', { tensor: name });
    const dtype = tensor.dtype ?? defaultDtype;
    if (!FLOAT_DTYPES.has(dtype)) throw new UnsupportedDtypeError(name, dtype);
    const elements = tensor.shape.reduce((product, d) => product * d, 1);
    if (!tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || elements !== tensor.data.length) {
      throw new SafetensorsFormatError(`tensor "${name}" has shape [${tensor.shape.join(", ")}] but ${tensor.data.length} values`, { tensor: name, shape: tensor.shape, length: tensor.data.length });
    }
    return { name, dtype, tensor, bytes: elements * DTYPE_BYTES[dtype] };
  });
  planned.sort((a, b) => DTYPE_BYTES[b.dtype] - DTYPE_BYTES[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const header: Record<string, unknown> = {};
  if (options.metadata !== undefined) header.__metadata__ = parseMetadata(options.metadata);
  let offset = 0;
  for (const item of planned) {
    header[item.name] = { dtype: item.dtype, shape: [...item.tensor.shape], data_offsets: [offset, offset + item.bytes] };
    offset += item.bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const dataStart = 8 + headerLength;

  const out = new Uint8Array(dataStart + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, dataStart);
  let position = dataStart;
  for (const item of planned) {
    out.set(encodeTensor(item.tensor.data, item.dtype), position);
    position += item.bytes;
  }
  return out;
}

function encodeTensor(data: Float32Array, dtype: string): Uint8Array {
  if (dtype === "F32") return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const halves = dtype === "F16" ? f32ToF16(data) : f32ToBf16(data);
  return new Uint8Array(halves.buffer);
}

function assertLittleEndianHost(): void {
  if (!HOST_IS_LITTLE_ENDIAN) {
    throw new SafetensorsFormatError("safetensors is little-endian and this host is big-endian; byte swapping is not implemented");
  }
}
