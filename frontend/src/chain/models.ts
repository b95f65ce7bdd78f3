/** ModelRegistry: the catalogue of trained models with their provenance and terms, and the base models. */
import type { Abi, Address, Hex, PublicClient } from "viem";
import type { JobRecord as NodeJobRecord } from "../../../nodes/src/state/job-store.ts";
import type { ContractCall } from "./calls.ts";
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

// ---- Training jobs (ModelFactory) ----

/** JobStatus in the registry's enum order. */
export const JOB_STATUSES = ["None", "Open", "Completed", "Refunded", "Cancelled", "Submitted", "Disputed"] as const;

export interface JobRecord {
  id: bigint;
  requester: Address;
  status: string;
  deadline: bigint;
  leaseHolder: Address;
  leaseExpiresAt: bigint;
  datanetId: bigint;
  datanetVersion: number;
  baseModelId: bigint;
  fee: bigint;
  modelId: bigint;
  /** When an undisputed result's fee goes to the node; the requester may dispute before then (0 before a result). */
  payableAt: bigint;
  hyperParamsCid: string;
}

export function modelRegistryAddress(): Address {
  return addressOf("models");
}

export async function getJob(client: PublicClient, id: bigint): Promise<JobRecord> {
  const job = await client.readContract({ ...registry(), functionName: "getJob", args: [id] });
  const j = job as unknown as Record<string, unknown>;
  const statusIndex = Number(j.status);
  // The enum may grow at the end; name what we know and number the rest.
  const statusNames: readonly string[] = JOB_STATUSES;
  return {
    id,
    requester: j.requester as Address,
    status: statusNames[statusIndex] ?? `status ${statusIndex}`,
    deadline: j.deadline as bigint,
    leaseHolder: j.leaseHolder as Address,
    leaseExpiresAt: j.leaseExpiresAt as bigint,
    datanetId: j.datanetId as bigint,
    datanetVersion: Number(j.datanetVersion),
    baseModelId: j.baseModelId as bigint,
    fee: j.fee as bigint,
    modelId: j.modelId as bigint,
    payableAt: j.payableAt as bigint,
    hyperParamsCid: j.hyperParamsCid as string,
  };
}

/** Every job, newest first (ids run 1..jobCount). */
export async function listJobs(client: PublicClient): Promise<JobRecord[]> {
  const count = await client.readContract({ ...registry(), functionName: "jobCount" });
  const ids = Array.from({ length: Number(count) }, (_, i) => count - BigInt(i));
  return Promise.all(ids.map((id) => getJob(client, id)));
}

export function jobDisputeWindow(client: PublicClient): Promise<bigint> {
  return client.readContract({ ...registry(), functionName: "jobDisputeWindow" });
}

/** The job request createJob takes: the fields of it a node records for the job it follows (nodes/src/state/job-store.ts). */
export type JobRequestArgs = Pick<NodeJobRecord, "datanetId" | "datanetVersion" | "baseModelId" | "hyperParamsCid" | "fee" | "deadline">;

export function createJobCall(request: JobRequestArgs): ContractCall {
  return { ...registry(), functionName: "createJob", args: [request], label: "Pay and create the training job" };
}

export function disputeJobResultCall(jobId: bigint, reasonCid: string): ContractCall {
  return { ...registry(), functionName: "disputeJobResult", args: [jobId, reasonCid], label: "Dispute the result" };
}

export function releaseJobPaymentCall(jobId: bigint): ContractCall {
  return { ...registry(), functionName: "releaseJobPayment", args: [jobId], label: "Release the fee to the node" };
}

export function setModelPriceCall(modelId: bigint, pricePer1kTokens: bigint): ContractCall {
  return { ...registry(), functionName: "setModelPrice", args: [modelId, pricePer1kTokens], label: "Set the price" };
}

export function setRevenueSplitCall(modelId: bigint, split: { ownerBps: number; contributorBps: number; nodeBps: number }): ContractCall {
  return { ...registry(), functionName: "setRevenueSplit", args: [modelId, split], label: "Set the revenue split" };
}
