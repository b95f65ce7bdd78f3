/** Display formatting shared by every page: token amounts, addresses, sizes, times. */
import { formatUnits } from "viem";

export const TOKEN_SYMBOL = "TRIB";
export const TOKEN_DECIMALS = 18;

/** `1234500000000000000000n` → "1,234.5 TRIB": grouped whole part, at most `maxFraction` decimals, no trailing zeros. */
export function formatToken(amount: bigint, { symbol = TOKEN_SYMBOL, decimals = TOKEN_DECIMALS, maxFraction = 4 } = {}): string {
  const negative = amount < 0n;
  const [whole, fraction = ""] = formatUnits(negative ? -amount : amount, decimals).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const kept = fraction.slice(0, maxFraction).replace(/0+$/, "");
  const text = `${negative ? "-" : ""}${grouped}${kept ? `.${kept}` : ""}`;
  return symbol ? `${text} ${symbol}` : text;
}

/** `0x1234…abcd`: enough of an address to tell accounts apart; the full one goes in a title attribute. */
export function shortAddress(address: string): string {
  return address.length <= 12 ? address : `${address.slice(0, 6)}…${address.slice(-4)}`;
}

/** A hash or CID shortened the same way (first 10, last 6 characters). */
export function shortHash(hash: string): string {
  return hash.length <= 20 ? hash : `${hash.slice(0, 10)}…${hash.slice(-6)}`;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number | bigint): string {
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** A block timestamp (seconds) as an ISO-like UTC date and time: "2026-12-01 16:40 UTC". */
export function formatTimestamp(seconds: number | bigint): string {
  if (Number(seconds) === 0) return "never";
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** Basis points as a percentage: 4000 → "40%". */
export function formatBps(bps: number): string {
  return `${(bps / 100).toLocaleString("en-US", { maximumFractionDigits: 2 })}%`;
}

/** `plural(1, "version")` → "1 version", `plural(2, "version")` → "2 versions". */
export function plural(count: number | bigint, noun: string, pluralNoun = `${noun}s`): string {
  return `${count} ${BigInt(count) === 1n ? noun : pluralNoun}`;
}

/** Like formatToken, but a non-zero amount too small to show in TRIB is written in token units, not as "0 TRIB". */
export function formatPrice(amount: bigint): string {
  const formatted = formatToken(amount);
  return amount > 0n && /^0 /.test(formatted) ? `${amount.toLocaleString("en-US")} units (< 0.0001 ${TOKEN_SYMBOL})` : formatted;
}
