/**
 * Turns a failed call or transaction into words: a revert's custom error is decoded against every Tributary ABI
 * (a call to one contract can revert with another's error, e.g. the token's ERC20InsufficientAllowance inside
 * DatanetRegistry.contribute) and described with its named arguments.
 */
import {
  BaseError,
  decodeErrorResult,
  HttpRequestError,
  UserRejectedRequestError,
  type Abi,
  type Hex,
} from "viem";
import { datanetRegistryAbi, modelRegistryAbi, nodeRegistryAbi, settlementAbi, tributaryTokenAbi } from "./generated/contracts.ts";
import { formatToken, shortAddress } from "../lib/format.ts";

type AbiError = Extract<Abi[number], { type: "error" }>;

/** Every custom error of the dApp's contracts, once each (shared OpenZeppelin errors appear in several ABIs). */
export function errorsOf(abis: readonly Abi[]): AbiError[] {
  const seen = new Map<string, AbiError>();
  for (const abi of abis) {
    for (const item of abi) {
      if (item.type !== "error") continue;
      const signature = `${item.name}(${item.inputs.map((input) => input.type).join(",")})`;
      if (!seen.has(signature)) seen.set(signature, item);
    }
  }
  return [...seen.values()];
}

export const tributaryErrorsAbi = errorsOf([
  tributaryTokenAbi as Abi,
  datanetRegistryAbi as Abi,
  nodeRegistryAbi as Abi,
  modelRegistryAbi as Abi,
  settlementAbi as Abi,
]);

/** Phrases for errors users meet often; any other error is described from its name and arguments. */
const PHRASES: Record<string, (a: Record<string, unknown>) => string> = {
  ERC20InsufficientBalance: (a) => `Your token balance (${amount(a.balance)}) is below the ${amount(a.needed)} needed. Use the faucet to get test tokens.`,
  ERC20InsufficientAllowance: (a) => `The contract may spend only ${amount(a.allowance)} of your tokens but needs ${amount(a.needed)}: approve it first.`,
  NotCurator: (a) => `${address(a.account)} is not the owner or a curator of Datanet ${a.datanetId}.`,
  NotDatanetOwner: (a) => `${address(a.account)} does not own Datanet ${a.datanetId}.`,
  DatanetNotFound: (a) => `There is no Datanet ${a.datanetId}.`,
  DuplicateContribution: (a) => `This file was already contributed to Datanet ${a.datanetId}.`,
  InvalidContributionSize: (a) => `The file is ${a.byteSize} bytes; Datanet ${a.datanetId} accepts 1 to ${a.maxBytes} bytes.`,
  ContributionNotPending: (a) => `Contribution ${short(a.contributionId)} was already decided.`,
  FaucetCoolingDown: (a) => `The faucet already paid this account recently; try again after ${new Date(Number(a.availableAt) * 1000).toLocaleString()}.`,
  FaucetDisabled: () => "The faucet is turned off on this chain.",
  StakeBelowMinimum: (a) => `A stake of ${amount(a.stake)} is below the minimum of ${amount(a.minStake)}.`,
  NodeAlreadyRegistered: (a) => `${address(a.node)} is already registered as a node.`,
  NodeNotRegistered: (a) => `${address(a.node)} is not a registered node.`,
  EmptyField: (a) => `The field "${a.field}" must not be empty.`,
};

function amount(value: unknown): string {
  return typeof value === "bigint" ? formatToken(value) : String(value);
}
function address(value: unknown): string {
  return typeof value === "string" ? shortAddress(value) : String(value);
}
function short(value: unknown): string {
  const text = typeof value === "bigint" ? `0x${value.toString(16)}` : String(value);
  return text.length > 14 ? `${text.slice(0, 8)}…${text.slice(-4)}` : text;
}

/** "NotCurator" → "Not curator". */
function words(name: string): string {
  const spaced = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2").toLowerCase();
  return spaced[0].toUpperCase() + spaced.slice(1);
}

function describeValue(name: string, value: unknown): string {
  if (typeof value === "bigint" && /stake|amount|fee|balance|allowance|needed|bond|price/i.test(name)) return formatToken(value);
  if (typeof value === "string" && /^0x[0-9a-fA-F]{40}$/.test(value)) return shortAddress(value);
  return typeof value === "bigint" ? value.toString() : String(value);
}

export interface DecodedRevert {
  errorName: string;
  args: Record<string, unknown>;
  message: string;
}

/** Decodes revert data against `abi` (default: every Tributary error), or returns undefined when no error matches. */
export function decodeRevert(data: Hex, abi: readonly AbiError[] = tributaryErrorsAbi): DecodedRevert | undefined {
  let decoded;
  try {
    decoded = decodeErrorResult({ abi: abi as Abi, data });
  } catch {
    return undefined;
  }
  const inputs = decoded.abiItem.type === "error" ? decoded.abiItem.inputs : [];
  const values = (decoded.args ?? []) as readonly unknown[];
  const args = Object.fromEntries(inputs.map((input, i) => [input.name || `arg${i}`, values[i]]));
  if (decoded.errorName === "Error") return { errorName: "Error", args, message: `The contract refused: ${String(values[0])}` };
  if (decoded.errorName === "Panic") return { errorName: "Panic", args, message: `The contract failed an internal check (panic code ${String(values[0])}).` };
  const phrase = PHRASES[decoded.errorName];
  const detail = Object.entries(args).map(([name, value]) => `${name} ${describeValue(name, value)}`).join(", ");
  const message = phrase ? phrase(args) : `${words(decoded.errorName)}${detail ? ` (${detail})` : ""}.`;
  return { errorName: decoded.errorName, args, message };
}

/** The revert data inside a viem error chain (ContractFunctionRevertedError.raw or a RawContractError's data). */
export function revertDataOf(error: unknown): Hex | undefined {
  if (!(error instanceof BaseError)) return undefined;
  let found: Hex | undefined;
  error.walk((cause) => {
    const candidate = (cause as { raw?: unknown; data?: unknown }).raw ?? (cause as { data?: unknown }).data;
    const hex = typeof candidate === "string" ? candidate : (candidate as { data?: unknown } | undefined)?.data;
    if (typeof hex === "string" && /^0x[0-9a-fA-F]{8,}$/.test(hex)) {
      found = hex as Hex;
      return true;
    }
    return false;
  });
  return found;
}

/** One sentence a user can act on, for any error a call, a signature or a transaction can throw. */
export function describeError(error: unknown): string {
  const data = revertDataOf(error);
  if (data) {
    const decoded = decodeRevert(data);
    if (decoded) return decoded.message;
    return `The contract refused with an error this app does not know (${data.slice(0, 10)}).`;
  }
  if (error instanceof BaseError) {
    if (error.walk((e) => e instanceof UserRejectedRequestError)) return "You rejected the request in your wallet.";
    const http = error.walk((e) => e instanceof HttpRequestError) as HttpRequestError | null;
    if (http) return `The chain's RPC at ${http.url} did not answer: is the local chain running (npm start)?`;
    if (/insufficient funds/i.test(error.message)) return "Your account has too little ETH to pay for gas.";
    if (error.walk((e) => (e as BaseError).name === "ContractFunctionRevertedError")) return "The contract refused the call without saying why.";
    return error.shortMessage;
  }
  return error instanceof Error ? error.message : String(error);
}
