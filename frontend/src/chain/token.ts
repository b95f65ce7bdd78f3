/** TributaryToken: balances, allowances, the test faucet. Every token call of the dApp is here. */
import type { Address, PublicClient } from "viem";
import type { ContractCall } from "./calls.ts";
import { addressOf } from "./deployment.ts";
import { tributaryTokenAbi as abi } from "./generated/contracts.ts";

const token = () => ({ address: addressOf("token"), abi });

export function balanceOf(client: PublicClient, account: Address): Promise<bigint> {
  return client.readContract({ ...token(), functionName: "balanceOf", args: [account] });
}

export function allowance(client: PublicClient, owner: Address, spender: Address): Promise<bigint> {
  return client.readContract({ ...token(), functionName: "allowance", args: [owner, spender] });
}

export function faucetAmount(client: PublicClient): Promise<bigint> {
  return client.readContract({ ...token(), functionName: "faucetAmount" });
}

export function dripCall(amount: bigint | undefined): ContractCall {
  return { ...token(), functionName: "drip", args: [], label: amount === undefined ? "Get test tokens" : "Get test tokens from the faucet" };
}

export function approveCall(spender: Address, amount: bigint, spenderName: string, what = "stake"): ContractCall {
  return { ...token(), functionName: "approve", args: [spender, amount], label: `Allow the ${spenderName} to take the ${what}` };
}
