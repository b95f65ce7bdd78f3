/**
 * The public data a watcher recomputes records from, found through the chain and fetched from IPFS (every
 * block verified by its CID): a record's model names its span index (ModelRegistry provenance →
 * `attributionIndexCid`), its Datanet version names its manifest (DatanetRegistry `versionRoot` →
 * `manifestCid`). Nothing comes from the node being checked. Output and prompt tokens are not published by
 * payers yet, so spans a node omitted are not detected (the verifier says so per record).
 */
import type { Address, Hex, PublicClient } from "viem";
import type { AttributionDataSource } from "../attribution/data-source.ts";
import { parseManifest, type DatanetManifest } from "../attribution/datanet-manifest.ts";
import { VERSION_ROOT_ABI } from "../attribution/datanet-version-reader.ts";
import { decodeSpanIndex } from "../attribution/span-index-file.ts";
import type { SpanIndex } from "../attribution/span-index.ts";
import type { AttributionRecord } from "../attribution/attribution-record.ts";
import type { ProtocolAbis } from "../chain/contracts.ts";
import { fetchSpanIndexBytes } from "../serve/artifacts.ts";
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
export async function createChainDataSource(init: ChainDataSourceInit, records: readonly AttributionRecord[]): Promise<AttributionDataSource> {
  const indexes = new Map<string, SpanIndex>();
  const manifests = new Map<string, DatanetManifest>();
  const models = new Set(records.map((r) => r.model.id));
  for (const modelId of models) {
    try {
      const provenance = (await init.client.readContract({ address: init.models.address, abi: init.models.abi, functionName: "getProvenance", args: [BigInt(modelId)] })) as {
        datanetRoot: Hex; artifacts: { attributionIndexCid: string };
      };
      const index = decodeSpanIndex(await fetchSpanIndexBytes(init.store, provenance.artifacts.attributionIndexCid));
      indexes.set(provenance.datanetRoot.toLowerCase(), index);
    } catch {
      // Unverifiable, not fatal: the records of this model are reported as such.
    }
  }
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
    gradientSketch: async () => undefined,
    outputTokens: async () => undefined,
    promptTokens: async () => undefined,
  };
}
