/** Token amounts and allowances for the CLI's paying commands (stakes, fees): checked before anything is sent. */
import { formatUnits, parseUnits, type Address } from "viem";
import type { ProtocolChain } from "../chain/protocol.ts";
import { UsageError } from "./errors.ts";

export const TOKEN_DECIMALS = 18;

export function formatTokens(amount: bigint): string {
  return formatUnits(amount, TOKEN_DECIMALS);
}

export function parseTokens(text: string, option: string): bigint {
  if (!/^\d+(\.\d{1,18})?$/.test(text)) throw new UsageError(`${option} must be a token amount like "100" or "2.5", got "${text}"`);
  return parseUnits(text, TOKEN_DECIMALS);
}

/** Fails before any transaction when the account cannot pay `amount`; approves `spender` when its allowance is short. */
export async function ensureFunds(chain: ProtocolChain, spender: Address, amount: bigint, what: string): Promise<void> {
  if (amount === 0n) return;
  const me = chain.account.address;
  const balance = await chain.read("token", "balanceOf", [me]);
  if (balance < amount) {
    throw new UsageError(`${what} needs ${formatTokens(amount)} tokens but ${me} holds ${formatTokens(balance)}; fund it first (on a local chain: tributary-node operator faucet)`);
  }
  const allowance = await chain.read("token", "allowance", [me, spender]);
  if (allowance < amount) await chain.sender.write({ contract: "token", functionName: "approve", args: [spender, amount] });
}
