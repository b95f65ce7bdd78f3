/**
 * Where a verifier gets the public data a batch is recomputed from. Kept behind this interface so
 * IPFS (by the CIDs on-chain) can feed it as well as files on disk. A method resolves to undefined
 * when the data does not exist; it throws only when the data exists but is malformed.
 */
import type { Hex } from "viem";
import type { DatanetManifest } from "./datanet-manifest.ts";
import type { GradientSketch } from "./gradient-influence.ts";
import type { SpanIndex } from "./span-index.ts";

export interface AttributionDataSource {
  /** The span index of the Datanet version with this Merkle root. */
  spanIndex(datanetRoot: Hex): Promise<SpanIndex | undefined>;
  /** The manifest of the Datanet version with this Merkle root. */
  manifest(datanetRoot: Hex): Promise<DatanetManifest | undefined>;
  /** The gradient sketch stored with the model (adapter) of this CID. */
  gradientSketch(modelCid: string): Promise<GradientSketch | undefined>;
  /**
   * Whether the model's attribution index document names a gradient sketch (undefined: not known), so that a
   * span-only record of it is a record whose gradient part was skipped. Without this method, a model counts as
   * having one when `gradientSketch` finds it.
   */
  namesGradientSketch?(modelCid: string): Promise<boolean | undefined>;
  /** The output token ids of a request, when the payer published them; lets a verifier check spans were not omitted. */
  outputTokens(requestId: string): Promise<Uint32Array | undefined>;
  /** The prompt token ids of a request, published with its output when the record has gradient evidence (the output's gradient is conditioned on it). */
  promptTokens(requestId: string): Promise<Uint32Array | undefined>;
}
