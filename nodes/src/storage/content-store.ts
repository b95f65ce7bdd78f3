/**
 * The one storage interface the node uses. Two implementations: embedded Helia (`helia-store.ts`,
 * the default) and an external Kubo daemon (`kubo-store.ts`), chosen by a URL (`open-store.ts`).
 *
 * Files are stored as UnixFS, profile `unixfs-v1-2025` (CIDv1, raw leaves: one raw block up to
 * 1 MiB, a balanced dag-pb tree of 1 MiB raw chunks above that); JSON documents as single blocks with
 * the `json` codec (0x0200). Every read is verified against the CID, block by block.
 */
import type { CID } from "multiformats/cid";

export interface ContentStoreReadOptions {
  /** Stop looking (locally or on peers) after this long; default the store's own fetch timeout. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface GatewayRequestInit {
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface ContentStore {
  /** Which backend this is, for logs and `status`. */
  readonly kind: "helia" | "kubo";
  /** Stores bytes as a UnixFS file (raw leaves, CIDv1) and pins it. */
  addBytes(bytes: Uint8Array): Promise<CID>;
  /** Stores a JSON value as one `json`-codec block and pins it. */
  addJson(value: unknown): Promise<CID>;
  /** The file's bytes (UnixFS or raw CID), each block verified; fetched from peers when missing locally. */
  get(cid: CID, options?: ContentStoreReadOptions): Promise<Uint8Array>;
  /** A `json`-codec (or UnixFS/raw JSON file) document, parsed. */
  getJson<T = unknown>(cid: CID, options?: ContentStoreReadOptions): Promise<T>;
  /** True when the root block is stored locally (no network). */
  has(cid: CID): Promise<boolean>;
  /** Keeps the whole DAG under `cid` through garbage collection (fetching missing blocks). */
  pin(cid: CID): Promise<void>;
  unpin(cid: CID): Promise<void>;
  /** Roots pinned explicitly (recursive pins). */
  listPins(): Promise<CID[]>;
  /** Deletes every block no pin protects; returns how many blocks were removed. */
  gc(): Promise<number>;
  /**
   * A verified HTTP fetch of `ipfs://<cid>[/path]` for the gateway: content types, ranges and CAR/raw
   * via Accept come from @helia/verified-fetch over this store's blocks.
   */
  gatewayFetch(url: string, init?: GatewayRequestInit): Promise<Response>;
  close(): Promise<void>;
}
