/**
 * Recomputes an output's projected gradients for a verifier: fetches the base model and the TracIn
 * checkpoints a record names (by sha2-256 digest, checked), runs outputGradients on the backend the
 * record names, and returns what an honest node must have put in the record, bit for bit. Only
 * reproducible backends are accepted: the plain TypeScript reference backend and the wasm SIMD
 * backend without fused multiply-add (whose results do not depend on the host or thread count).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Hex } from "viem";
import type { Backend } from "../engine/backend/backend.ts";
import type { ScaledLlamaConfig } from "../engine/formats/llama-config.ts";
import { loadModelFolder, type ModelFolder } from "../engine/formats/model-folder.ts";
import { LlamaModel } from "../engine/model/llama.ts";
import { weightsOnBackend, type LlamaWeights } from "../engine/model/weights.ts";
import { contentDigest, decodeTracInCheckpoint, type TracInCheckpoint } from "../engine/train/tracin-checkpoint.ts";
import type { RecordGradientEvidence } from "./attribution-record.ts";
import { InvalidGradientSketchError, MissingDataError } from "./errors.ts";
import type { GradientSketchProvenance, OutputGradientCheckpoint } from "./gradient-influence.ts";
import { outputGradients } from "./output-gradients.ts";

export type ReproducibleBackendName = RecordGradientEvidence["backend"];

/** Where the recomputation's inputs come from, by digest (IPFS in a node, folders for the CLI). */
export interface GradientRecomputeSource {
  /** The base model whose weights file (model.safetensors) has this sha2-256 digest. */
  baseModel(digest: Hex): Promise<{ config: ScaledLlamaConfig; weights: LlamaWeights } | undefined>;
  /** The bytes of the TracIn checkpoint file with this sha2-256 digest. */
  tracinCheckpoint(digest: Hex): Promise<Uint8Array | undefined>;
}

export interface OutputGradientRequest {
  provenance: GradientSketchProvenance;
  backend: ReproducibleBackendName;
  prompt: ArrayLike<number>;
  output: ArrayLike<number>;
}

export interface OutputGradientRecomputer {
  /** Throws MissingDataError when an input cannot be fetched, InvalidGradientSketchError when one does not match its digest. */
  recompute(request: OutputGradientRequest): Promise<OutputGradientCheckpoint[]>;
}

/**
 * `backends` maps each reproducible backend name to an instance: { reference: createReferenceBackend() }
 * and/or { "wasm-simd": await createWasmBackend({ fusedMultiplyAdd: false }) }.
 */
export function createOutputGradientRecomputer(
  source: GradientRecomputeSource, backends: Partial<Record<ReproducibleBackendName, Backend>>,
): OutputGradientRecomputer {
  const models = new Map<string, Promise<LlamaModel>>();
  const checkpoints = new Map<string, Promise<TracInCheckpoint>>();

  const modelFor = (digest: Hex, backendName: ReproducibleBackendName): Promise<LlamaModel> => {
    const key = `${digest}:${backendName}`;
    let model = models.get(key);
    if (!model) {
      const backend = backends[backendName];
      if (!backend) {
        return Promise.reject(new MissingDataError(`The record's gradients were computed on the "${backendName}" backend, which this verifier was not given.`, { backend: backendName }));
      }
      model = source.baseModel(digest).then((base) => {
        if (!base) throw new MissingDataError(`No base model with weights digest ${digest}.`, { baseModel: digest });
        return new LlamaModel(base.config, weightsOnBackend(backend, base.weights), backend);
      });
      model.catch(() => models.delete(key));
      models.set(key, model);
    }
    return model;
  };

  const checkpointFor = (digest: Hex, config: ScaledLlamaConfig): Promise<TracInCheckpoint> => {
    let checkpoint = checkpoints.get(digest);
    if (!checkpoint) {
      checkpoint = source.tracinCheckpoint(digest).then((bytes) => {
        if (!bytes) throw new MissingDataError(`No TracIn checkpoint with digest ${digest}.`, { checkpoint: digest });
        const actual = contentDigest(bytes);
        if (actual !== digest) throw new InvalidGradientSketchError(`The TracIn checkpoint fetched for ${digest} has digest ${actual}.`, { checkpoint: digest, actual });
        return decodeTracInCheckpoint(bytes, config);
      });
      checkpoint.catch(() => checkpoints.delete(digest));
      checkpoints.set(digest, checkpoint);
    }
    return checkpoint;
  };

  return {
    async recompute({ provenance, backend, prompt, output }) {
      const model = await modelFor(provenance.baseModel, backend);
      const loaded = await Promise.all(provenance.checkpoints.map((c) => checkpointFor(c.digest, model.config)));
      return outputGradients(model, provenance, loaded, prompt, output);
    },
  };
}

const WEIGHTS_FILE = "model.safetensors";

/** sha2-256 of a model folder's weights file: the digest records and sketches name a base model by. */
export async function baseModelDigest(modelDir: string): Promise<Hex> {
  return contentDigest(await readFile(join(modelDir, WEIGHTS_FILE)));
}

/**
 * The Hugging Face model folder <modelsDir>/<digest>/ whose weights file has that sha2-256 digest (checked: a folder
 * under the name with other weights throws); undefined when there is none.
 */
export async function baseModelFolder(modelsDir: string, digest: Hex): Promise<ModelFolder | undefined> {
  const dir = join(modelsDir, digest.toLowerCase());
  let actual: Hex;
  try {
    actual = await baseModelDigest(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  if (actual !== digest.toLowerCase()) throw new InvalidGradientSketchError(`${dir}/${WEIGHTS_FILE} has digest ${actual}, not ${digest}.`, { baseModel: digest, actual });
  return loadModelFolder(dir);
}

/**
 * Folders: <modelsDir>/<digest>/ is a Hugging Face model folder (single model.safetensors) whose
 * weights file has that digest; <checkpointsDir>/<digest>.safetensors is a TracIn checkpoint.
 */
export function createFileGradientRecomputeSource(folders: { modelsDir: string; checkpointsDir: string }): GradientRecomputeSource {
  return {
    async baseModel(digest) {
      const folder = await baseModelFolder(folders.modelsDir, digest);
      return folder && { config: folder.config, weights: new Map([...folder.tensors].map(([name, t]) => [name, t.data])) };
    },
    async tracinCheckpoint(digest) {
      try {
        return await readFile(join(folders.checkpointsDir, `${digest.toLowerCase()}.safetensors`));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw error;
      }
    },
  };
}
