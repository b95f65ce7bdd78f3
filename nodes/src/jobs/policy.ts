/** Whether this node takes a training job: what it can do, which base models it holds, the fee it asks. */
import { formatUnits } from "viem";
import type { JobRecord } from "../state/job-store.ts";

export interface JobPolicy {
  capabilities: readonly string[];
  /** On-chain base model id → local folder. */
  baseModels: ReadonlyMap<bigint, string>;
  minFee: bigint;
  /** A job needs at least this long before its deadline to be worth claiming. */
  minSecondsBeforeDeadline: bigint;
}

export type PolicyDecision = { accept: true } | { accept: false; reason: string };

export function evaluateJob(job: Pick<JobRecord, "baseModelId" | "fee" | "deadline">, policy: JobPolicy, nowSeconds: bigint): PolicyDecision {
  if (!policy.capabilities.includes("training")) return { accept: false, reason: "this node does not have the training capability" };
  if (!policy.baseModels.has(job.baseModelId)) {
    const held = [...policy.baseModels.keys()].join(", ") || "none";
    return { accept: false, reason: `base model ${job.baseModelId} is not held (held: ${held})` };
  }
  if (job.fee < policy.minFee) {
    return { accept: false, reason: `fee ${formatUnits(job.fee, 18)} is below the node's minimum ${formatUnits(policy.minFee, 18)}` };
  }
  if (job.deadline - nowSeconds < policy.minSecondsBeforeDeadline) {
    return { accept: false, reason: `deadline ${job.deadline} is too close (need ${policy.minSecondsBeforeDeadline}s)` };
  }
  return { accept: true };
}
