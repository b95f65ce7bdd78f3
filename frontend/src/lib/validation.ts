/** Form checks run before anything is signed, so a user fixes a field instead of reading a revert. */
import { CID } from "multiformats/cid";
import { parseUnits } from "viem";
import { TOKEN_DECIMALS } from "./format.ts";

export type FieldErrors<K extends string> = Partial<Record<K, string>>;

const UINT96_MAX = (1n << 96n) - 1n;
const UINT40_MAX = 2 ** 40 - 1;

/** A token amount typed by a user ("12.5") in base units, or a message saying what is wrong. */
export function parseTokenAmount(text: string, { allowZero = true, max }: { allowZero?: boolean; max?: bigint } = {}): bigint | string {
  const trimmed = text.trim();
  if (trimmed === "") return "Enter an amount.";
  if (!/^\d+(\.\d+)?$/.test(trimmed)) return "Use digits and at most one decimal point, e.g. 12.5.";
  const fraction = trimmed.split(".")[1] ?? "";
  if (fraction.length > TOKEN_DECIMALS) return `At most ${TOKEN_DECIMALS} decimals.`;
  const amount = parseUnits(trimmed, TOKEN_DECIMALS);
  if (!allowZero && amount === 0n) return "The amount must be above zero.";
  if (max !== undefined && amount > max) return "That amount is too large.";
  return amount;
}

export function isCid(text: string): boolean {
  try {
    CID.parse(text.trim());
    return true;
  } catch {
    return false;
  }
}

export interface CreateDatanetForm {
  metadataCid: string;
  licence: string;
  stake: string;
  maxBytes: string;
  forfeitRejectedStake: boolean;
}

export interface CreateDatanetArgs {
  metadataCid: string;
  licence: string;
  policy: { stake: bigint; maxBytes: number; forfeitRejectedStake: boolean };
}

/** Checks the create-Datanet form against the contract's rules (non-empty CID and licence, maxBytes ≥ 1, uint96 stake). */
export function validateCreateDatanet(form: CreateDatanetForm): { args: CreateDatanetArgs } | { errors: FieldErrors<keyof CreateDatanetForm> } {
  const errors: FieldErrors<keyof CreateDatanetForm> = {};
  if (!isCid(form.metadataCid)) errors.metadataCid = "Enter the IPFS CID of the Datanet's description (e.g. bafy…).";
  if (form.licence.trim() === "") errors.licence = "Name the licence of the data (an SPDX id such as CC-BY-4.0).";
  const stake = parseTokenAmount(form.stake, { max: UINT96_MAX });
  if (typeof stake === "string") errors.stake = stake;
  const maxBytes = Number(form.maxBytes);
  if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > UINT40_MAX) errors.maxBytes = "Enter a whole number of bytes, at least 1.";
  if (Object.keys(errors).length > 0) return { errors };
  return {
    args: {
      metadataCid: form.metadataCid.trim(),
      licence: form.licence.trim(),
      policy: { stake: stake as bigint, maxBytes, forfeitRejectedStake: form.forfeitRejectedStake },
    },
  };
}

export interface RegisterNodeForm {
  peerId: string;
  endpoint: string;
  capabilities: string;
  stake: string;
}

/** Checks the register-node form: a peer id, an http(s) endpoint, a capabilities bitmask and at least `minStake`. */
export interface RegisterNodeArgs {
  peerId: string;
  endpoint: string;
  capabilities: bigint;
  stake: bigint;
}

export function validateRegisterNode(form: RegisterNodeForm, minStake: bigint): { args: RegisterNodeArgs } | { errors: FieldErrors<keyof RegisterNodeForm> } {
  const errors: FieldErrors<keyof RegisterNodeForm> = {};
  if (form.peerId.trim() === "") errors.peerId = "Enter the node's libp2p peer id (printed by tributary-node at start).";
  let endpointOk = false;
  try {
    endpointOk = ["http:", "https:"].includes(new URL(form.endpoint.trim()).protocol);
  } catch {
    endpointOk = false;
  }
  if (!endpointOk) errors.endpoint = "Enter the node's API base URL, e.g. http://127.0.0.1:8700.";
  let capabilities = 0n;
  if (!/^\d+$/.test(form.capabilities.trim())) errors.capabilities = "Enter the capabilities bitmask as a whole number (0 for none).";
  else capabilities = BigInt(form.capabilities.trim());
  const stake = parseTokenAmount(form.stake);
  if (typeof stake === "string") errors.stake = stake;
  else if (stake < minStake) errors.stake = "The stake is below the registry's minimum.";
  if (Object.keys(errors).length > 0) return { errors };
  return { args: { peerId: form.peerId.trim(), endpoint: form.endpoint.trim(), capabilities, stake: stake as bigint } };
}
