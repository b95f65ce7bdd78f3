/**
 * Reads a Datanet version's Merkle root from the chain (IDatanetRegistry.versionRoot), so a
 * verifier checks that the root a record names is the one the registry published for that
 * Datanet id and version, not just a root the node's own index and manifest agree on.
 */
import type { Address, Hex, PublicClient } from "viem";
import { cachedRegistryRead } from "./registry-read.ts";

export interface DatanetVersionReader {
  /** The published root of (datanetId, version); undefined when the registry has no such version. */
  versionRoot(datanetId: bigint, version: number): Promise<Hex | undefined>;
}

export const VERSION_ROOT_ABI = [
  {
    type: "function",
    name: "versionRoot",
    stateMutability: "view",
    inputs: [{ name: "datanetId", type: "uint256" }, { name: "version", type: "uint32" }],
    outputs: [{ name: "root", type: "bytes32" }, { name: "manifestCid", type: "string" }],
  },
] as const;

export function createDatanetVersionReader(client: Pick<PublicClient, "readContract">, registry: Address): DatanetVersionReader {
  const read = cachedRegistryRead(async ([datanetId, version]: readonly [bigint, number]) => {
    const [root] = await client.readContract({ address: registry, abi: VERSION_ROOT_ABI, functionName: "versionRoot", args: [datanetId, version] });
    return root.toLowerCase() as Hex;
  });
  return { versionRoot: (datanetId, version) => read([datanetId, version], `${datanetId}:${version}`) };
}
