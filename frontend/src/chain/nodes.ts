/** NodeRegistry: registered compute nodes and their stake. Every node-registry call of the dApp is here. */
import type { Address, PublicClient } from "viem";
import type { ContractCall } from "./calls.ts";
import { addressOf } from "./deployment.ts";
import { nodeRegistryAbi as abi } from "./generated/contracts.ts";

const registry = () => ({ address: addressOf("nodes"), abi });

export interface NodeRecord {
  operator: Address;
  peerId: string;
  endpoint: string;
  capabilities: bigint;
  stake: bigint;
  unbondingEndsAt: number;
  active: boolean;
}

export function nodeRegistryAddress(): Address {
  return addressOf("nodes");
}

export function minStake(client: PublicClient): Promise<bigint> {
  return client.readContract({ ...registry(), functionName: "minStake" });
}

export async function getNode(client: PublicClient, operator: Address): Promise<NodeRecord | null> {
  const [node, active] = await Promise.all([
    client.readContract({ ...registry(), functionName: "getNode", args: [operator] }),
    client.readContract({ ...registry(), functionName: "isActive", args: [operator] }),
  ]);
  if (!node.registered) return null;
  return {
    operator,
    peerId: node.peerId,
    endpoint: node.endpoint,
    capabilities: node.capabilities,
    stake: node.stake,
    unbondingEndsAt: Number(node.unbondingEndsAt),
    active,
  };
}

/** Every node that registered (from NodeRegistered events) and is still registered, with its current stake. */
export async function listNodes(client: PublicClient): Promise<NodeRecord[]> {
  const registered = await client.getContractEvents({ ...registry(), eventName: "NodeRegistered", fromBlock: 0n });
  const operators = [...new Set(registered.map((log) => log.args.node as Address))];
  const nodes = await Promise.all(operators.map((operator) => getNode(client, operator)));
  return nodes.filter((node): node is NodeRecord => node !== null);
}

export function registerCall(args: { peerId: string; endpoint: string; capabilities: bigint; stake: bigint }): ContractCall {
  return { ...registry(), functionName: "register", args: [args.peerId, args.endpoint, args.capabilities, args.stake], label: "Register the node" };
}

export function addStakeCall(amount: bigint): ContractCall {
  return { ...registry(), functionName: "addStake", args: [amount], label: "Add stake" };
}

export function beginUnbondingCall(): ContractCall {
  return { ...registry(), functionName: "beginUnbonding", args: [], label: "Begin unbonding" };
}

export function withdrawStakeCall(): ContractCall {
  return { ...registry(), functionName: "withdraw", args: [], label: "Withdraw the stake" };
}
