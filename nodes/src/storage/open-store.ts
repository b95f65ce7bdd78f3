/**
 * Opens the ContentStore a storage URL names:
 *   `helia:` (default)          embedded Helia, blocks under `<dataDir>/ipfs`, TCP + bitswap
 *   `kubo+http://host:port`     an external Kubo daemon's RPC API (also `kubo+https://`)
 */
import type { CID } from "multiformats/cid";
import type { ContentStore } from "./content-store.ts";
import { StoreUrlError } from "./errors.ts";
import { createHeliaNode, type HeliaNode } from "./helia-node.ts";
import { HeliaContentStore } from "./helia-store.ts";
import { openKuboStore } from "./kubo-store.ts";

export const DEFAULT_STORE_URL = "helia:";

export interface OpenStoreOptions {
  dataDir: string;
  /** libp2p listen addresses of the embedded node (Helia only). */
  listen?: string[];
  fetchTimeoutMs?: number;
  onCorruptBlock?: (cid: CID) => void;
}

export interface OpenedStore {
  store: ContentStore;
  /** The embedded libp2p/Helia node (gossipsub lives on it); absent with Kubo. */
  node?: HeliaNode;
}

export type StoreLocation = { kind: "helia" } | { kind: "kubo"; apiUrl: string };

export function parseStoreUrl(url: string): StoreLocation {
  if (url === "helia:" || url === "helia" || url === "") return { kind: "helia" };
  const match = /^kubo\+(https?):\/\/([^/]+)\/?$/.exec(url);
  if (match) return { kind: "kubo", apiUrl: `${match[1]}://${match[2]}` };
  throw new StoreUrlError(`Storage URL "${url}" is not supported: use "helia:" for the embedded node or "kubo+http://host:port" for a Kubo daemon's RPC API.`, { url });
}

export async function openContentStore(url: string, options: OpenStoreOptions): Promise<OpenedStore> {
  const location = parseStoreUrl(url);
  if (location.kind === "kubo") {
    return { store: await openKuboStore({ apiUrl: location.apiUrl, fetchTimeoutMs: options.fetchTimeoutMs, onCorruptBlock: options.onCorruptBlock }) };
  }
  const node = await createHeliaNode({ dataDir: options.dataDir, listen: options.listen, onCorruptBlock: options.onCorruptBlock });
  return { store: new HeliaContentStore(node, { fetchTimeoutMs: options.fetchTimeoutMs }), node };
}
