/**
 * The settlement scheduler's durable state, in the node's sqlite (synchronous = FULL): every batch transaction
 * is written here, signed, BEFORE it is broadcast, so a node killed at any point finds it on restart and either
 * sees its receipt or broadcasts the very same signed transaction again (same nonce: it can be mined at most
 * once). Channels remember what was redeemed on-chain, records what pool they earned and which credit batch
 * credited them, and skipped vouchers why they were skipped.
 *
 * Tables are created here (IF NOT EXISTS), like the serving module's, so the schema evolves with this module.
 */
import type { Address, Hex } from "viem";
import type { NodeDatabase } from "../state/database.ts";

/** `redeem`: the latest vouchers, no root. `credit`: a cumulative credit root over paid records, no vouchers. */
export type BatchKind = "redeem" | "credit";
/**
 * signed: written with its signed transaction, maybe broadcast; settled / reverted: its receipt was seen; dropped:
 * its nonce went to another transaction; discarded: a settled credit batch whose root the chain threw away (a
 * challenge upheld), its records given back to the uncredited set.
 */
export type BatchStatus = "signed" | "settled" | "reverted" | "dropped" | "discarded";

export interface JournalBatch {
  id: number;
  kind: BatchKind;
  status: BatchStatus;
  /** redeem: the vouchers (JSON); credit: { recordIds, batchCid, batch } (JSON). */
  payload: string;
  nonce: number;
  /** The latest signed version (a fee bump signs the same nonce again). */
  txHash: Hex;
  rawTx: Hex;
  /** Every signed version's hash: any of them may be the one mined. */
  txHashes: Hex[];
  chainBatchId: bigint | null;
  error: string | null;
  createdAt: string;
}

interface BatchRow {
  id: number;
  kind: BatchKind;
  status: BatchStatus;
  payload: string;
  nonce: number;
  tx_hash: string;
  raw_tx: string;
  tx_hashes: string | null;
  chain_batch_id: string | null;
  error: string | null;
  created_at: string;
}

const fromRow = (row: BatchRow): JournalBatch => ({
  id: row.id, kind: row.kind, status: row.status, payload: row.payload, nonce: row.nonce, txHash: row.tx_hash as Hex,
  rawTx: row.raw_tx as Hex, txHashes: row.tx_hashes === null ? [row.tx_hash as Hex] : (JSON.parse(row.tx_hashes) as Hex[]),
  chainBatchId: row.chain_batch_id === null ? null : BigInt(row.chain_batch_id), error: row.error,
  createdAt: row.created_at,
});

export interface SkippedVoucher {
  batchId: number;
  payer: Address;
  modelId: bigint;
  cumulativeAmount: bigint;
  reason: number;
  reasonName: string;
}

export class SettlementJournal {
  readonly #database: NodeDatabase;

  constructor(database: NodeDatabase) {
    this.#database = database;
    database.db.exec(`
      CREATE TABLE IF NOT EXISTS settle_batches (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        payload TEXT NOT NULL,
        nonce INTEGER NOT NULL,
        tx_hash TEXT NOT NULL,
        raw_tx TEXT NOT NULL,
        chain_batch_id TEXT,
        error TEXT,
        created_at TEXT NOT NULL,
        settled_at TEXT
      );
      CREATE TABLE IF NOT EXISTS settle_channels (
        payer TEXT NOT NULL,
        model_id TEXT NOT NULL,
        redeemed TEXT NOT NULL,
        PRIMARY KEY (payer, model_id)
      );
      CREATE TABLE IF NOT EXISTS settle_record_pools (
        record_id TEXT PRIMARY KEY,
        pool TEXT NOT NULL,
        redeem_batch INTEGER NOT NULL,
        credit_batch INTEGER
      );
      CREATE TABLE IF NOT EXISTS settle_skipped (
        batch_id INTEGER NOT NULL,
        payer TEXT NOT NULL,
        model_id TEXT NOT NULL,
        cumulative_amount TEXT NOT NULL,
        reason INTEGER NOT NULL,
        reason_name TEXT NOT NULL,
        PRIMARY KEY (batch_id, payer, model_id)
      );
    `);
    // Databases from before fee bumps were journaled: one hash per batch.
    const columns = database.db.prepare("PRAGMA table_info(settle_batches)").all() as { name: string }[];
    if (!columns.some((c) => c.name === "tx_hashes")) database.db.exec("ALTER TABLE settle_batches ADD COLUMN tx_hashes TEXT");
  }

  transaction<T>(fn: () => T): T {
    return this.#database.transaction(fn);
  }

  /** Writes a signed batch transaction before it is broadcast. */
  addSigned(kind: BatchKind, payload: string, nonce: number, txHash: Hex, rawTx: Hex): JournalBatch {
    const createdAt = new Date().toISOString();
    const result = this.#database.db.prepare(`
      INSERT INTO settle_batches (kind, status, payload, nonce, tx_hash, raw_tx, tx_hashes, created_at) VALUES (?, 'signed', ?, ?, ?, ?, ?, ?)
    `).run(kind, payload, nonce, txHash, rawTx, JSON.stringify([txHash]), createdAt);
    return this.batch(Number(result.lastInsertRowid))!;
  }

  /**
   * Another signed version of a batch's transaction, written before it is broadcast: a fee bump (same nonce), or
   * a new nonce when the first was taken before it went out (the older versions can then never be mined).
   */
  addVersion(id: number, nonce: number, txHash: Hex, rawTx: Hex): void {
    const batch = this.batch(id)!;
    const hashes = batch.txHashes.includes(txHash) ? batch.txHashes : [...batch.txHashes, txHash];
    this.#database.db.prepare("UPDATE settle_batches SET nonce = ?, tx_hash = ?, raw_tx = ?, tx_hashes = ? WHERE id = ?")
      .run(nonce, txHash, rawTx, JSON.stringify(hashes), id);
  }

  batch(id: number): JournalBatch | undefined {
    const row = this.#database.db.prepare("SELECT * FROM settle_batches WHERE id = ?").get(id) as BatchRow | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  /** Batches signed but not yet seen mined (at most one in practice: the scheduler sends one at a time). */
  unfinished(): JournalBatch[] {
    return (this.#database.db.prepare("SELECT * FROM settle_batches WHERE status = 'signed' ORDER BY id").all() as unknown as BatchRow[]).map(fromRow);
  }

  batches(kind?: BatchKind): JournalBatch[] {
    const rows = kind === undefined
      ? this.#database.db.prepare("SELECT * FROM settle_batches ORDER BY id").all()
      : this.#database.db.prepare("SELECT * FROM settle_batches WHERE kind = ? ORDER BY id").all(kind);
    return (rows as unknown as BatchRow[]).map(fromRow);
  }

  /** The last credit batch that settled (its document holds every account's cumulative credit). */
  lastSettledCredit(): JournalBatch | undefined {
    const row = this.#database.db.prepare("SELECT * FROM settle_batches WHERE kind = 'credit' AND status = 'settled' ORDER BY id DESC LIMIT 1").get() as BatchRow | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  finish(id: number, status: Exclude<BatchStatus, "signed">, chainBatchId: bigint | null, error: string | null = null): void {
    this.#database.db.prepare("UPDATE settle_batches SET status = ?, chain_batch_id = ?, error = ?, settled_at = ? WHERE id = ?")
      .run(status, chainBatchId === null ? null : chainBatchId.toString(), error, new Date().toISOString(), id);
  }

  /** What the chain redeemed on a channel, as far as this node's batches know. */
  redeemed(payer: Address, modelId: bigint): bigint {
    const row = this.#database.db.prepare("SELECT redeemed FROM settle_channels WHERE payer = ? AND model_id = ?").get(payer, modelId.toString()) as { redeemed: string } | undefined;
    return row === undefined ? 0n : BigInt(row.redeemed);
  }

  setRedeemed(payer: Address, modelId: bigint, amount: bigint): void {
    this.#database.db.prepare(`
      INSERT INTO settle_channels (payer, model_id, redeemed) VALUES (?, ?, ?)
      ON CONFLICT (payer, model_id) DO UPDATE SET redeemed = excluded.redeemed
    `).run(payer, modelId.toString(), amount.toString());
  }

  addRecordPool(recordId: string, pool: bigint, redeemBatch: number): void {
    this.#database.db.prepare("INSERT OR IGNORE INTO settle_record_pools (record_id, pool, redeem_batch) VALUES (?, ?, ?)").run(recordId, pool.toString(), redeemBatch);
  }

  /** Records paid by a redeemed voucher and not yet credited by a settled credit batch. */
  uncreditedPools(): Map<string, bigint> {
    const rows = this.#database.db.prepare("SELECT record_id, pool FROM settle_record_pools WHERE credit_batch IS NULL ORDER BY record_id").all() as { record_id: string; pool: string }[];
    return new Map(rows.map((row) => [row.record_id, BigInt(row.pool)]));
  }

  /**
   * A settled credit batch whose root never became final: its records are uncredited again (the next root, built
   * on the final one, credits them once) and the batch is marked `discarded`. Returns how many records came back.
   */
  discardCredit(id: number, reason: string): number {
    return this.transaction(() => {
      const result = this.#database.db.prepare("UPDATE settle_record_pools SET credit_batch = NULL WHERE credit_batch = ?").run(id);
      this.#database.db.prepare("UPDATE settle_batches SET status = 'discarded', error = ? WHERE id = ?").run(reason, id);
      return Number(result.changes);
    });
  }

  markCredited(recordIds: readonly string[], creditBatch: number): void {
    const update = this.#database.db.prepare("UPDATE settle_record_pools SET credit_batch = ? WHERE record_id = ?");
    for (const id of recordIds) update.run(creditBatch, id);
  }

  addSkipped(skipped: SkippedVoucher): void {
    this.#database.db.prepare(`
      INSERT OR REPLACE INTO settle_skipped (batch_id, payer, model_id, cumulative_amount, reason, reason_name) VALUES (?, ?, ?, ?, ?, ?)
    `).run(skipped.batchId, skipped.payer, skipped.modelId.toString(), skipped.cumulativeAmount.toString(), skipped.reason, skipped.reasonName);
  }

  skipped(): SkippedVoucher[] {
    const rows = this.#database.db.prepare("SELECT * FROM settle_skipped ORDER BY batch_id, payer, model_id").all() as Record<string, string | number>[];
    return rows.map((row) => ({
      batchId: Number(row.batch_id), payer: row.payer as Address, modelId: BigInt(row.model_id), cumulativeAmount: BigInt(row.cumulative_amount),
      reason: Number(row.reason), reasonName: String(row.reason_name),
    }));
  }

  /** Whether this voucher was skipped for a reason that retrying cannot fix (all but insufficient funds). */
  isDeadVoucher(payer: Address, modelId: bigint, cumulativeAmount: bigint): boolean {
    const row = this.#database.db.prepare(
      "SELECT reason FROM settle_skipped WHERE payer = ? AND model_id = ? AND cumulative_amount = ? AND reason <> 6 LIMIT 1",
    ).get(payer, modelId.toString(), cumulativeAmount.toString());
    return row !== undefined;
  }
}
