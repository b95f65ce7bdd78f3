/**
 * The public data a watcher recomputes records from, found through the chain and fetched from IPFS (every
 * block verified by its CID): a record's model names its span index (ModelRegistry provenance →
 * `attributionIndexCid`), its Datanet version names its manifest (DatanetRegistry `versionRoot` →
 * `manifestCid`), its model's attribution index document names its gradient sketch and TracIn checkpoints (each
 * checked against its digest). Nothing comes from the node being checked but the prompt and output tokens of records
 * with gradient evidence, which the settlement document publishes and the verifier checks against the record's
 * hashes before recomputing the output's gradient from them. Span-only records' output tokens are not published, so
 * spans a node omitted from them are not detected (the verifier says so per record). Whether each model's document
 * names a gradient sketch is read too, so a span-only record of a sketched model is reported (`gradient-missing`).
 */
import type { Address, Hex, PublicClient } from "viem";
import type { AttributionDataSource } from "../attribution/data-source.ts";
import { parseManifest, type DatanetManifest } from "../attribution/datanet-manifest.ts";
import { VERSION_ROOT_ABI } from "../attribution/datanet-version-reader.ts";
import { decodeSpanIndex } from "../attribution/span-index-file.ts";
import type { SpanIndex } from "../attribution/span-index.ts";
import type { AttributionRecord } from "../attribution/attribution-record.ts";
import type { ProtocolAbis } from "../chain/contracts.ts";
import type { GradientSketch } from "../attribution/gradient-influence.ts";
import type { GradientRecomputeSource } from "../attribution/recompute-output-gradients.ts";
import { fetchGradientArtifacts, fetchSpanIndexBytes, namesGradientSketch } from "../serve/artifacts.ts";
import { contentDigest } from "../engine/train/tracin-checkpoint.ts";
import { parseCid } from "../storage/index.ts";
import type { ContentStore } from "../storage/content-store.ts";

export interface ChainDataSourceInit {
  client: PublicClient;
  store: ContentStore;
  models: { address: Address; abi: ProtocolAbis["models"] };
  datanets: Address;
}

/**
 * Resolves the indexes and manifests the given records name, then answers from them. Data that cannot be
 * found (an unknown model, a CID nobody serves) is left out: the verifier reports those records as unverifiable.
 */
export async function createChainDataSource(
  init: ChainDataSourceInit, records: readonly AttributionRecord[], tokens: readonly { requestId: string; prompt: number[]; output: number[] }[] = [],
): Promise<AttributionDataSource & Pick<GradientRecomputeSource, "tracinCheckpoint">> {
  const indexes = new Map<string, SpanIndex>();
  const sketches = new Map<string, GradientSketch>();
  const checkpoints = new Map<string, Uint8Array>();
  const manifests = new Map<string, DatanetManifest>();
  /** Adapter CID → whether its attribution index document names a gradient sketch. */
  const sketched = new Map<string, boolean>();
  const models = new Set(records.map((r) => r.model.id));
  const withGradients = new Set(records.filter((r) => r.evidence?.gradient).map((r) => r.model.id));
  for (const modelId of models) {
    try {
      const provenance = (await init.client.readContract({ address: init.models.address, abi: init.models.abi, functionName: "getProvenance", args: [BigInt(modelId)] })) as {
        datanetRoot: Hex; artifacts: { adapterCid: string; attributionIndexCid: string };
      };
      const index = decodeSpanIndex(await fetchSpanIndexBytes(init.store, provenance.artifacts.attributionIndexCid));
      indexes.set(provenance.datanetRoot.toLowerCase(), index);
      sketched.set(provenance.artifacts.adapterCid, await namesGradientSketch(init.store, provenance.artifacts.attributionIndexCid));
      if (withGradients.has(modelId)) {
        const artifacts = await fetchGradientArtifacts(init.store, provenance.artifacts.attributionIndexCid);
        if (artifacts !== undefined) {
          sketches.set(provenance.artifacts.adapterCid, artifacts.sketch);
          for (const bytes of artifacts.checkpoints) checkpoints.set(contentDigest(bytes), bytes);
        }
      }
    } catch {
      // Unverifiable, not fatal: the records of this model are reported as such.
    }
  }
  const published = new Map(tokens.map((t) => [t.requestId, t]));
  const tokensOf = (requestId: string, part: "prompt" | "output"): Uint32Array | undefined => {
    const ids = published.get(requestId)?.[part];
    return Array.isArray(ids) && ids.every((id) => Number.isInteger(id) && id >= 0) ? Uint32Array.from(ids) : undefined;
  };
  const versions = new Map(records.map((r) => [`${r.datanet.id}:${r.datanet.version}`, r.datanet]));
  for (const datanet of versions.values()) {
    try {
      const [root, manifestCid] = await init.client.readContract({
        address: init.datanets, abi: VERSION_ROOT_ABI, functionName: "versionRoot", args: [BigInt(datanet.id), datanet.version],
      });
      manifests.set(root.toLowerCase(), parseManifest(await init.store.getJson(parseCid(manifestCid)), manifestCid));
    } catch {
      // As above.
    }
  }
  return {
    spanIndex: async (root) => indexes.get(root.toLowerCase()),
    manifest: async (root) => manifests.get(root.toLowerCase()),
    gradientSketch: async (modelCid) => sketches.get(modelCid),
    namesGradientSketch: async (modelCid) => sketched.get(modelCid),
    outputTokens: async (requestId) => tokensOf(requestId, "output"),
    promptTokens: async (requestId) => tokensOf(requestId, "prompt"),
    tracinCheckpoint: async (digest) => checkpoints.get(digest.toLowerCase()),
  };
}
