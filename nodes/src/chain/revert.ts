/**
 * Turns revert data into words: the custom error is decoded with every protocol ABI (a call into the registry may
 * fail inside the token, so the target's ABI alone is not enough) and printed with its argument names,
 * e.g. "ModelRegistry reverted: JobNotOpen(jobId=3, status=2)".
 */
import { decodeErrorResult, type Abi, type Hex } from "viem";
import { CONTRACT_KEYS, PROTOCOL_CONTRACTS, type ContractKey, type ProtocolAbis } from "./contracts.ts";
import { ContractRevertError } from "./errors.ts";

type AbiError = Extract<Abi[number], { type: "error" }>;

/** Every error item of the protocol's ABIs, once per selector-defining signature. */
export function protocolErrorsAbi(abis: ProtocolAbis): Abi {
  const seen = new Set<string>();
  const errors: AbiError[] = [];
  for (const key of CONTRACT_KEYS) {
    for (const item of abis[key] as Abi) {
      if (item.type !== "error") continue;
      const signature = `${item.name}(${item.inputs.map((i) => i.type).join(",")})`;
      if (seen.has(signature)) continue;
      seen.add(signature);
      errors.push(item);
    }
  }
  return errors;
}

/** The revert data carried somewhere in a viem/RPC error's cause chain, if any. */
export function revertDataOf(error: unknown): Hex | undefined {
  const visited = new Set<unknown>();
  let current: unknown = error;
  while (typeof current === "object" && current !== null && !visited.has(current)) {
    visited.add(current);
    const record = current as Record<string, unknown>;
    for (const candidate of [record.raw, record.data, (record.data as Record<string, unknown> | undefined)?.data]) {
      if (typeof candidate === "string" && /^0x[0-9a-fA-F]*$/.test(candidate) && candidate.length >= 10) return candidate as Hex;
    }
    current = record.cause;
  }
  return undefined;
}

function formatValue(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return value.startsWith("0x") ? value : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(formatValue).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    return `{${Object.entries(value).map(([k, v]) => `${k}: ${formatValue(v)}`).join(", ")}}`;
  }
  return String(value);
}

/** Builds the error for a revert of a call to `contract`, from its revert data (which may be missing). */
export function decodeRevert(abis: ProtocolAbis, contract: ContractKey, data: Hex | undefined, options: { txHash?: string; cause?: unknown } = {}): ContractRevertError {
  const name = PROTOCOL_CONTRACTS[contract].name;
  if (data === undefined || data === "0x") {
    return new ContractRevertError({ contract: name, reason: "no reason given (no revert data)", ...options });
  }
  try {
    const decoded = decodeErrorResult({ abi: protocolErrorsAbi(abis), data });
    const inputs = decoded.abiItem.type === "error" ? decoded.abiItem.inputs : [];
    const values = (decoded.args ?? []) as readonly unknown[];
    const args: Record<string, unknown> = {};
    const parts = values.map((value, i) => {
      const label = inputs[i]?.name || `arg${i}`;
      args[label] = value;
      return `${label}=${formatValue(value)}`;
    });
    return new ContractRevertError({ contract: name, errorName: decoded.errorName, args, reason: `${decoded.errorName}(${parts.join(", ")})`, ...options });
  } catch {
    return new ContractRevertError({ contract: name, reason: `an error no protocol ABI defines (data ${data.slice(0, 10)}…)`, ...options });
  }
}
