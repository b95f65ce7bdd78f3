/**
 * How a model's serving artifacts are laid out on IPFS, as the ModelRegistry's provenance names them
 * (`adapterCid`, `attributionIndexCid`). Each is a small JSON document (`json` codec) pointing at the files:
 *
 *   adapter            { schema: "tributary.adapter/1", format: "peft-lora", adapterConfig: {...}, weights: "<cid of adapter_model.safetensors>" }
 *   attribution index  { schema: "tributary.attribution-index/1", spanIndex: "<cid of the span index file (attribution/span-index-file.ts)>" }
 *
 * The training job's upload phase writes these (publishAdapter / publishAttributionIndex); the serving node
 * reads them. Every byte comes back verified against its CID by the ContentStore.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { CID } from "multiformats/cid";
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from "../engine/formats/peft-adapter.ts";
import { decodeGradientSketch } from "../attribution/gradient-sketch-file.ts";
import type { GradientSketch } from "../attribution/gradient-influence.ts";
import type { NullCalibration } from "../attribution/null-calibration.ts";
import { contentDigest } from "../engine/train/tracin-checkpoint.ts";
import type { AttributionIndexDocument } from "../jobs/phases/upload.ts";
import type { ContentStore } from "../storage/content-store.ts";
import { parseCid } from "../storage/helia-store.ts";

export const ADAPTER_ARTIFACT_SCHEMA = "tributary.adapter/1";
export const ATTRIBUTION_INDEX_ARTIFACT_SCHEMA = "tributary.attribution-index/1";

export interface AdapterArtifact {
  schema: typeof ADAPTER_ARTIFACT_SCHEMA;
  format: "peft-lora";
  adapterConfig: Record<string, unknown>;
  weights: string;
}

export interface AttributionIndexArtifact {
  schema: typeof ATTRIBUTION_INDEX_ARTIFACT_SCHEMA;
  spanIndex: string;
}

export class ArtifactFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArtifactFormatError";
  }
}

/** Stores a PEFT adapter folder: its weights as a file, then the document pointing at them. */
export async function publishAdapter(store: ContentStore, dir: string): Promise<CID> {
  const adapterConfig = JSON.parse(await readFile(join(dir, ADAPTER_CONFIG_FILE), "utf8")) as Record<string, unknown>;
  const weights = await store.addBytes(await readFile(join(dir, ADAPTER_WEIGHTS_FILE)));
  const artifact: AdapterArtifact = { schema: ADAPTER_ARTIFACT_SCHEMA, format: "peft-lora", adapterConfig, weights: weights.toString() };
  return store.addJson(artifact);
}

/** Stores an encoded span index (encodeSpanIndex) and the document pointing at it. */
export async function publishAttributionIndex(store: ContentStore, spanIndexBytes: Uint8Array): Promise<CID> {
  const spanIndex = await store.addBytes(spanIndexBytes);
  const artifact: AttributionIndexArtifact = { schema: ATTRIBUTION_INDEX_ARTIFACT_SCHEMA, spanIndex: spanIndex.toString() };
  return store.addJson(artifact);
}

export async function fetchAdapterArtifact(store: ContentStore, cid: string): Promise<{ adapterConfig: Record<string, unknown>; safetensors: Uint8Array }> {
  const artifact = await store.getJson<AdapterArtifact>(parseCid(cid));
  if (artifact?.schema !== ADAPTER_ARTIFACT_SCHEMA || artifact.format !== "peft-lora" || typeof artifact.weights !== "string" || typeof artifact.adapterConfig !== "object") {
    throw new ArtifactFormatError(`${cid} is not a ${ADAPTER_ARTIFACT_SCHEMA} document`);
  }
  return { adapterConfig: artifact.adapterConfig, safetensors: await store.get(parseCid(artifact.weights)) };
}

export async function fetchSpanIndexBytes(store: ContentStore, cid: string): Promise<Uint8Array> {
  const artifact = await store.getJson<AttributionIndexArtifact>(parseCid(cid));
  if (artifact?.schema !== ATTRIBUTION_INDEX_ARTIFACT_SCHEMA || typeof artifact.spanIndex !== "string") {
    throw new ArtifactFormatError(`${cid} is not a ${ATTRIBUTION_INDEX_ARTIFACT_SCHEMA} document`);
  }
  return store.get(parseCid(artifact.spanIndex));
}

/** A model's gradient sketch and the TracIn checkpoint files it was built at, in its provenance's order. */
export interface GradientArtifacts {
  sketch: GradientSketch;
  checkpoints: Uint8Array[];
  /** The model's calibrated thresholds, when its training job published them (docs/attribution.md §7.6). */
  calibration?: NullCalibration;
}

/** Whether the attribution index document names a gradient sketch (reads the document only, not the sketch). */
export async function namesGradientSketch(store: ContentStore, cid: string): Promise<boolean> {
  const document = await store.getJson<AttributionIndexDocument>(parseCid(cid));
  if (document?.schema !== ATTRIBUTION_INDEX_ARTIFACT_SCHEMA) throw new ArtifactFormatError(`${cid} is not a ${ATTRIBUTION_INDEX_ARTIFACT_SCHEMA} document`);
  return document.gradientSketch !== undefined;
}

/**
 * The gradient sketch and TracIn checkpoints the attribution index document names (a training job's upload phase
 * writes them when it built a sketch), each checked against its sha2-256 digest; undefined when the document names
 * no sketch (the model is attributed by span only).
 */
export async function fetchGradientArtifacts(store: ContentStore, cid: string): Promise<GradientArtifacts | undefined> {
  const document = await store.getJson<AttributionIndexDocument>(parseCid(cid));
  if (document?.schema !== ATTRIBUTION_INDEX_ARTIFACT_SCHEMA) throw new ArtifactFormatError(`${cid} is not a ${ATTRIBUTION_INDEX_ARTIFACT_SCHEMA} document`);
  const entry = document.gradientSketch;
  if (entry === undefined) return undefined;
  if (typeof entry.cid !== "string" || !Array.isArray(entry.checkpoints)) throw new ArtifactFormatError(`${cid}'s gradientSketch names no sketch file or checkpoints`);
  const fetchChecked = async (fileCid: string, digest: string, what: string): Promise<Uint8Array> => {
    const bytes = await store.get(parseCid(fileCid));
    const actual = contentDigest(bytes);
    if (actual !== digest) throw new ArtifactFormatError(`${what} ${fileCid} has digest ${actual}; ${cid} names ${digest}`);
    return bytes;
  };
  const sketch = decodeGradientSketch(await fetchChecked(entry.cid, entry.digest, "the gradient sketch"));
  const provenance = sketch.provenance;
  if (provenance === undefined) throw new ArtifactFormatError(`the gradient sketch of ${cid} names no provenance, so records attributed with it could not be verified`);
  if (provenance.checkpoints.length !== entry.checkpoints.length || provenance.checkpoints.some((c, i) => c.digest !== entry.checkpoints[i].digest)) {
    throw new ArtifactFormatError(`${cid} lists checkpoints other than the ones its gradient sketch was built at`);
  }
  const checkpoints = await Promise.all(entry.checkpoints.map((c) => fetchChecked(c.cid, c.digest, `TracIn checkpoint (step ${c.step})`)));
  const calibration = document.calibration;
  const thresholds = calibration?.methods;
  if (calibration !== undefined && !(["span", "gradient", "combined"] as const).every((m) => typeof thresholds?.[m]?.threshold === "number")) {
    throw new ArtifactFormatError(`${cid}'s calibration names no threshold for every method (span, gradient, combined)`);
  }
  return { sketch, checkpoints, ...(calibration !== undefined ? { calibration } : {}) };
}
