/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, numbers in JavaScript's
 * shortest round-trip form. The same value always serializes to the same bytes, so records and
 * batches can be hashed and compared byte for byte across machines.
 */
import { keccak256, toBytes, type Hex } from "viem";
import { CanonicalJsonError } from "./errors.ts";

export function canonicalJson(value: unknown): string {
  return write(value, "$");
}

/** keccak256 of the canonical JSON's UTF-8 bytes. */
export function canonicalHash(value: unknown): Hex {
  return keccak256(toBytes(canonicalJson(value)));
}

function write(value: unknown, path: string): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new CanonicalJsonError(`${path} is ${value}, which JSON cannot represent.`, { path });
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item, i) => write(item, `${path}[${i}]`)).join(",")}]`;
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries
      .map(([key, item]) => {
        if (item === undefined) throw new CanonicalJsonError(`${path}.${key} is undefined; omit the key or use null.`, { path: `${path}.${key}` });
        return `${JSON.stringify(key)}:${write(item, `${path}.${key}`)}`;
      })
      .join(",")}}`;
  }
  throw new CanonicalJsonError(`${path} is a ${typeof value === "object" ? (value as object).constructor?.name : typeof value}, which has no canonical JSON form (use decimal strings for bigints).`, {
    path,
  });
}
