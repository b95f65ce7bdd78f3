export type { ContentStore, ContentStoreReadOptions, GatewayRequestInit } from "./content-store.ts";
export * from "./errors.ts";
export { createHeliaNode, DEFAULT_LISTEN, type HeliaNode, type HeliaNodeOptions, type HeliaNodeServices } from "./helia-node.ts";
export { DEFAULT_FETCH_TIMEOUT_MS, FILE_IMPORT_OPTIONS, HeliaContentStore, parseCid, type HeliaContentStoreOptions, type Pinning } from "./helia-store.ts";
export { KuboBlockstore, openKuboStore, type KuboStoreOptions } from "./kubo-store.ts";
export { DEFAULT_STORE_URL, openContentStore, parseStoreUrl, type OpenedStore, type OpenStoreOptions, type StoreLocation } from "./open-store.ts";
export { VerifyingBlockstore } from "./verifying-blockstore.ts";
export { blockMatchesCid } from "./verify-block.ts";
