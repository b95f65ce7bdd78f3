/** ModelRegistry: the catalogue of trained models with their provenance and terms, and the base models. */
import type { Abi, Address, Hex, PublicClient } from "viem";
import { addressOf } from "./deployment.ts";
import { modelRegistryAbi as abi } from "./generated/contracts.ts";

const registry = () => ({ address: addressOf("models"), abi });

export interface ModelRecord {
  id: bigint;
  owner: Address;
  /** Version of the model's terms, when the registry versions them (vouchers name the version they accept). */
  termsVersion?: bigint;
  pricePer1kTokens: bigint;
  split: { ownerBps: number; contributorBps: number; nodeBps: number };
  provenance: {
    jobId: bigint;
    baseModelId: bigint;
    datanetId: bigint;
    datanetVersion: number;
    datanetRoot: Hex;
    trainer: Address;
    hyperParamsCid: string;
    adapterCid: string;
    evaluationCid: string;
    attributionIndexCid: string;
  };
}

export interface BaseModelRecord {
  id: bigint;
  name: string;
  manifestCid: string;
  licence: string;
  deprecated: boolean;
}

export async function getModel(client: PublicClient, id: bigint): Promise<ModelRecord> {
  const [terms, provenance] = await Promise.all([
    client.readContract({ ...registry(), functionName: "modelTerms", args: [id] }),
    client.readContract({ ...registry(), functionName: "getProvenance", args: [id] }),
  ]);
  // Read by output name, not position, so added outputs (the terms version) do not shift the others.
  const t = namedOutputs("modelTerms", terms as readonly unknown[]);
  return {
    id,
    owner: t.owner as Address,
    termsVersion: t.termsVersion as bigint | undefined,
    pricePer1kTokens: t.pricePer1kTokens as bigint,
    split: { ownerBps: Number(t.ownerBps), contributorBps: Number(t.contributorBps), nodeBps: Number(t.nodeBps) },
    provenance: {
      jobId: provenance.jobId,
      baseModelId: provenance.baseModelId,
      datanetId: provenance.datanetId,
      datanetVersion: Number(provenance.datanetVersion),
      datanetRoot: provenance.datanetRoot,
      trainer: provenance.trainer,
      hyperParamsCid: provenance.hyperParamsCid,
      ...provenance.artifacts,
    },
  };
}

/** A multi-output view's result as a record keyed by the ABI's output names. */
function namedOutputs(functionName: string, values: readonly unknown[]): Record<string, unknown> {
  const fn = (abi as Abi).find((item) => item.type === "function" && item.name === functionName);
  const outputs = fn?.type === "function" ? fn.outputs : [];
  return Object.fromEntries(outputs.map((output, i) => [output.name ?? `out${i}`, values[i]]));
}

/** Every model, newest first (ids run 1..modelCount). */
export async function listModels(client: PublicClient): Promise<ModelRecord[]> {
  const count = await client.readContract({ ...registry(), functionName: "modelCount" });
  const ids = Array.from({ length: Number(count) }, (_, i) => count - BigInt(i));
  return Promise.all(ids.map((id) => getModel(client, id)));
}

export async function listBaseModels(client: PublicClient): Promise<BaseModelRecord[]> {
  const count = await client.readContract({ ...registry(), functionName: "baseModelCount" });
  const ids = Array.from({ length: Number(count) }, (_, i) => BigInt(i + 1));
  return Promise.all(
    ids.map(async (id) => {
      const base = await client.readContract({ ...registry(), functionName: "getBaseModel", args: [id] });
      return { id, ...base };
    }),
  );
}
