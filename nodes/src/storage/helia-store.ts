/**
 * ContentStore over a Helia node: the embedded one (`createHeliaNode`, blocks on disk, bitswap to
 * peers) or the light client `kubo-store.ts` builds over a Kubo daemon's block API. Both verify every
 * block against its CID (VerifyingBlockstore for local reads, Helia itself for blocks from peers).
 */
import { json } from "@helia/json";
import { unixfs } from "@helia/unixfs";
import { createVerifiedFetchWithHelia, type VerifiedFetch } from "@helia/verified-fetch";
import type { Helia } from "helia";
import { CID } from "multiformats/cid";
import * as jsonCodec from "multiformats/codecs/json";
import * as raw from "multiformats/codecs/raw";
import type { ContentStore, ContentStoreReadOptions, GatewayRequestInit } from "./content-store.ts";
import { gatewayContentType } from "./gateway-content-type.ts";
import { ContentUnavailableError, CorruptBlockError, InvalidCidError, StorageError } from "./errors.ts";
import { collect } from "./verifying-blockstore.ts";

const DAG_PB_CODE = 0x70;
export const DEFAULT_FETCH_TIMEOUT_MS = 30_000;

/**
 * File layout, fixed so a file's CID does not depend on library defaults: the IPIP-499
 * `unixfs-v1-2025` profile (CIDv1, raw leaves, 1 MiB chunks, up to 1,024 links per node), which
 * Kubo also offers (`ipfs add --profile unixfs-v1-2025`). A file up to 1 MiB is one raw block.
 */
export const FILE_IMPORT_OPTIONS = { profile: "unixfs-v1-2025", cidVersion: 1, rawLeaves: true, reduceSingleLeafToSelf: true } as const;

export interface HeliaContentStoreOptions {
  kind?: "helia" | "kubo";
  fetchTimeoutMs?: number;
  /** Pins, unpins, lists pins and collects garbage; default Helia's own pinning. Kubo passes its daemon's. */
  pinning?: Pinning;
  /** What `close` stops; default stops the Helia node. */
  onClose?: () => Promise<void>;
}

export interface Pinning {
  pin(cid: CID): Promise<void>;
  unpin(cid: CID): Promise<void>;
  listPins(): Promise<CID[]>;
  gc(): Promise<number>;
}

export class HeliaContentStore implements ContentStore {
  readonly kind: "helia" | "kubo";
  readonly helia: Helia;
  readonly #fs;
  readonly #json;
  readonly #fetchTimeoutMs: number;
  readonly #pinning: Pinning;
  readonly #onClose: () => Promise<void>;
  #verifiedFetch: Promise<VerifiedFetch> | undefined;

  constructor(helia: Helia, options: HeliaContentStoreOptions = {}) {
    this.kind = options.kind ?? "helia";
    this.helia = helia;
    this.#fs = unixfs(helia);
    this.#json = json(helia);
    this.#fetchTimeoutMs = options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
    this.#pinning = options.pinning ?? heliaPinning(helia, this.#fetchTimeoutMs);
    this.#onClose = options.onClose ?? (async () => void (await helia.stop()));
  }

  async addBytes(bytes: Uint8Array): Promise<CID> {
    const cid = await this.#fs.addBytes(bytes, FILE_IMPORT_OPTIONS);
    await this.pin(cid);
    return cid;
  }

  async addJson(value: unknown): Promise<CID> {
    const cid = await this.#json.add(value);
    await this.pin(cid);
    return cid;
  }

  async get(cid: CID, options: ContentStoreReadOptions = {}): Promise<Uint8Array> {
    return this.#read(cid, options, async (signal) => {
      if (cid.code === raw.code || cid.code === DAG_PB_CODE) return collect(this.#fs.cat(cid, { signal }));
      return collect(this.helia.blockstore.get(cid, { signal }));
    });
  }

  async getJson<T = unknown>(cid: CID, options: ContentStoreReadOptions = {}): Promise<T> {
    const bytes = await this.get(cid, options);
    try {
      if (cid.code === jsonCodec.code) return jsonCodec.decode(bytes) as T;
      return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as T;
    } catch (err) {
      throw new StorageError(`Content ${cid} is not a JSON document: ${(err as Error).message}`, { cid: cid.toString() });
    }
  }

  has(cid: CID): Promise<boolean> {
    return Promise.resolve(this.helia.blockstore.has(cid));
  }

  pin(cid: CID): Promise<void> {
    return this.#pinning.pin(cid);
  }

  unpin(cid: CID): Promise<void> {
    return this.#pinning.unpin(cid);
  }

  listPins(): Promise<CID[]> {
    return this.#pinning.listPins();
  }

  gc(): Promise<number> {
    return this.#pinning.gc();
  }

  async gatewayFetch(url: string, init: GatewayRequestInit = {}): Promise<Response> {
    // Never createVerifiedFetch(): it would build a second, networked node.
    this.#verifiedFetch ??= createVerifiedFetchWithHelia(this.helia, { contentTypeParser: gatewayContentType });
    const fetch = await this.#verifiedFetch;
    // Content we lack is fetched whole (verified, under the timeout) before it is served:
    // verified-fetch's own streaming fetch from peers can cancel and re-request a block that the
    // peer then declines to resend for 5 s (bitswap's do-not-resend window), stalling the response.
    const root = /^ipfs:\/\/([^/?#]+)/.exec(url)?.[1];
    if (root !== undefined) {
      const cid = parseCid(root);
      if (!(await this.has(cid))) {
        try {
          await this.get(cid, { signal: init.signal });
        } catch (err) {
          if (err instanceof ContentUnavailableError) throw err;
          // not a file (a directory, say): leave it to verified-fetch
        }
      }
    }
    // No sessions: a session starts from a provider lookup, and this node has no content routing
    // (no DHT), so it would find nobody; without one, bitswap asks every connected peer.
    return fetch(url, { headers: init.headers, signal: init.signal ?? AbortSignal.timeout(this.#fetchTimeoutMs), session: false });
  }

  async close(): Promise<void> {
    await this.#onClose();
  }

  /**
   * Runs a read under the timeout. A block found corrupt on disk has been deleted by the
   * VerifyingBlockstore, so one retry fetches it from peers; if none has it the error says so.
   */
  async #read<T>(cid: CID, options: ContentStoreReadOptions, read: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.#fetchTimeoutMs;
    let corrupt: CorruptBlockError | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const signal = options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
      try {
        return await read(signal);
      } catch (err) {
        if (err instanceof CorruptBlockError && corrupt === undefined) {
          corrupt = err;
          continue;
        }
        if (err instanceof StorageError && !(err instanceof CorruptBlockError)) throw err;
        // Aborted (nobody answered in time), no broker could load the block, or the good copy was corrupt too.
        if (signal.aborted || isAbort(err) || (err as Error).name === "LoadBlockFailedError" || corrupt !== undefined) {
          const why = corrupt ? `block ${corrupt.details.cid} was corrupt on disk (deleted) and ` : "";
          throw new ContentUnavailableError(`Content ${cid}: ${why}no connected peer supplied ${corrupt ? "a good copy" : "it"} within ${timeoutMs} ms.`, {
            cid: cid.toString(),
            corruptBlock: corrupt?.details.cid,
            timeoutMs,
          });
        }
        throw new StorageError(`Reading ${cid} failed: ${(err as Error).message}`, { cid: cid.toString(), cause: err });
      }
    }
    throw corrupt!;
  }
}

function isAbort(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === "AbortError" || name === "TimeoutError";
}

/**
 * Helia's own pin records (recursive pins in the datastore) and garbage collector. Pinning walks the
 * whole DAG, fetching blocks it lacks from peers, so it gives up after `timeoutMs`.
 */
export function heliaPinning(helia: Helia, timeoutMs = DEFAULT_FETCH_TIMEOUT_MS): Pinning {
  return {
    async pin(cid) {
      if (await isRootPin(helia, cid)) return;
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        for await (const _ of helia.pins.add(cid, { signal })) void _;
      } catch (err) {
        if (signal.aborted || isAbort(err)) {
          throw new ContentUnavailableError(`Cannot pin ${cid}: some of its blocks are neither stored here nor supplied by a connected peer within ${timeoutMs} ms.`, { cid: cid.toString(), timeoutMs });
        }
        throw err;
      }
    },
    async unpin(cid) {
      if (!(await isRootPin(helia, cid))) return;
      for await (const _ of helia.pins.rm(cid)) void _;
    },
    async listPins() {
      const pins: CID[] = [];
      for await (const pin of helia.pins.ls()) pins.push(pin.cid);
      return pins;
    },
    async gc() {
      let deleted = 0;
      await helia.gc({
        onProgress: (event) => {
          if (event.type === "helia:gc:deleted") deleted++;
        },
      });
      return deleted;
    },
  };
}

async function isRootPin(helia: Helia, cid: CID): Promise<boolean> {
  try {
    await helia.pins.get(cid);
    return true;
  } catch (err) {
    if ((err as Error).name === "NotFoundError") return false;
    throw err;
  }
}

/** Parses a CID string, naming the problem when it is not one. */
export function parseCid(text: string): CID {
  try {
    return CID.parse(text);
  } catch (err) {
    throw new InvalidCidError(`"${text}" is not a CID: ${(err as Error).message}`, { cid: text });
  }
}
