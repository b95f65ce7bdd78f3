/**
 * Reads a Model's provenance from the ModelRegistry (getProvenance), so a verifier checks that a record's model is
 * the one it names: the adapter CID the record attributes through, and the Datanet id, version and root the model
 * was trained on. Without it a node could attribute a model's revenue through another model's (or its own) Datanet.
 */
import type { Address, Hex, PublicClient } from "viem";
import { cachedRegistryRead } from "./registry-read.ts";

export interface ModelProvenance {
  adapterCid: string;
  datanetId: bigint;
  datanetVersion: number;
  datanetRoot: Hex;
}

export interface ModelProvenanceReader {
  /** The provenance of `modelId`; undefined when the registry has no such model. */
  provenance(modelId: bigint): Promise<ModelProvenance | undefined>;
}

/** The part of ModelRegistry.getProvenance's ABI the verifier reads. */
export const GET_PROVENANCE_ABI = [
  {
    type: "function",
    name: "getProvenance",
    stateMutability: "view",
    inputs: [{ name: "modelId", type: "uint256" }],
    outputs: [
      {
        name: "",
        type: "tuple",
        components: [
          { name: "jobId", type: "uint256" },
          { name: "baseModelId", type: "uint256" },
          { name: "datanetId", type: "uint256" },
          { name: "datanetVersion", type: "uint32" },
          { name: "datanetRoot", type: "bytes32" },
          { name: "trainer", type: "address" },
          { name: "hyperParamsCid", type: "string" },
          {
            name: "artifacts",
            type: "tuple",
            components: [
              { name: "adapterCid", type: "string" },
              { name: "evaluationCid", type: "string" },
              { name: "attributionIndexCid", type: "string" },
            ],
          },
        ],
      },
    ],
  },
] as const;

export function createModelProvenanceReader(client: Pick<PublicClient, "readContract">, registry: Address): ModelProvenanceReader {
  const read = cachedRegistryRead(async (modelId: bigint): Promise<ModelProvenance> => {
    const p = await client.readContract({ address: registry, abi: GET_PROVENANCE_ABI, functionName: "getProvenance", args: [modelId] });
    return { adapterCid: p.artifacts.adapterCid, datanetId: p.datanetId, datanetVersion: p.datanetVersion, datanetRoot: p.datanetRoot.toLowerCase() as Hex };
  });
  return { provenance: (modelId) => read(modelId, modelId.toString()) };
}
