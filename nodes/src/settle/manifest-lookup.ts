/**
 * Finds the manifest of the Datanet version a record names: the DatanetRegistry's `versionRoot` gives the
 * manifest's CID, IPFS gives the manifest (verified by CID), and the batch builder checks it hashes to the
 * version's root before any contributor account is paid. Manifests are immutable, so each is read once.
 */
import type { Address, PublicClient } from "viem";
import { parseManifest, type DatanetManifest } from "../attribution/datanet-manifest.ts";
import { VERSION_ROOT_ABI } from "../attribution/datanet-version-reader.ts";
import { parseCid } from "../storage/index.ts";
import type { ContentStore } from "../storage/content-store.ts";
import type { ManifestLookup } from "./settlement-scheduler.ts";

export function createManifestLookup(client: Pick<PublicClient, "readContract">, datanets: Address, store: ContentStore): ManifestLookup {
  const cache = new Map<string, Promise<DatanetManifest>>();
  return (datanet) => {
    const key = `${datanet.id}:${datanet.version}`;
    let manifest = cache.get(key);
    if (manifest === undefined) {
      manifest = (async () => {
        const [, manifestCid] = await client.readContract({ address: datanets, abi: VERSION_ROOT_ABI, functionName: "versionRoot", args: [BigInt(datanet.id), datanet.version] });
        return parseManifest(await store.getJson(parseCid(manifestCid)), manifestCid);
      })();
      manifest.catch(() => cache.delete(key));
      cache.set(key, manifest);
    }
    return manifest;
  };
}
