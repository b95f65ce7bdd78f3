/**
 * The `upload` phase: puts the job's results on IPFS (stored and pinned), records each as an artifact of the job,
 * and returns the three CIDs `submitResult` puts on-chain. The two documents are the ones a serving node reads
 * (nodes/src/serve/artifacts.ts):
 *   adapterCid           { schema: "tributary.adapter/1", format: "peft-lora", adapterConfig, weights: <cid of
 *                        adapter_model.safetensors> } over the train phase's PEFT folder
 *   evaluationCid        the evaluation report file
 *   attributionIndexCid  { schema: "tributary.attribution-index/1", spanIndex: <cid>, spanIndexDigest,
 *                        files: { name: { cid, byteSize, digest } }, gradientSketch?: { file, cid, digest, projection,
 *                        sequenceLength, lastLayers?, similarity?, sharedText?: { n, minAccounts, runs }, baseModel, checkpoints: [{ step, learningRate, digest, file, cid }] },
 *                        calibration?: the evaluate phase's null calibration (per-method thresholds) }:
 *                        the span index, and every other attribution file (gradient sketch, TracIn checkpoints
 *                        when training kept them), each with its sha2-256 digest (what attribution records name
 *                        them by), and the sketch's provenance: what a watcher needs to recompute a record
 */
import { readFile } from "node:fs/promises";
import type { Hex } from "viem";
import { basename, join, resolve } from "node:path";
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from "../../engine/formats/peft-adapter.ts";
import { contentDigest } from "../../engine/train/tracin-checkpoint.ts";
import { ADAPTER_ARTIFACT_SCHEMA, ATTRIBUTION_INDEX_ARTIFACT_SCHEMA, type AdapterArtifact, type AttributionIndexArtifact } from "../../serve/artifacts.ts";
import type { ContentStore } from "../../storage/content-store.ts";
import type { EvaluateOutput, PhaseHandler, SketchOutput, TrainOutput, UploadOutput } from "../pipeline.ts";
import type { NullCalibration } from "../../attribution/null-calibration.ts";
import type { EngineEvaluateOutput, EngineSketchOutput } from "./engine-phases.ts";
import { JobDataError } from "./fetch-verify.ts";

/** The sketch phase's file that serving needs: the encoded span index. */
export const SPAN_INDEX_FILE = "span-index";

export interface StoredFile {
  cid: string;
  byteSize: number;
  /** sha2-256 of the file's bytes, 0x-hex. */
  digest: Hex;
}

/** The gradient sketch and everything it was computed from, each file by name, CID and digest. */
export interface GradientSketchEntry {
  file: string;
  cid: string;
  digest: Hex;
  projection: { kind: "dense-rademacher" | "kronecker-rademacher"; seed: number; dims: number };
  sequenceLength: number;
  /** K when the gradients cover the last K layers' LoRA factors only; absent: every layer. */
  lastLayers?: number;
  /** How outputs are compared with the examples ("dot" when absent). */
  similarity?: "dot" | "cosine";
  /** Text several accounts share left out of the gradients' losses: its n, threshold and how many runs (the runs are in the sketch file). */
  sharedText?: { n: number; minAccounts: number; runs: number };
  /** sha2-256 of the base model's model.safetensors. */
  baseModel: Hex;
  checkpoints: { step: number; learningRate: number; digest: Hex; file: string; cid: string }[];
}

/** Serving's document, plus every attribution file by name (the span index among them) and the sketch's provenance. */
export interface AttributionIndexDocument extends AttributionIndexArtifact {
  spanIndexDigest: Hex;
  files: Record<string, StoredFile>;
  gradientSketch?: GradientSketchEntry;
  /** The model's null calibration (per-method thresholds, docs/attribution.md §7.6), from the evaluate phase. */
  calibration?: NullCalibration;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined || value === null) throw new JobDataError(`the upload phase needs ${what}, which no earlier phase produced`);
  return value;
}

export function uploadPhase({ store }: { store: ContentStore }): PhaseHandler {
  return async ({ workDir, outputs, recordArtifact, logger }) => {
    const train = need(outputs.train as TrainOutput | undefined, "the train phase's adapterDir");
    const evaluation = need(outputs.evaluate as EvaluateOutput | undefined, "the evaluate phase's reportPath");
    const sketch = need(outputs.sketch as SketchOutput | undefined, "the sketch phase's files");
    const at = (path: string) => resolve(workDir, path);
    const readOrFail = (path: string) => readFile(path).catch((error: NodeJS.ErrnoException) => {
      throw new JobDataError(`cannot read ${path} to upload (${error.code ?? error.message})`);
    });
    const addFile = async (path: string, kind: string): Promise<StoredFile> => {
      const bytes = await readOrFail(path);
      const cid = (await store.addBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))).toString();
      recordArtifact({ cid, kind });
      return { cid, byteSize: bytes.byteLength, digest: contentDigest(bytes) };
    };
    const addDocument = async (document: AdapterArtifact | AttributionIndexDocument, kind: string): Promise<string> => {
      const cid = (await store.addJson(document)).toString();
      recordArtifact({ cid, kind });
      return cid;
    };

    const adapterDir = at(need(train.adapterDir, "the train phase's adapterDir"));
    let adapterConfig: Record<string, unknown>;
    try {
      adapterConfig = JSON.parse((await readOrFail(join(adapterDir, ADAPTER_CONFIG_FILE))).toString("utf8")) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof JobDataError) throw error;
      throw new JobDataError(`${join(adapterDir, ADAPTER_CONFIG_FILE)} is not JSON: ${(error as Error).message}`);
    }
    const weights = await addFile(join(adapterDir, ADAPTER_WEIGHTS_FILE), "adapter-weights");
    const adapterCid = await addDocument({ schema: ADAPTER_ARTIFACT_SCHEMA, format: "peft-lora", adapterConfig, weights: weights.cid }, "adapter");

    const evaluationCid = (await addFile(at(evaluation.reportPath), "evaluation")).cid;

    const files: Record<string, StoredFile> = {};
    for (const [name, path] of Object.entries(sketch.files)) files[name] = await addFile(at(path), "attribution-file");
    for (const [name, path] of Object.entries(train.checkpointFiles ?? {})) files[`checkpoints/${basename(name)}`] = await addFile(at(path), "tracin-checkpoint");
    const spanIndex = files[SPAN_INDEX_FILE];
    if (!spanIndex) throw new JobDataError(`the sketch phase returned no "${SPAN_INDEX_FILE}" file (it returned ${Object.keys(sketch.files).join(", ") || "none"})`);
    const document: AttributionIndexDocument = { schema: ATTRIBUTION_INDEX_ARTIFACT_SCHEMA, spanIndex: spanIndex.cid, spanIndexDigest: spanIndex.digest, files };
    const built = (sketch as Partial<EngineSketchOutput>).gradientSketch;
    if (built) {
      const sketchFile = files[built.file];
      if (!sketchFile) throw new JobDataError(`the sketch phase names gradient sketch file "${built.file}" but did not return it`);
      if (sketchFile.digest !== built.digest) throw new JobDataError(`${built.file} changed after the sketch phase (digest ${sketchFile.digest}, built ${built.digest})`);
      const byDigest = new Map(Object.entries(files).filter(([name]) => name.startsWith("checkpoints/")).map(([name, f]) => [f.digest, { name, ...f }]));
      document.gradientSketch = {
        file: built.file, cid: sketchFile.cid, digest: sketchFile.digest, projection: built.provenance.projection,
        sequenceLength: built.provenance.sequenceLength, baseModel: built.provenance.baseModel,
        ...(built.provenance.lastLayers !== undefined ? { lastLayers: built.provenance.lastLayers } : {}),
        ...(built.provenance.similarity !== undefined ? { similarity: built.provenance.similarity } : {}),
        ...(built.provenance.sharedText !== undefined
          ? { sharedText: { n: built.provenance.sharedText.n, minAccounts: built.provenance.sharedText.minAccounts, runs: built.provenance.sharedText.runs.length } }
          : {}),
        checkpoints: built.provenance.checkpoints.map((c) => {
          const stored = byDigest.get(c.digest);
          if (!stored) throw new JobDataError(`the gradient sketch was built at TracIn checkpoint ${c.digest} (step ${c.step}), which the train phase did not keep`);
          return { step: c.step, learningRate: c.learningRate, digest: c.digest, file: stored.name, cid: stored.cid };
        }),
      };
    }
    const calibration = (evaluation as Partial<EngineEvaluateOutput>).calibration;
    if (calibration) document.calibration = calibration;
    const attributionIndexCid = await addDocument(document, "attribution-index");

    logger.info({ adapterCid, evaluationCid, attributionIndexCid }, "results stored and pinned");
    return { adapterCid, evaluationCid, attributionIndexCid } satisfies UploadOutput;
  };
}
