/**
 * Reads a model folder's weights straight into a backend's memory, tensor by tensor: no whole-file
 * buffer (Node's readFile stops at 2 GiB; a 1B-parameter checkpoint is bigger) and no float32 copy
 * of the checkpoint beside the one the engine keeps. With `keepHalf`, matrices stored as bf16 or f16
 * stay half precision in memory (HalfMatrix: the kernels convert them tile by tile), halving the
 * memory a model takes; vectors (norms) are always float32.
 */
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { HalfMatrix, WeightMatrix } from "../backend/backend.ts";
import type { LlamaConfig } from "../model/config.ts";
import { FolderFileError, SafetensorsFormatError, TensorMismatchError, UnsupportedDtypeError } from "./errors.ts";
import { bf16ToF32, f16ToF32 } from "./half-precision.ts";
import { checkLlamaTensors } from "./llama-tensors.ts";
import { parseSafetensorsHeader, safetensorsHeaderBytes, type SafetensorsEntry } from "./safetensors.ts";

/** Where the weights go: a backend (its alloc, allocHalf and free). */
export interface WeightAllocator {
  alloc(n: number): Float32Array;
  allocHalf(n: number, dtype: HalfMatrix["dtype"]): HalfMatrix;
  free(buffer: WeightMatrix): void;
}

export interface LoadWeightsOptions {
  /** Keep bf16/f16 matrices in half precision (default false: every tensor float32). */
  keepHalf?: boolean;
}

/** Model weights by Hugging Face name, float32 or (matrices, with keepHalf) half precision. */
export type ServingWeights = Map<string, WeightMatrix>;

const INDEX_FILE = "model.safetensors.index.json";
const SINGLE_FILE = "model.safetensors";
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export async function loadModelWeights(dir: string, config: LlamaConfig, target: WeightAllocator, { keepHalf = false }: LoadWeightsOptions = {}): Promise<ServingWeights> {
  if (!HOST_IS_LITTLE_ENDIAN) throw new SafetensorsFormatError("safetensors data is little-endian; this host is big-endian", {});
  const { files, weightMap } = await shardFiles(dir);
  const headers = new Map<string, { entries: Map<string, SafetensorsEntry>; dataStart: number }>();
  const shapes = new Map<string, number[]>();
  for (const file of files) {
    const header = await readHeader(join(dir, file));
    headers.set(file, header);
    for (const [name, entry] of header.entries) {
      if (weightMap !== null && weightMap[name] !== file) {
        throw new TensorMismatchError(name, `is in ${file} but ${INDEX_FILE} does not place it there`, { shard: file });
      }
      shapes.set(name, entry.shape);
    }
  }
  for (const [name, shard] of Object.entries(weightMap ?? {})) {
    if (!headers.get(shard)!.entries.has(name)) throw new TensorMismatchError(name, `is listed in ${INDEX_FILE} but missing from ${shard}`, { shard });
  }
  const dropped = new Set(checkLlamaTensors(config, shapes));
  const weights: ServingWeights = new Map();
  try {
    for (const file of files) {
      const { entries, dataStart } = headers.get(file)!;
      const handle = await open(join(dir, file), "r");
      try {
        for (const [name, entry] of entries) {
          if (dropped.has(name) || (name === "lm_head.weight" && config.tieWordEmbeddings)) continue;
          weights.set(name, await readTensor(handle, name, entry, dataStart, target, keepHalf && entry.shape.length === 2));
        }
      } finally {
        await handle.close();
      }
    }
  } catch (error) {
    for (const tensor of weights.values()) target.free(tensor);
    throw error;
  }
  return weights;
}

async function readTensor(
  handle: Awaited<ReturnType<typeof open>>, name: string, entry: SafetensorsEntry, dataStart: number, target: WeightAllocator, half: boolean,
): Promise<WeightMatrix> {
  const n = entry.shape.reduce((a, b) => a * b, 1);
  const position = dataStart + entry.begin;
  const readInto = async (bytes: Uint8Array) => {
    // A read may return fewer bytes than asked (large reads are capped by the OS): loop.
    for (let done = 0; done < bytes.byteLength;) {
      const { bytesRead } = await handle.read(bytes, done, Math.min(bytes.byteLength - done, 1 << 30), position + done);
      if (bytesRead === 0) throw new SafetensorsFormatError(`tensor "${name}" is truncated`, { tensor: name });
      done += bytesRead;
    }
  };
  if (entry.dtype === "F32") {
    const data = target.alloc(n);
    await readInto(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return data;
  }
  if (entry.dtype !== "BF16" && entry.dtype !== "F16") throw new UnsupportedDtypeError(name, entry.dtype);
  const dtype = entry.dtype === "BF16" ? "bf16" : "f16";
  if (half) {
    const matrix = target.allocHalf(n, dtype);
    await readInto(new Uint8Array(matrix.bits.buffer, matrix.bits.byteOffset, matrix.bits.byteLength));
    return matrix;
  }
  const bits = new Uint16Array(n);
  await readInto(new Uint8Array(bits.buffer));
  const data = target.alloc(n);
  if (dtype === "bf16") bf16ToF32(bits, data);
  else f16ToF32(bits, data);
  return data;
}

async function readHeader(path: string): Promise<{ entries: Map<string, SafetensorsEntry>; dataStart: number }> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (cause) {
    throw new FolderFileError(path, (cause as NodeJS.ErrnoException).code === "ENOENT" ? "is missing" : `cannot be read: ${(cause as Error).message}`);
  }
  try {
    const { size } = await handle.stat();
    if (size < 8) throw new SafetensorsFormatError(`${path} is ${size} bytes, too short for the 8-byte header length`, { size });
    const first = new Uint8Array(8);
    await handle.read(first, 0, 8, 0);
    // parseSafetensorsHeader reports a header length that does not fit the file.
    const prefix = new Uint8Array(Math.min(safetensorsHeaderBytes(first), size));
    await handle.read(prefix, 0, prefix.byteLength, 0);
    const { entries, dataStart } = parseSafetensorsHeader(prefix, size);
    return { entries, dataStart };
  } finally {
    await handle.close();
  }
}

/** The shard files, and the index's tensor → shard map when the checkpoint is sharded. */
async function shardFiles(dir: string): Promise<{ files: string[]; weightMap: Record<string, string> | null }> {
  let indexText: string;
  try {
    indexText = await readFile(join(dir, INDEX_FILE), "utf8");
  } catch {
    return { files: [SINGLE_FILE], weightMap: null };
  }
  let index: { weight_map?: unknown };
  try {
    index = JSON.parse(indexText);
  } catch (cause) {
    throw new FolderFileError(join(dir, INDEX_FILE), `is not valid JSON: ${(cause as Error).message}`);
  }
  const map = index.weight_map;
  if (map === null || typeof map !== "object" || Array.isArray(map)) throw new FolderFileError(join(dir, INDEX_FILE), 'has no "weight_map" object');
  const shards = new Set<string>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== "string" || shard.includes("/") || shard.includes("\\") || !shard.endsWith(".safetensors")) {
      throw new FolderFileError(join(dir, INDEX_FILE), `maps "${name}" to "${String(shard)}", which is not a .safetensors file in this folder`);
    }
    shards.add(shard);
  }
  return { files: [...shards].sort(), weightMap: map as Record<string, string> };
}
