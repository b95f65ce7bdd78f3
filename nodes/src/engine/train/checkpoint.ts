import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CheckpointError } from "./errors.ts";
import type { DataOrderState } from "./data.ts";

/**
 * A training checkpoint on disk, everything a resumed run needs to continue bit for bit:
 *   trainer-state.json    step, data order (RNG state + cursor), optimizer step, tensor index
 *   tensors-<step>.bin    float32 little-endian: each trainable tensor, then its AdamW m and v
 * The tensor file is written first under its own name, then the state file is replaced by an
 * atomic rename: a crash at any point leaves a state file that names a complete tensor file.
 * Older tensor files are removed after. The adapter's PEFT export (formats/peft-adapter) is
 * separate, for serving.
 */
export const CHECKPOINT_FORMAT = "tributary-trainer-checkpoint/1";
const STATE_FILE = "trainer-state.json";
const TENSOR_FILE = /^tensors-\d+\.bin$/;

export interface CheckpointTensor {
  name: string;
  data: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

export interface CheckpointState {
  step: number;
  optimizerStep: number;
  dataOrder: DataOrderState;
}

interface TensorEntry { name: string; length: number; offset: number }

export async function saveCheckpoint(dir: string, state: CheckpointState, tensors: readonly CheckpointTensor[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const index: TensorEntry[] = [];
  let offset = 0;
  for (const t of tensors) {
    index.push({ name: t.name, length: t.data.length, offset });
    offset += 3 * t.data.length;
  }
  const all = new Float32Array(offset);
  tensors.forEach((t, i) => {
    const at = index[i].offset;
    all.set(t.data, at);
    all.set(t.m, at + t.data.length);
    all.set(t.v, at + 2 * t.data.length);
  });
  const bytes = new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) throw new CheckpointError("Checkpoints are little-endian; this machine is big-endian.");
  const tensorFile = `tensors-${state.step}.bin`;
  await writeFile(join(dir, tensorFile), bytes);
  await writeFile(join(dir, `${STATE_FILE}.tmp`), JSON.stringify({ format: CHECKPOINT_FORMAT, ...state, tensorFile, tensors: index }, null, 2));
  await rename(join(dir, `${STATE_FILE}.tmp`), join(dir, STATE_FILE));
  for (const name of await readdir(dir)) {
    if (TENSOR_FILE.test(name) && name !== tensorFile) await rm(join(dir, name), { force: true });
  }
}

/** Reads a checkpoint into the given tensors (same names and sizes, in the same order) and returns its state. */
export async function loadCheckpoint(dir: string, tensors: readonly CheckpointTensor[]): Promise<CheckpointState> {
  let json: { format?: string; step: number; optimizerStep: number; dataOrder: DataOrderState; tensorFile: string; tensors: TensorEntry[] };
  let bytes: Buffer;
  try {
    json = JSON.parse(await readFile(join(dir, STATE_FILE), "utf8"));
    if (typeof json.tensorFile !== "string" || !TENSOR_FILE.test(json.tensorFile)) throw new Error(`${STATE_FILE} names no tensor file`);
    bytes = await readFile(join(dir, json.tensorFile));
  } catch (cause) {
    throw new CheckpointError(`Cannot read a checkpoint in ${dir}: ${(cause as Error).message}`, { dir });
  }
  if (json.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${dir} holds format "${json.format}", expected "${CHECKPOINT_FORMAT}".`, { dir });
  if (json.tensors.length !== tensors.length) {
    throw new CheckpointError(`Checkpoint has ${json.tensors.length} tensors, the model being resumed has ${tensors.length}.`, { dir });
  }
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  json.tensors.forEach((entry, i) => {
    const t = tensors[i];
    if (entry.name !== t.name || entry.length !== t.data.length) {
      throw new CheckpointError(`Checkpoint tensor ${i} is "${entry.name}" [${entry.length}], the model has "${t.name}" [${t.data.length}].`, { dir, index: i });
    }
    if (entry.offset + 3 * entry.length > all.length) throw new CheckpointError(`${json.tensorFile} is truncated at tensor "${entry.name}".`, { dir });
    t.data.set(all.subarray(entry.offset, entry.offset + entry.length));
    t.m.set(all.subarray(entry.offset + entry.length, entry.offset + 2 * entry.length));
    t.v.set(all.subarray(entry.offset + 2 * entry.length, entry.offset + 3 * entry.length));
  });
  return { step: json.step, optimizerStep: json.optimizerStep, dataOrder: json.dataOrder };
}
