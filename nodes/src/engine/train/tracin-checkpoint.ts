/**
 * TracIn checkpoints: the adapter's factors at a chosen training step, with the learning rate
 * TracIn-CP weighs that step by. Each one is a single plain file so a node can put it on IPFS and a
 * verifier can fetch it by digest and recompute an output's gradient at exactly those parameters:
 *
 *   safetensors, PEFT's tensor names and layout (base_model.model.model.layers.{i}...lora_A.weight)
 *   __metadata__: format "pt", tributary_tracin "1", step, learning_rate (shortest round-trip
 *                 decimal of the float64), adapter_config (PEFT's adapter_config.json, as JSON text)
 *
 * The digest of a checkpoint is the sha2-256 of its bytes, written 0x-hex. Writing is
 * deterministic (safetensors orders tensors by name, the metadata is fixed), so the same adapter at
 * the same step always gives the same digest.
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readPeftAdapter, writePeftAdapter, peftKey } from "../formats/peft-adapter.ts";
import { readSafetensors, writeSafetensors, type TensorToWrite } from "../formats/safetensors.ts";
import { projectionShape } from "../formats/llama-tensors.ts";
import type { LlamaConfig } from "../model/config.ts";
import { fromPeftLayers, toPeftLayers } from "../lora/peft-layers.ts";
import { loraKey, type LoraAdapter } from "../lora/adapter.ts";
import { CheckpointError } from "./errors.ts";

export const TRACIN_CHECKPOINT_FORMAT = "1";

/** A TracIn checkpoint as written: where, and what a record or sketch names it by. */
export interface TracInCheckpointFile {
  step: number;
  learningRate: number;
  /** sha2-256 of the file's bytes, 0x-hex. */
  digest: `0x${string}`;
  /** Path of the file, when it was written to disk. */
  path?: string;
}

/** A TracIn checkpoint in memory. */
export interface TracInCheckpoint {
  step: number;
  learningRate: number;
  digest: `0x${string}`;
  adapter: LoraAdapter;
}

export function contentDigest(bytes: Uint8Array): `0x${string}` {
  return `0x${createHash("sha256").update(bytes).digest("hex")}`;
}

export const tracinCheckpointFileName = (step: number): string => `tracin-step-${String(step).padStart(8, "0")}.safetensors`;

export function encodeTracInCheckpoint(adapter: LoraAdapter, base: LlamaConfig, step: number, learningRate: number): Uint8Array {
  if (!Number.isSafeInteger(step) || step < 0) throw new CheckpointError(`A TracIn checkpoint's step must be a non-negative integer, got ${step}.`, { step });
  if (!Number.isFinite(learningRate) || learningRate <= 0) {
    throw new CheckpointError(`A TracIn checkpoint's learning rate must be a positive number (TracIn weighs the checkpoint by it), got ${learningRate}.`, { step, learningRate });
  }
  const { configJson } = writePeftAdapter(toPeftLayers(adapter, base.numLayers), base);
  const tensors = new Map<string, TensorToWrite>();
  for (let layer = 0; layer < base.numLayers; layer++) {
    for (const target of adapter.config.targetModules) {
      const factors = adapter.weights.get(loraKey(layer, target));
      if (!factors) continue;
      const [out, inp] = projectionShape(base, target);
      tensors.set(peftKey(layer, target, "A"), { shape: [adapter.config.rank, inp], data: factors.A });
      tensors.set(peftKey(layer, target, "B"), { shape: [out, adapter.config.rank], data: factors.B });
    }
  }
  const metadata = {
    format: "pt",
    tributary_tracin: TRACIN_CHECKPOINT_FORMAT,
    step: String(step),
    learning_rate: String(learningRate),
    adapter_config: JSON.stringify(configJson),
  };
  return writeSafetensors(tensors, { metadata, dtype: "F32" });
}

/** Reads a checkpoint written by encodeTracInCheckpoint, checking its shapes against the base model. */
export function decodeTracInCheckpoint(bytes: Uint8Array, base: LlamaConfig): TracInCheckpoint {
  const { metadata } = readSafetensors(bytes);
  const fail = (problem: string): never => {
    throw new CheckpointError(`Not a TracIn checkpoint: ${problem}.`, { metadata });
  };
  if (metadata.tributary_tracin !== TRACIN_CHECKPOINT_FORMAT) fail(`metadata tributary_tracin is ${JSON.stringify(metadata.tributary_tracin)}, expected "${TRACIN_CHECKPOINT_FORMAT}"`);
  const step = Number(metadata.step);
  const learningRate = Number(metadata.learning_rate);
  if (!Number.isSafeInteger(step) || step < 0 || String(step) !== metadata.step) fail(`step ${JSON.stringify(metadata.step)} is not a non-negative integer`);
  if (!Number.isFinite(learningRate) || learningRate <= 0) fail(`learning_rate ${JSON.stringify(metadata.learning_rate)} is not a positive number`);
  let configJson: unknown;
  try {
    configJson = JSON.parse(metadata.adapter_config ?? "");
  } catch {
    fail("adapter_config is not JSON");
  }
  const adapter = fromPeftLayers(readPeftAdapter(configJson, bytes, base));
  return { step, learningRate, digest: contentDigest(bytes), adapter };
}

/** Writes the checkpoint as `dir/tracin-step-<step>.safetensors` and returns its digest. */
export async function saveTracInCheckpoint(
  dir: string, adapter: LoraAdapter, base: LlamaConfig, step: number, learningRate: number,
): Promise<TracInCheckpointFile> {
  const bytes = encodeTracInCheckpoint(adapter, base, step, learningRate);
  await mkdir(dir, { recursive: true });
  const path = join(dir, tracinCheckpointFileName(step));
  await writeFile(path, bytes);
  return { step, learningRate, digest: contentDigest(bytes), path };
}
