/** Settlement: the payer's escrow and session keys (what the Playground needs to pay per request). */
import type { Address, PublicClient } from "viem";
import type { ContractCall } from "./calls.ts";
import { addressOf } from "./deployment.ts";
import { settlementAbi as abi } from "./generated/contracts.ts";

const settlement = () => ({ address: addressOf("settlement"), abi });

export function settlementAddress(): Address {
  return addressOf("settlement");
}

export function escrowBalanceOf(client: PublicClient, payer: Address): Promise<bigint> {
  return client.readContract({ ...settlement(), functionName: "escrowBalanceOf", args: [payer] });
}

export interface SessionKeyState {
  cap: bigint;
  spent: bigint;
  /** Unix seconds; 0 when the key is not authorized. */
  expiresAt: bigint;
}

export async function sessionKeyOf(client: PublicClient, payer: Address, key: Address): Promise<SessionKeyState> {
  const [cap, spent, expiresAt] = await client.readContract({ ...settlement(), functionName: "sessionKeyOf", args: [payer, key] });
  return { cap, spent, expiresAt };
}

export function depositCall(amount: bigint): ContractCall {
  return { ...settlement(), functionName: "deposit", args: [amount], label: "Deposit into escrow" };
}

export function authorizeSessionKeyCall(key: Address, cap: bigint, expiresAt: bigint): ContractCall {
  return { ...settlement(), functionName: "authorizeSessionKey", args: [key, cap, expiresAt], label: "Authorize the session key" };
}

export function revokeSessionKeyCall(key: Address): ContractCall {
  return { ...settlement(), functionName: "revokeSessionKey", args: [key], label: "Revoke the session key" };
}
