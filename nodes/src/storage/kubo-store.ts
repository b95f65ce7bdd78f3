/**
 * ContentStore over an external Kubo daemon, through kubo-rpc-client. Files are chunked here (the
 * same importer and layout as the embedded node, so a file has the same CID whichever backend
 * stored it) and written to Kubo block by block; reads go block by block through Kubo's block API
 * and each block is hashed and checked against its CID here, so a daemon that returns wrong bytes
 * is caught. Blocks Kubo does not hold are asked of Kubo's own network (a block/get that is not
 * offline), and verified the same way. Pins and garbage collection are Kubo's.
 *
 * RPC endpoints used: block/put, block/get, block/stat (offline), block/rm, pin/add, pin/rm,
 * pin/ls, repo/gc.
 */
import type { AbortOptions } from "abort-error";
import type { BlockBroker, BlockRetrievalOptions } from "helia";
import { createHeliaLight } from "helia";
import type { Blockstore, InputPair, Pair } from "interface-blockstore";
import { create as createKuboClient, type KuboRPCClient } from "kubo-rpc-client";
import { CID } from "multiformats/cid";
import * as jsonCodec from "multiformats/codecs/json";
import * as raw from "multiformats/codecs/raw";
import { HeliaContentStore, type HeliaContentStoreOptions, type Pinning } from "./helia-store.ts";
import { KuboRpcError } from "./errors.ts";
import { collect, VerifyingBlockstore } from "./verifying-blockstore.ts";

const CODEC_NAMES = new Map<number, string>([
  [raw.code, "raw"],
  [0x70, "dag-pb"],
  [jsonCodec.code, "json"],
  [0x71, "dag-cbor"],
  [0x0129, "dag-json"],
]);

export interface KuboStoreOptions {
  /** Kubo's RPC API, e.g. `http://127.0.0.1:5001`. */
  apiUrl: string;
  fetchTimeoutMs?: number;
  onCorruptBlock?: (cid: CID) => void;
}

export async function openKuboStore(options: KuboStoreOptions): Promise<HeliaContentStore> {
  const client = createKuboClient({ url: options.apiUrl });
  const helia = createHeliaLight({
    blockstore: new VerifyingBlockstore(new KuboBlockstore(client, options.apiUrl), options.onCorruptBlock),
    blockBrokers: [kuboBlockBroker(client, options.apiUrl)],
    codecs: [jsonCodec],
  });
  await helia.start();
  const storeOptions: HeliaContentStoreOptions = {
    kind: "kubo",
    fetchTimeoutMs: options.fetchTimeoutMs,
    pinning: kuboPinning(client, options.apiUrl),
    onClose: async () => void (await helia.stop()),
  };
  return new HeliaContentStore(helia, storeOptions);
}

async function rpc<T>(apiUrl: string, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof KuboRpcError) throw err;
    const name = (err as Error).name;
    if (name === "AbortError" || name === "TimeoutError") throw err;
    throw new KuboRpcError(`Kubo RPC ${what} at ${apiUrl} failed: ${(err as Error).message}`, { apiUrl, what, cause: err });
  }
}

/** Kubo's blockstore seen through its RPC API; `has` is local only (offline), so misses go to the broker. */
export class KuboBlockstore implements Blockstore {
  readonly #client: KuboRPCClient;
  readonly #apiUrl: string;

  constructor(client: KuboRPCClient, apiUrl: string) {
    this.#client = client;
    this.#apiUrl = apiUrl;
  }

  async has(key: CID, options?: AbortOptions): Promise<boolean> {
    try {
      await this.#client.block.stat(key, { signal: options?.signal, searchParams: new URLSearchParams({ offline: "true" }) });
      return true;
    } catch (err) {
      if (/not found|block was not found|blockservice: key not found/i.test((err as Error).message)) return false;
      return rpc(this.#apiUrl, `block/stat ${key}`, () => Promise.reject(err));
    }
  }

  async put(key: CID, val: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>, options?: AbortOptions): Promise<CID> {
    const bytes = await collect(val instanceof Uint8Array ? [val] : val);
    const codec = CODEC_NAMES.get(key.code);
    if (codec === undefined) throw new KuboRpcError(`Cannot store block ${key}: codec 0x${key.code.toString(16)} has no Kubo name here.`, { cid: key.toString() });
    const stored = await rpc(this.#apiUrl, `block/put ${key}`, () =>
      this.#client.block.put(bytes, { signal: options?.signal, searchParams: new URLSearchParams({ "cid-codec": codec, mhtype: "sha2-256" }) }),
    );
    if (!stored.multihash.bytes.every((b, i) => b === key.multihash.bytes[i])) {
      throw new KuboRpcError(`Kubo stored block ${key} under ${stored}: the daemon hashed different bytes.`, { cid: key.toString(), stored: stored.toString() });
    }
    return key;
  }

  async *putMany(source: Iterable<InputPair> | AsyncIterable<InputPair>, options?: AbortOptions): AsyncGenerator<CID> {
    for await (const { cid, bytes } of source) yield await this.put(cid, bytes, options);
  }

  async *get(key: CID, options?: AbortOptions): AsyncGenerator<Uint8Array> {
    yield await rpc(this.#apiUrl, `block/get ${key}`, () => this.#client.block.get(key, { signal: options?.signal, searchParams: new URLSearchParams({ offline: "true" }) }));
  }

  async *getMany(source: Iterable<CID> | AsyncIterable<CID>, options?: AbortOptions): AsyncGenerator<Pair> {
    for await (const cid of source) {
      const bytes = await collect(this.get(cid, options));
      yield { cid, bytes: (function* () { yield bytes; })() };
    }
  }

  async delete(key: CID, options?: AbortOptions): Promise<void> {
    await rpc(this.#apiUrl, `block/rm ${key}`, async () => {
      for await (const result of this.#client.block.rm(key, { signal: options?.signal, force: true })) {
        if (result.error) throw result.error;
      }
    });
  }

  async *deleteMany(source: Iterable<CID> | AsyncIterable<CID>, options?: AbortOptions): AsyncGenerator<CID> {
    for await (const cid of source) {
      await this.delete(cid, options);
      yield cid;
    }
  }

  // eslint-disable-next-line require-yield
  async *getAll(): AsyncGenerator<Pair> {
    throw new KuboRpcError("Listing every block of a Kubo repo is not supported; Kubo collects its own garbage (repo/gc).");
  }
}

/** Blocks Kubo lacks are fetched by Kubo from its network; Helia verifies them before use. */
function kuboBlockBroker(client: KuboRPCClient, apiUrl: string): BlockBroker {
  return {
    name: "kubo",
    async retrieve(cid: CID, options: BlockRetrievalOptions = {}) {
      const bytes = await rpc(apiUrl, `block/get ${cid}`, () => client.block.get(cid, { signal: options.signal }));
      await options.validateFn?.(bytes);
      return bytes;
    },
  };
}

function kuboPinning(client: KuboRPCClient, apiUrl: string): Pinning {
  return {
    async pin(cid) {
      await rpc(apiUrl, `pin/add ${cid}`, () => client.pin.add(cid, { recursive: true }));
    },
    async unpin(cid) {
      await rpc(apiUrl, `pin/rm ${cid}`, async () => {
        try {
          await client.pin.rm(cid, { recursive: true });
        } catch (err) {
          if (!/not pinned/i.test((err as Error).message)) throw err;
        }
      });
    },
    async listPins() {
      return rpc(apiUrl, "pin/ls", async () => {
        const pins: CID[] = [];
        for await (const pin of client.pin.ls({ type: "recursive" })) pins.push(CID.asCID(pin.cid) ?? CID.parse(pin.cid.toString()));
        return pins;
      });
    },
    async gc() {
      return rpc(apiUrl, "repo/gc", async () => {
        let removed = 0;
        for await (const result of client.repo.gc()) {
          if (result.err) throw result.err;
          if (result.cid) removed++;
        }
        return removed;
      });
    },
  };
}
