/**
 * The browser's session key: a private key generated here (viem's generatePrivateKey), kept in sessionStorage (gone
 * when the tab closes), authorized on-chain once by the wallet with a spending cap and expiry. It signs every
 * request's voucher, so chatting needs no wallet prompt; the cap bounds what a leaked key could spend.
 */
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { Address, Hex } from "viem";

const STORAGE_KEY = (payer: Address) => `tributary.sessionKey.${payer.toLowerCase()}`;

/** This tab's session key for `payer`, created on first use. */
export function loadSessionKey(payer: Address, storage: Pick<Storage, "getItem" | "setItem"> = sessionStorage): PrivateKeyAccount {
  let key = storage.getItem(STORAGE_KEY(payer)) as Hex | null;
  if (!key || !/^0x[0-9a-fA-F]{64}$/.test(key)) {
    key = generatePrivateKey();
    storage.setItem(STORAGE_KEY(payer), key);
  }
  return privateKeyToAccount(key);
}

/** Replaces the key (after revoking the old one, or to start over). */
export function replaceSessionKey(payer: Address, storage: Pick<Storage, "getItem" | "setItem"> = sessionStorage): PrivateKeyAccount {
  const key = generatePrivateKey();
  storage.setItem(STORAGE_KEY(payer), key);
  return privateKeyToAccount(key);
}

export type SessionKeyStatus = "unauthorized" | "expired" | "exhausted" | "active";

export function sessionKeyStatus(state: { cap: bigint; spent: bigint; expiresAt: bigint }, nowSeconds: bigint): SessionKeyStatus {
  if (state.expiresAt === 0n) return "unauthorized";
  if (nowSeconds >= state.expiresAt) return "expired";
  if (state.spent >= state.cap) return "exhausted";
  return "active";
}
