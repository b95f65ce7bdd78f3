/**
 * What the event follower persists, per follower name: the checkpoint (last fully processed block and its hash),
 * the hashes of recently processed blocks (to find the fork point after a reorg), and which events were
 * delivered, keyed by (txHash, logIndex), so a restart in the middle of a range delivers none twice.
 */
import type { NodeDatabase } from "./database.ts";

export interface BlockRef {
  number: bigint;
  hash: string;
}

/** Block hashes kept for reorg checks; a reorg deeper than this rewinds to the oldest kept (handlers are idempotent). */
const KEPT_BLOCK_HASHES = 512n;

export class ChainStore {
  readonly #database: NodeDatabase;
  readonly name: string;

  constructor(database: NodeDatabase, name = "chain") {
    this.#database = database;
    this.name = name;
  }

  get database(): NodeDatabase {
    return this.#database;
  }

  cursor(): BlockRef | undefined {
    const row = this.#database.db.prepare("SELECT block_number, block_hash FROM chain_cursor WHERE name = ?").get(this.name) as
      | { block_number: number; block_hash: string }
      | undefined;
    return row === undefined ? undefined : { number: BigInt(row.block_number), hash: row.block_hash };
  }

  /** Moves the checkpoint to `block` and remembers its hash (plus `seen`, blocks whose logs were delivered). */
  advance(block: BlockRef, seen: readonly BlockRef[] = []): void {
    this.#database.transaction(() => {
      const db = this.#database.db;
      const remember = db.prepare("INSERT OR REPLACE INTO chain_blocks (name, block_number, block_hash) VALUES (?, ?, ?)");
      for (const b of [...seen, block]) remember.run(this.name, b.number, b.hash);
      db.prepare("INSERT OR REPLACE INTO chain_cursor (name, block_number, block_hash) VALUES (?, ?, ?)").run(this.name, block.number, block.hash);
      db.prepare("DELETE FROM chain_blocks WHERE name = ? AND block_number < ?").run(this.name, block.number - KEPT_BLOCK_HASHES);
    });
  }

  /** Remembered blocks at or below `atOrBelow`, newest first. */
  knownBlocks(atOrBelow: bigint): BlockRef[] {
    const rows = this.#database.db.prepare(
      "SELECT block_number, block_hash FROM chain_blocks WHERE name = ? AND block_number <= ? ORDER BY block_number DESC",
    ).all(this.name, atOrBelow) as Array<{ block_number: number; block_hash: string }>;
    return rows.map((r) => ({ number: BigInt(r.block_number), hash: r.block_hash }));
  }

  /**
   * Forgets everything above `fork` (a block both chains share, or undefined for "before the first block"):
   * the checkpoint moves back and events above it will be delivered again.
   */
  rewind(fork: BlockRef | undefined): void {
    this.#database.transaction(() => {
      const db = this.#database.db;
      const above = fork === undefined ? -1n : fork.number;
      db.prepare("DELETE FROM chain_blocks WHERE name = ? AND block_number > ?").run(this.name, above);
      db.prepare("DELETE FROM chain_events WHERE name = ? AND block_number > ?").run(this.name, above);
      if (fork === undefined) db.prepare("DELETE FROM chain_cursor WHERE name = ?").run(this.name);
      else db.prepare("INSERT OR REPLACE INTO chain_cursor (name, block_number, block_hash) VALUES (?, ?, ?)").run(this.name, fork.number, fork.hash);
    });
  }

  isDelivered(txHash: string, logIndex: number): boolean {
    return this.#database.db.prepare("SELECT 1 FROM chain_events WHERE name = ? AND tx_hash = ? AND log_index = ?")
      .get(this.name, txHash, logIndex) !== undefined;
  }

  markDelivered(event: { txHash: string; logIndex: number; blockNumber: bigint; blockHash: string; contract: string; eventName: string }): void {
    this.#database.db.prepare(
      "INSERT OR IGNORE INTO chain_events (name, tx_hash, log_index, block_number, block_hash, contract, event_name) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ).run(this.name, event.txHash, event.logIndex, event.blockNumber, event.blockHash, event.contract, event.eventName);
  }

  deliveredCount(): number {
    return Number((this.#database.db.prepare("SELECT COUNT(*) AS n FROM chain_events WHERE name = ?").get(this.name) as { n: number }).n);
  }
}
