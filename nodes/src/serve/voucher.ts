/**
 * The payment voucher an HTTP request carries: the Settlement's EIP-712 `Voucher(address payer,address
 * node,uint256 modelId,uint64 termsVersion,uint256 cumulativeAmount)` in domain "Tributary"/"1"/chainId/
 * Settlement, signed by the payer or one of its session keys. It travels in the `X-Tributary-Voucher` header
 * as JSON, amounts as decimal strings:
 *
 *   {"payer":"0x…","modelId":"7","termsVersion":"1","cumulativeAmount":"1200","signature":"0x…(65 bytes)"}
 *
 * The node is not in the header: it is the node that receives it (its operator address), so a voucher
 * signed for another node does not recover to the payer here.
 */
import { getAddress, isAddress, isHex, recoverTypedDataAddress, type Address, type Hex, type LocalAccount } from "viem";
import { ApiError } from "../api/errors.ts";

export const VOUCHER_HEADER = "x-tributary-voucher";

export const VOUCHER_TYPES = {
  Voucher: [
    { name: "payer", type: "address" },
    { name: "node", type: "address" },
    { name: "modelId", type: "uint256" },
    { name: "termsVersion", type: "uint64" },
    { name: "cumulativeAmount", type: "uint256" },
  ],
} as const;

export interface VoucherDomain {
  chainId: number;
  settlement: Address;
}

export interface Voucher {
  payer: Address;
  modelId: bigint;
  termsVersion: bigint;
  cumulativeAmount: bigint;
  /** 65-byte signature (r, s, v) as 0x hex. */
  signature: Hex;
}

const MAX_UINT64 = 2n ** 64n - 1n;
const MAX_UINT256 = 2n ** 256n - 1n;

function typedData(domain: VoucherDomain, node: Address, voucher: Omit<Voucher, "signature">) {
  return {
    domain: { name: "Tributary", version: "1", chainId: domain.chainId, verifyingContract: domain.settlement },
    types: VOUCHER_TYPES,
    primaryType: "Voucher" as const,
    message: { payer: voucher.payer, node, modelId: voucher.modelId, termsVersion: voucher.termsVersion, cumulativeAmount: voucher.cumulativeAmount },
  };
}

/** Signs a voucher for `node` with the payer's key or a session key; returns the header value. */
export async function signVoucher(
  signer: LocalAccount, domain: VoucherDomain, node: Address, voucher: Omit<Voucher, "signature">,
): Promise<{ voucher: Voucher; header: string }> {
  if (signer.signTypedData === undefined) throw new Error("the signing account cannot sign typed data");
  const signature = await signer.signTypedData(typedData(domain, node, voucher));
  const signed = { ...voucher, signature };
  return { voucher: signed, header: formatVoucherHeader(signed) };
}

export function formatVoucherHeader(voucher: Voucher): string {
  return JSON.stringify({
    payer: voucher.payer, modelId: voucher.modelId.toString(), termsVersion: voucher.termsVersion.toString(),
    cumulativeAmount: voucher.cumulativeAmount.toString(), signature: voucher.signature,
  });
}

function badVoucher(message: string, part?: string): ApiError {
  return new ApiError(400, "invalid_voucher", message, part === undefined ? VOUCHER_HEADER : `${VOUCHER_HEADER}.${part}`);
}

function parseUint(value: unknown, part: string, max: bigint): bigint {
  if (typeof value !== "string" || !/^(0|[1-9][0-9]{0,77})$/.test(value)) throw badVoucher(`${part} must be a decimal integer string`, part);
  const parsed = BigInt(value);
  if (parsed > max) throw badVoucher(`${part} is out of range`, part);
  return parsed;
}

/** Parses the header; a malformed one is a 400 naming the part at fault, a missing one a 402. */
export function parseVoucherHeader(header: string | string[] | undefined): Voucher {
  if (header === undefined) {
    throw new ApiError(402, "payment_required", `this request needs a signed voucher in the ${VOUCHER_HEADER} header`, VOUCHER_HEADER);
  }
  if (Array.isArray(header) || header.length > 2048) throw badVoucher("must be one JSON object of at most 2048 characters");
  let json: unknown;
  try {
    json = JSON.parse(header);
  } catch {
    throw badVoucher("is not valid JSON");
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw badVoucher("must be a JSON object");
  const fields = json as Record<string, unknown>;
  if (typeof fields.payer !== "string" || !isAddress(fields.payer, { strict: false })) throw badVoucher("payer must be an address", "payer");
  if (typeof fields.signature !== "string" || !isHex(fields.signature) || fields.signature.length !== 132) {
    throw badVoucher("signature must be a 65-byte 0x hex signature", "signature");
  }
  const termsVersion = parseUint(fields.termsVersion, "termsVersion", MAX_UINT64);
  const cumulativeAmount = parseUint(fields.cumulativeAmount, "cumulativeAmount", MAX_UINT256);
  if (cumulativeAmount === 0n) throw badVoucher("cumulativeAmount must be above 0", "cumulativeAmount");
  return {
    payer: getAddress(fields.payer),
    modelId: parseUint(fields.modelId, "modelId", MAX_UINT256),
    termsVersion,
    cumulativeAmount,
    signature: fields.signature as Hex,
  };
}

/** The address that signed the voucher for `node`; null when the signature does not recover. */
export async function recoverVoucherSigner(domain: VoucherDomain, node: Address, voucher: Voucher): Promise<Address | null> {
  try {
    return await recoverTypedDataAddress({ ...typedData(domain, node, voucher), signature: voucher.signature });
  } catch {
    return null;
  }
}
