/**
 * The attribution record of one paid inference (schema "tributary.attribution/1"): which Datanet
 * contributions its output is attributed to, with what weight, and the evidence a verifier needs to
 * recompute those weights. Records are plain JSON: integers that may exceed 2^53 (ids, amounts) are
 * decimal strings, weights are integer parts per million, and gradients are base64 of little-endian
 * float32, so a record's canonical JSON (and hash) is the same wherever it is produced.
 */
import { keccak256, type Hex } from "viem";
import { canonicalHash, canonicalJson } from "./canonical-json.ts";
import { checkTokenId } from "./span-index.ts";

export const ATTRIBUTION_RECORD_SCHEMA = "tributary.attribution/2";

export interface RecordSpan {
  outputStart: number;
  length: number;
  tokens: number[];
  occurrences: number;
  contributions: { contributionId: string; count: number }[];
}

/** A run of consecutive output windows (k-grams) with the same evidence in the index (see matchWindows). */
export interface RecordWindowGroup {
  outputStart: number;
  windows: number;
  occurrences: number;
  contributions: { contributionId: string; count: number }[];
}

export interface RecordGradientCheckpoint {
  /** Optimizer step of the TracIn checkpoint. */
  step: number;
  learningRate: number;
  /** sha2-256 of the TracIn checkpoint file (the adapter at that step). */
  adapter: Hex;
  /** The output's projected gradient: base64 of `dims` little-endian float32 values. */
  outputGradient: string;
}

/**
 * The gradient half of the evidence and everything it was computed from, each input named by its
 * content digest, so a verifier fetches them and recomputes the output gradients bit for bit.
 */
export interface RecordGradientEvidence {
  /** sha2-256 of the adapter's gradient sketch file. */
  sketch: Hex;
  /** sha2-256 of the base model's weights file (model.safetensors). */
  baseModel: Hex;
  projection: { kind: "dense-rademacher" | "kronecker-rademacher"; seed: number; dims: number };
  /** T: the output (with the end of its prompt) is scored in one window of T + 1 tokens. */
  sequenceLength: number;
  /** K when the gradients cover the LoRA factors of the last K layers only (the sketch's provenance); absent: every layer. */
  lastLayers?: number;
  /** How the output's gradient is compared with the examples' (the sketch's provenance); absent: "dot". */
  similarity?: "dot" | "cosine";
  /**
   * Present when text that contributions of several accounts share (n-grams of n tokens held by ≥ minAccounts
   * accounts; the runs are in the sketch's provenance) is left out of the gradients' losses (shared-text.ts).
   */
  sharedText?: { n: number; minAccounts: number };
  /** The reproducible backend the output gradients were computed on ("reference" or "wasm-simd", the non-FMA build). */
  backend: "reference" | "wasm-simd";
  /** The prompt conditions the output's gradient: keccak256 of its token ids (like output.hash) and its length. */
  prompt: { hash: Hex; tokenCount: number };
  checkpoints: RecordGradientCheckpoint[];
}

export interface AttributionRecord {
  schema: typeof ATTRIBUTION_RECORD_SCHEMA;
  requestId: string;
  model: { id: string; cid: string };
  datanet: {
    id: string;
    version: number;
    /** The version's Merkle root (IDatanetRegistry.versionRoot), which the span index was built for. */
    root: Hex;
    /** sha2-256 of the span index file. */
    spanIndex: Hex;
  };
  output: {
    /** keccak256 of the output token ids as consecutive little-endian uint32 (see outputHash). */
    hash: Hex;
    tokenCount: number;
  };
  parameters: {
    minSpanLength: number;
    maxOccurrences: number;
    /** Tokens in the span index (N, separators included): the rarity of a span depends on it. */
    indexTokens: number;
    /** Requested share of span attribution, ppm. */
    mixPpm: number;
    /** Share actually applied (see mixWeights). */
    effectiveMixPpm: number;
    /** Gradient projection dims, 0 when no gradient attribution was run. */
    gradientDims: number;
    gradientAggregation: "mean";
  };
  /** By ascending contribution id (compared as integers); ppm > 0; sums to 1e6, or empty when nothing was attributed. */
  weights: { contributionId: string; ppm: number }[];
  evidence: {
    /** The maximal spans of the output found in the index (what was copied, for people to read). */
    spans: RecordSpan[];
    /** The output windows inside those spans, each looked up on its own: what span attribution credits. */
    windows: RecordWindowGroup[];
    gradient: RecordGradientEvidence | null;
  };
}

/** keccak256 over the output's token ids encoded as consecutive little-endian uint32. */
export function outputHash(tokens: ArrayLike<number>): Hex {
  const bytes = new Uint8Array(4 * tokens.length);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < tokens.length; i++) {
    checkTokenId(tokens[i], `output position ${i}`);
    view.setUint32(4 * i, tokens[i], true);
  }
  return keccak256(bytes);
}

export function serializeRecord(record: AttributionRecord): string {
  return canonicalJson(record);
}

export function recordHash(record: AttributionRecord): Hex {
  return canonicalHash(record);
}

/** The records file whose CID goes on-chain with a batch: the canonical JSON array of its records. */
export function serializeRecords(records: readonly AttributionRecord[]): string {
  return canonicalJson(records);
}

export function recordsHash(records: readonly AttributionRecord[]): Hex {
  return canonicalHash(records);
}

export function encodeFloat32Base64(values: Float32Array): string {
  const bytes = new Uint8Array(4 * values.length);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return Buffer.from(bytes).toString("base64");
}

export function decodeFloat32Base64(text: string): Float32Array {
  const bytes = Buffer.from(text, "base64");
  const values = new Float32Array(bytes.length >>> 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(4 * i, true);
  return values;
}
