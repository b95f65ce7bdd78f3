/**
 * A blockstore wrapper that hashes every block it hands out and compares it with the block's CID.
 * Helia verifies blocks that arrive from the network, but not the ones it reads back from its own
 * disk; this closes that gap. A block that fails the check is deleted at once, so the next read
 * misses locally and Helia asks its peers for a good copy over bitswap.
 */
import type { AbortOptions } from "abort-error";
import type { Blockstore, InputPair, Pair } from "interface-blockstore";
import type { CID } from "multiformats/cid";
import { CorruptBlockError } from "./errors.ts";
import { blockMatchesCid } from "./verify-block.ts";

export type CorruptBlockListener = (cid: CID) => void;

export class VerifyingBlockstore implements Blockstore {
  readonly inner: Blockstore;
  readonly #onCorrupt: CorruptBlockListener | undefined;

  constructor(inner: Blockstore, onCorrupt?: CorruptBlockListener) {
    this.inner = inner;
    this.#onCorrupt = onCorrupt;
  }

  has(key: CID, options?: AbortOptions) {
    return this.inner.has(key, options);
  }

  put(key: CID, val: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>, options?: AbortOptions) {
    return this.inner.put(key, val, options);
  }

  putMany(source: Iterable<InputPair> | AsyncIterable<InputPair>, options?: AbortOptions) {
    return this.inner.putMany(source, options);
  }

  async *get(key: CID, options?: AbortOptions): AsyncGenerator<Uint8Array> {
    yield await this.#readVerified(key, options);
  }

  async *getMany(source: Iterable<CID> | AsyncIterable<CID>, options?: AbortOptions): AsyncGenerator<Pair> {
    for await (const cid of source) {
      const bytes = await this.#readVerified(cid, options);
      yield { cid, bytes: (function* () { yield bytes; })() };
    }
  }

  delete(key: CID, options?: AbortOptions) {
    return this.inner.delete(key, options);
  }

  deleteMany(source: Iterable<CID> | AsyncIterable<CID>, options?: AbortOptions) {
    return this.inner.deleteMany(source, options);
  }

  /** Unverified: garbage collection only needs the keys. */
  getAll(options?: AbortOptions) {
    return this.inner.getAll(options);
  }

  async #readVerified(cid: CID, options?: AbortOptions): Promise<Uint8Array> {
    const bytes = await collect(this.inner.get(cid, options));
    if (await blockMatchesCid(cid, bytes)) return bytes;
    await this.inner.delete(cid, options);
    this.#onCorrupt?.(cid);
    throw new CorruptBlockError(`Block ${cid} in the local blockstore does not match its CID (disk corruption or tampering); the bad copy was deleted.`, {
      cid: cid.toString(),
    });
  }
}

export async function collect(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of chunks) {
    parts.push(chunk);
    length += chunk.byteLength;
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
