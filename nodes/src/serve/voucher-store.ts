/**
 * Vouchers this node accepted, in its sqlite database, written (synchronous = FULL, inside a transaction)
 * before the response to the paid request starts: a crash never loses a payment the node was given. The
 * latest voucher of each (payer, model) channel is what the settlement batch will redeem; the others are
 * kept as the request history.
 *
 * A request that fails on the node's side (the engine or the upstream server) is not charged: its voucher is
 * voided (`void`), moved to `serve_voided_vouchers`, so the channel's amount goes back to the last request that
 * was served and the next voucher is accepted from there. When a later voucher was accepted on top of the failed
 * one (a payer sending concurrently), the failed amount is already inside that voucher's cumulative amount: it is
 * kept as the channel's credit instead, which lowers what the next vouchers must add (`accept`).
 *
 * The table belongs to the serving module and is created here (IF NOT EXISTS) rather than in the shared
 * migration list, so the serving schema evolves with this module.
 */
import type { Address, Hex } from "viem";
import type { NodeDatabase } from "../state/database.ts";
import { channelDiscount } from "./pricing.ts";
import type { Voucher } from "./voucher.ts";

/** Amounts are stored as 78-digit zero-padded decimals so that text order is numeric order. */
const pad = (value: bigint): string => value.toString().padStart(78, "0");

export interface AcceptedVoucher extends Voucher {
  signer: Address;
  requestId: string;
  /** What the request was charged: the voucher's increment over the channel's previous amount. */
  charged: bigint;
  acceptedAt: string;
}

interface Row {
  payer: string;
  model_id: string;
  terms_version: string;
  cumulative_amount: string;
  signature: string;
  signer: string;
  request_id: string;
  charged: string;
  accepted_at: string;
}

const fromRow = (row: Row): AcceptedVoucher => ({
  payer: row.payer as Address,
  modelId: BigInt(row.model_id),
  termsVersion: BigInt(row.terms_version),
  cumulativeAmount: BigInt(row.cumulative_amount),
  signature: row.signature as Hex,
  signer: row.signer as Address,
  requestId: row.request_id,
  charged: BigInt(row.charged),
  acceptedAt: row.accepted_at,
});

/**
 * The columns of an accepted voucher (all but its request id, which keys the two tables differently): a voided
 * voucher keeps every one of them, so both tables take this one list and cannot drift apart.
 */
const VOUCHER_COLUMNS = `
        payer TEXT NOT NULL,
        model_id TEXT NOT NULL,
        cumulative_amount TEXT NOT NULL,
        terms_version TEXT NOT NULL,
        signature TEXT NOT NULL,
        signer TEXT NOT NULL,
        charged TEXT NOT NULL,
        accepted_at TEXT NOT NULL`;

export class VoucherStore {
  readonly #database: NodeDatabase;

  constructor(database: NodeDatabase) {
    this.#database = database;
    database.db.exec(`
      CREATE TABLE IF NOT EXISTS serve_vouchers (
        request_id TEXT NOT NULL,
        ${VOUCHER_COLUMNS},
        PRIMARY KEY (payer, model_id, cumulative_amount)
      );
      CREATE INDEX IF NOT EXISTS serve_vouchers_by_request ON serve_vouchers (request_id);
      CREATE TABLE IF NOT EXISTS serve_voided_vouchers (
        request_id TEXT PRIMARY KEY,
        ${VOUCHER_COLUMNS},
        voided_at TEXT NOT NULL,
        reason TEXT NOT NULL,
        credited INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS serve_channel_credits (
        payer TEXT NOT NULL,
        model_id TEXT NOT NULL,
        credit TEXT NOT NULL,
        PRIMARY KEY (payer, model_id)
      );
    `);
  }

  /** What the channel owes the payer back from failed requests whose amount a later voucher already includes. */
  creditOf(payer: Address, modelId: bigint): bigint {
    const row = this.#database.db.prepare("SELECT credit FROM serve_channel_credits WHERE payer = ? AND model_id = ?").get(payer, pad(modelId)) as { credit: string } | undefined;
    return row === undefined ? 0n : BigInt(row.credit);
  }

  #setCredit(payer: Address, modelId: bigint, credit: bigint): void {
    this.#database.db.prepare(`
      INSERT INTO serve_channel_credits (payer, model_id, credit) VALUES (?, ?, ?)
      ON CONFLICT (payer, model_id) DO UPDATE SET credit = excluded.credit
    `).run(payer, pad(modelId), credit.toString());
  }

  /**
   * Voids the voucher of a request that failed (nothing is charged for it): if it is still its channel's latest and
   * above what the chain already `redeemed` on the channel, the channel goes back to the previous voucher;
   * otherwise (a later voucher, or a settlement batch, already holds its amount) its charge becomes the channel's
   * credit. Returns the
   * channel's amount after voiding (what the payer's next voucher builds on) and its credit; undefined if the
   * request has no voucher here (already voided, or never stored).
   */
  void(requestId: string, reason: string, redeemed = 0n): { payer: Address; modelId: bigint; accepted: bigint; credit: bigint } | undefined {
    return this.#database.transaction(() => {
      const row = this.#database.db.prepare("SELECT * FROM serve_vouchers WHERE request_id = ?").get(requestId) as Row | undefined;
      if (row === undefined) return undefined;
      const voucher = fromRow(row);
      const wasLatest = this.latest(voucher.payer, voucher.modelId)!.cumulativeAmount === voucher.cumulativeAmount && voucher.cumulativeAmount > redeemed;
      this.#database.db.prepare("DELETE FROM serve_vouchers WHERE payer = ? AND model_id = ? AND cumulative_amount = ?").run(row.payer, row.model_id, row.cumulative_amount);
      this.#database.db.prepare(`
        INSERT OR REPLACE INTO serve_voided_vouchers (request_id, payer, model_id, cumulative_amount, terms_version, signature, signer, charged, accepted_at, voided_at, reason, credited)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      `).run(requestId, row.payer, row.model_id, row.cumulative_amount, row.terms_version, row.signature, row.signer, row.charged, row.accepted_at, new Date().toISOString(), reason, wasLatest ? 0 : 1);
      let credit = this.creditOf(voucher.payer, voucher.modelId);
      if (!wasLatest) {
        credit += voucher.charged;
        this.#setCredit(voucher.payer, voucher.modelId, credit);
      }
      const latest = this.latest(voucher.payer, voucher.modelId)?.cumulativeAmount ?? 0n;
      return { payer: voucher.payer, modelId: voucher.modelId, accepted: latest > redeemed ? latest : redeemed, credit };
    });
  }

  /** Voided vouchers (the node still holds their signatures: see docs/threat-model.md). */
  voided(): Array<AcceptedVoucher & { reason: string; voidedAt: string }> {
    const rows = this.#database.db.prepare("SELECT * FROM serve_voided_vouchers ORDER BY voided_at").all() as unknown as Array<Row & { reason: string; voided_at: string }>;
    return rows.map((row) => ({ ...fromRow(row), reason: row.reason, voidedAt: row.voided_at }));
  }

  /** The latest voucher accepted on a channel. */
  latest(payer: Address, modelId: bigint): AcceptedVoucher | undefined {
    const row = this.#database.db.prepare(
      "SELECT * FROM serve_vouchers WHERE payer = ? AND model_id = ? ORDER BY cumulative_amount DESC LIMIT 1",
    ).get(payer, pad(modelId)) as Row | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  /** The voucher a request was accepted with, while it is not voided. */
  byRequest(requestId: string): AcceptedVoucher | undefined {
    const row = this.#database.db.prepare("SELECT * FROM serve_vouchers WHERE request_id = ?").get(requestId) as Row | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  /** The latest voucher of each of the payer's channels with this node. */
  latestPerChannel(payer: Address): AcceptedVoucher[] {
    const rows = this.#database.db.prepare(`
      SELECT v.* FROM serve_vouchers v
      JOIN (SELECT model_id, MAX(cumulative_amount) AS top FROM serve_vouchers WHERE payer = ? GROUP BY model_id) t
        ON v.model_id = t.model_id AND v.cumulative_amount = t.top
      WHERE v.payer = ?
    `).all(payer, payer) as unknown as Row[];
    return rows.map(fromRow);
  }

  /**
   * Stores a voucher if it raises its channel by at least `minimumIncrement` over the latest accepted one
   * (or `floor`, the channel's amount redeemed on-chain, when that is higher). The check and the insert are
   * one transaction, so two concurrent requests cannot both spend one increment. Returns the stored voucher
   * with what it was charged; throws `refuse(base)` when the increment is short (a replay or stale voucher).
   */
  accept(voucher: Omit<AcceptedVoucher, "charged" | "acceptedAt">, floor: bigint, minimumIncrement: bigint, refuse: (base: bigint) => Error): AcceptedVoucher {
    return this.#database.transaction(() => {
      const latest = this.latest(voucher.payer, voucher.modelId);
      const base = latest === undefined || latest.cumulativeAmount < floor ? floor : latest.cumulativeAmount;
      const credit = this.creditOf(voucher.payer, voucher.modelId);
      const discount = channelDiscount(credit, minimumIncrement);
      const increment = voucher.cumulativeAmount - base;
      if (voucher.cumulativeAmount <= base || increment < minimumIncrement - discount) throw refuse(base);
      // The credit pays for what the voucher adds less than the price.
      if (increment < minimumIncrement) this.#setCredit(voucher.payer, voucher.modelId, credit - (minimumIncrement - increment));
      const accepted: AcceptedVoucher = { ...voucher, charged: increment, acceptedAt: new Date().toISOString() };
      this.#database.db.prepare(`
        INSERT INTO serve_vouchers (payer, model_id, cumulative_amount, terms_version, signature, signer, request_id, charged, accepted_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      `).run(
        accepted.payer, pad(accepted.modelId), pad(accepted.cumulativeAmount), accepted.termsVersion.toString(), accepted.signature,
        accepted.signer, accepted.requestId, accepted.charged.toString(), accepted.acceptedAt,
      );
      return accepted;
    });
  }

  count(): number {
    return Number((this.#database.db.prepare("SELECT COUNT(*) AS n FROM serve_vouchers").get() as { n: number }).n);
  }
}
