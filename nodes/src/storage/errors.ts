/**
 * Errors raised by the storage layer. Each carries the values that explain it in `details`, so the
 * API can answer with a precise 4xx/5xx and the CLI can print what to fix.
 */
export class StorageError extends Error {
  override name = "StorageError";
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.details = details;
  }
}

/** A string that is not a CID, or a CID this node cannot verify (unsupported hash function). */
export class InvalidCidError extends StorageError {
  override name = "InvalidCidError";
}

/** A block whose bytes do not hash to its CID. The bad copy has already been dropped from the blockstore. */
export class CorruptBlockError extends StorageError {
  override name = "CorruptBlockError";
}

/** Content that is neither stored locally nor delivered by a connected peer before the deadline. */
export class ContentUnavailableError extends StorageError {
  override name = "ContentUnavailableError";
}

/** A storage URL that names no supported backend (`helia:`, `kubo+http://host:port`). */
export class StoreUrlError extends StorageError {
  override name = "StoreUrlError";
}

/** A Kubo RPC call that failed (daemon down, HTTP error, malformed reply). */
export class KuboRpcError extends StorageError {
  override name = "KuboRpcError";
}
