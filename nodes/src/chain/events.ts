/**
 * The on-chain events the node acts on, in one place, checked against the contracts' ABIs at compile time:
 * renaming an event in Solidity breaks the type check here, not a log filter at run time.
 */
import type { ContractEventName, DecodeEventLogReturnType, Hex, Address } from "viem";
import type { ContractAbi, ContractKey } from "./contracts.ts";

export type EventName<K extends ContractKey> = ContractEventName<ContractAbi<K>>;

/** ModelRegistry's training-job lifecycle (contracts/models/ModelRegistry.sol). */
export const JOB_EVENTS = [
  "JobCreated", "JobClaimed", "LeaseExtended", "JobResultSubmitted", "JobResultDisputed", "JobCompleted", "JobRefunded", "JobCancelled",
] as const satisfies readonly EventName<"models">[];
export type JobEventName = (typeof JOB_EVENTS)[number];

/** NodeRegistry's operator lifecycle (contracts/nodes/NodeRegistry.sol). */
export const NODE_EVENTS = ["NodeRegistered", "StakeAdded", "UnbondingStarted", "StakeWithdrawn", "NodeSlashed", "EndpointUpdated", "CapabilitiesUpdated"] as const satisfies readonly EventName<"nodes">[];

/** A decoded event as the follower delivers it. `id` is "txHash:logIndex", the key handlers use for idempotency. */
export interface ChainEvent<K extends ContractKey = ContractKey, E extends EventName<K> = EventName<K>> {
  id: string;
  contract: K;
  address: Address;
  eventName: E;
  args: DecodeEventLogReturnType<ContractAbi<K>, E>["args"];
  blockNumber: bigint;
  blockHash: Hex;
  transactionHash: Hex;
  logIndex: number;
}
