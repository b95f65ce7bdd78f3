/**
 * Reads a Datanet version's Merkle root from the chain (IDatanetRegistry.versionRoot), so a
 * verifier checks that the root a record names is the one the registry published for that
 * Datanet id and version, not just a root the node's own index and manifest agree on.
 */
import { ContractFunctionRevertedError, BaseError, type Address, type Hex, type PublicClient } from "viem";

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
  const roots = new Map<string, Promise<Hex | undefined>>();
  return {
    versionRoot(datanetId, version) {
      const key = `${datanetId}:${version}`;
      let root = roots.get(key);
      if (!root) {
        root = client
          .readContract({ address: registry, abi: VERSION_ROOT_ABI, functionName: "versionRoot", args: [datanetId, version] })
          .then(([value]) => value.toLowerCase() as Hex)
          .catch((error: unknown) => {
            // The registry reverts (with its own custom error) for an unknown Datanet or version.
            if (error instanceof BaseError && error.walk((e) => e instanceof ContractFunctionRevertedError)) return undefined;
            roots.delete(key);
            throw error;
          });
        roots.set(key, root);
      }
      return root;
    },
  };
}
