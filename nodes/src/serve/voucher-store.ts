/**
 * Vouchers this node accepted, in its sqlite database, written (synchronous = FULL, inside a transaction)
 * before the response to the paid request starts: a crash never loses a payment the node was given. The
 * latest voucher of each (payer, model) channel is what the settlement batch will redeem; the others are
 * kept as the request history.
 *
 * The table belongs to the serving module and is created here (IF NOT EXISTS) rather than in the shared
 * migration list, so the serving schema evolves with this module.
 */
import type { Address, Hex } from "viem";
import type { NodeDatabase } from "../state/database.ts";
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

export class VoucherStore {
  readonly #database: NodeDatabase;

  constructor(database: NodeDatabase) {
    this.#database = database;
    database.db.exec(`
      CREATE TABLE IF NOT EXISTS serve_vouchers (
        payer TEXT NOT NULL,
        model_id TEXT NOT NULL,
        cumulative_amount TEXT NOT NULL,
        terms_version TEXT NOT NULL,
        signature TEXT NOT NULL,
        signer TEXT NOT NULL,
        request_id TEXT NOT NULL,
        charged TEXT NOT NULL,
        accepted_at TEXT NOT NULL,
        PRIMARY KEY (payer, model_id, cumulative_amount)
      );
    `);
  }

  /** The latest voucher accepted on a channel. */
  latest(payer: Address, modelId: bigint): AcceptedVoucher | undefined {
    const row = this.#database.db.prepare(
      "SELECT * FROM serve_vouchers WHERE payer = ? AND model_id = ? ORDER BY cumulative_amount DESC LIMIT 1",
    ).get(payer, pad(modelId)) as Row | undefined;
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
      if (voucher.cumulativeAmount <= base || voucher.cumulativeAmount - base < minimumIncrement) throw refuse(base);
      const accepted: AcceptedVoucher = { ...voucher, charged: voucher.cumulativeAmount - base, acceptedAt: new Date().toISOString() };
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
