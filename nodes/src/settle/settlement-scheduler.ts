/**
 * Settles what the node served. Each round:
 *
 * 1. finishes a batch transaction left signed by an earlier run (killed, RPC down): its receipt, or the same
 *    signed transaction broadcast again (same nonce, so it is mined at most once);
 * 2. a **redeem batch**: the latest voucher of every channel above what the chain redeemed, `settleBatch(vouchers,
 *    0, 0, "")`. Its receipt says which vouchers were skipped (`VoucherSkipped`, kept with their reason; only
 *    insufficient funds is retried) and how much each model's revenue put into the node's contributor pool
 *    (`ModelRevenueSplit.contributorShare`); each record the redeemed vouchers paid for gets its share of that
 *    pool, in proportion to what its request was charged (floored, so the records never hold more than the chain);
 * 3. a **credit batch**, once no root of the node is pending: the paid records not yet credited, split among
 *    their contributors with the attribution batch builder on top of the previous cumulative credits; the records
 *    and the batch go to IPFS as one document, and `settleBatch([], root, total, cid)` proposes the root.
 *
 * On-chain inference fees (`serveInference`) are split by the chain when served: each served request's record gets
 * the contributor share of its fee (`ModelRevenueSplit` in the serve transaction's receipt) as its pool, and is
 * credited by the next credit batch like a record paid by a voucher.
 *
 * Why two transactions: a root's total must not exceed the node's pool, and which vouchers the chain skips is
 * only known from the receipt. Crediting only what the chain actually paid means a skipped voucher never makes
 * the root revert, and a record is credited exactly once. Roots become final after the dispute window without a
 * transaction (claims promote them), so there is nothing to finalize.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  parseEventLogs, parseSignature, signatureToCompactSignature, zeroHash,
  type Abi, type Address, type Hex, type PublicClient, type TransactionReceipt,
} from "viem";
import type { AttributionRecord } from "../attribution/attribution-record.ts";
import type { DatanetManifest } from "../attribution/datanet-manifest.ts";
import { buildBatch, type SettlementBatch } from "../attribution/settlement-batch.ts";
import { DEFAULT_ARTIFACTS_DIR } from "../chain/contracts.ts";
import { ContractRevertError } from "../chain/errors.ts";
import type { TxSender } from "../chain/tx-sender.ts";
import type { NodeDatabase } from "../state/database.ts";
import type { ContentStore } from "../storage/content-store.ts";
import { SettlementJournal, type JournalBatch } from "./settlement-journal.ts";

export const SETTLEMENT_DOCUMENT_SCHEMA = "tributary.settlement-document/1";

/** The IPFS document a credit batch's `recordsCid` names: everything a watcher recomputes the root from. */
export interface SettlementDocument {
  schema: typeof SETTLEMENT_DOCUMENT_SCHEMA;
  chainId: number;
  settlement: Address;
  node: Address;
  batch: SettlementBatch;
  records: AttributionRecord[];
  /**
   * The prompt and output token ids of every record with gradient evidence: the output's gradient is recomputed
   * from them (checked against the record's hashes). Absent when every record is span-only.
   */
  tokens?: RecordTokens[];
}

export interface RecordTokens {
  requestId: string;
  prompt: number[];
  output: number[];
}

/** `VoucherSkipReason.sol`, by code. */
export const VOUCHER_SKIP_REASONS: Record<number, string> = {
  1: "stale", 2: "invalid-signature", 3: "unauthorized-signer", 4: "session-key-expired", 5: "session-key-cap",
  6: "insufficient-funds", 7: "terms-unavailable", 8: "terms-superseded",
};
const INSUFFICIENT_FUNDS = 6;
/** How long a paid request may stay without its attribution record before redemption stops waiting for it. */
const IN_FLIGHT_GRACE_MS = 15 * 60_000;

export interface SettlementAbis {
  settlement: Abi;
  pools: Abi;
}

/** Reads the Settlement's and ContributorPools' ABIs from Hardhat's artifacts. */
export async function loadSettlementAbis(artifactsDir = DEFAULT_ARTIFACTS_DIR): Promise<SettlementAbis> {
  const read = async (name: string): Promise<Abi> =>
    (JSON.parse(await readFile(resolve(artifactsDir, "contracts/settlement", `${name}.sol`, `${name}.json`), "utf8")) as { abi: Abi }).abi;
  return { settlement: await read("Settlement"), pools: await read("ContributorPools") };
}

/** The manifest of the Datanet version a record names (checked against its root by the batch builder). */
export type ManifestLookup = (datanet: AttributionRecord["datanet"]) => Promise<DatanetManifest>;

export interface SettlementSchedulerOptions {
  database: NodeDatabase;
  store: ContentStore;
  /** Reads (receipts, pools, credits). */
  client: PublicClient;
  /**
   * The node's one transaction sender: settlement batches share its queue (and so the account's nonce) with the
   * job runner's and on-chain inference's transactions. Its account is the node.
   */
  sender: TxSender;
  chainId: number;
  settlement: Address;
  abis: SettlementAbis;
  manifests: ManifestLookup;
  /** Redeem only once this many channels have a newer voucher (default 1). */
  minVouchers?: number;
  /** Where records held out of settlement are reported (a record whose gradient part failed, nodes/src/serve/README.md). */
  logger?: { warn(details: object, message: string): void };
  /**
   * Run at the start of every round, before it gathers records: completes records serving held out of settlement
   * (its retry of a failed gradient part), so a record completed now is credited in this very round. Settlement
   * only calls it and never imports serving (records still flow serve → settle through sqlite alone); a failure is
   * logged and the round goes on without it.
   */
  completeHeldRecords?: () => Promise<unknown>;
  /** Test hook: called after a batch is journaled and before it is broadcast, and again after the broadcast. */
  onStep?: (step: "signed" | "broadcast", batch: JournalBatch) => void | Promise<void>;
}

export interface RoundResult {
  resumed: number;
  redeemed?: { batchId: bigint; vouchers: number; skipped: number };
  /** On-chain inference requests whose fee's contributor share was booked to their record this round. */
  onchainFees?: number;
  credited?: { batchId: bigint; records: number; root: Hex; cid: string };
}

interface VoucherRow {
  payer: Address;
  modelId: bigint;
  termsVersion: bigint;
  cumulativeAmount: bigint;
  signature: Hex;
}

interface RedeemPayload {
  vouchers: { payer: Address; modelId: string; termsVersion: string; cumulativeAmount: string; signature: Hex }[];
}

interface CreditPayload {
  recordIds: string[];
  cid: string;
  root: Hex;
  total: string;
}

export class SettlementScheduler {
  readonly journal: SettlementJournal;
  readonly #o: SettlementSchedulerOptions;
  #running: Promise<RoundResult> | undefined;

  constructor(options: SettlementSchedulerOptions) {
    this.#o = options;
    this.journal = new SettlementJournal(options.database);
    options.database.db.exec("CREATE TABLE IF NOT EXISTS settle_documents (cid TEXT PRIMARY KEY, document TEXT NOT NULL)");
  }

  get node(): Address {
    return this.#o.sender.address;
  }

  /** One settlement round; concurrent calls share the round in progress. */
  runOnce(): Promise<RoundResult> {
    this.#running ??= this.#round().finally(() => { this.#running = undefined; });
    return this.#running;
  }

  async #round(): Promise<RoundResult> {
    const result: RoundResult = { resumed: 0 };
    if (this.#o.completeHeldRecords !== undefined) {
      try {
        await this.#o.completeHeldRecords();
      } catch (error) {
        this.#o.logger?.warn({ err: (error as Error).message }, "completing held-out records failed; they stay held this round");
      }
    }
    for (const batch of this.journal.unfinished()) {
      await this.#complete(batch);
      result.resumed++;
    }
    result.redeemed = await this.#redeem();
    result.onchainFees = await this.#bookOnchainFees();
    result.credited = await this.#credit();
    return result;
  }

  /** The pools contract the Settlement created. */
  async pools(): Promise<Address> {
    return (await this.#o.client.readContract({ address: this.#o.settlement, abi: this.#o.abis.settlement, functionName: "contributorPools" })) as Address;
  }

  /** The node's credit state on-chain (creditsOf). */
  async credits(): Promise<{ finalizedRoot: Hex; finalizedTotal: bigint; pool: bigint; pendingRoot: Hex; pendingBatchId: bigint; pendingUntil: bigint; pendingChallenged: boolean }> {
    const [finalizedRoot, finalizedTotal, , pool, pendingRoot, pendingBatchId, pendingUntil, pendingChallenged] = (await this.#o.client.readContract({
      address: await this.pools(), abi: this.#o.abis.pools, functionName: "creditsOf", args: [this.node],
    })) as [Hex, bigint, bigint, bigint, Hex, bigint, bigint, boolean];
    return { finalizedRoot, finalizedTotal, pool, pendingRoot, pendingBatchId, pendingUntil, pendingChallenged };
  }

  // ---- redeem ----

  /**
   * Per channel (payer, model), the voucher to redeem: the highest one whose request, and every earlier one's since
   * the last redemption, is finished (its attribution record stored; a failed request's voucher is voided and gone).
   * A voucher is accepted before its answer is generated and attributed, so redeeming past a request still in
   * flight would book its payment with no record to credit, and the contributors' share of it would never be
   * assigned. A voucher without a record after IN_FLIGHT_GRACE_MS is not waited for (a request lost to a crash).
   */
  #latestVouchers(): VoucherRow[] {
    const withRecords = this.#hasTables("serve_records");
    const rows = this.#o.database.db.prepare(`
      SELECT v.payer, v.model_id, v.terms_version, v.cumulative_amount, v.signature, v.accepted_at,
        ${withRecords ? "EXISTS (SELECT 1 FROM serve_records r WHERE r.record_id = v.request_id)" : "1"} AS finished
      FROM serve_vouchers v
    `).all() as { payer: string; model_id: string; terms_version: string; cumulative_amount: string; signature: string; accepted_at: string; finished: number }[];
    // Per channel, the last finished voucher below the first one in flight (the vouchers are in ascending order).
    const latest = new Map<string, VoucherRow>();
    const inFlightSince = Date.now() - IN_FLIGHT_GRACE_MS;
    const vouchers = rows
      .map((row) => ({
        payer: row.payer as Address, modelId: BigInt(row.model_id), termsVersion: BigInt(row.terms_version), cumulativeAmount: BigInt(row.cumulative_amount), signature: row.signature as Hex,
        inFlight: row.finished === 0 && Date.parse(row.accepted_at) > inFlightSince,
      }))
      .filter((v) => v.cumulativeAmount > this.journal.redeemed(v.payer, v.modelId))
      .sort((a, b) => (a.cumulativeAmount < b.cumulativeAmount ? -1 : a.cumulativeAmount > b.cumulativeAmount ? 1 : 0));
    const blocked = new Set<string>();
    for (const { inFlight, ...voucher } of vouchers) {
      const channel = `${voucher.payer.toLowerCase()}:${voucher.modelId}`;
      if (blocked.has(channel)) continue;
      if (inFlight) {
        blocked.add(channel);
        continue;
      }
      latest.set(channel, voucher);
    }
    return [...latest.values()]
      .filter((v) => !this.journal.isDeadVoucher(v.payer, v.modelId, v.cumulativeAmount))
      // One revenue split per (model, terms version): the contract splits each consecutive run once.
      .sort((a, b) => (a.modelId !== b.modelId ? (a.modelId < b.modelId ? -1 : 1) : a.termsVersion !== b.termsVersion ? (a.termsVersion < b.termsVersion ? -1 : 1) : a.payer.localeCompare(b.payer)));
  }

  async #redeem(): Promise<RoundResult["redeemed"]> {
    if (!this.#hasVoucherTable()) return undefined;
    const vouchers = this.#latestVouchers();
    if (vouchers.length === 0 || vouchers.length < (this.#o.minVouchers ?? 1)) return undefined;
    const payload: RedeemPayload = {
      vouchers: vouchers.map((v) => ({ payer: v.payer, modelId: v.modelId.toString(), termsVersion: v.termsVersion.toString(), cumulativeAmount: v.cumulativeAmount.toString(), signature: v.signature })),
    };
    const args = [vouchers.map((v) => {
      const { r, yParityAndS } = signatureToCompactSignature(parseSignature(v.signature));
      return { payer: v.payer, modelId: v.modelId, termsVersion: v.termsVersion, cumulativeAmount: v.cumulativeAmount, r, yParityAndS };
    }), zeroHash, 0n, ""] as const;
    const batch = await this.#settle("redeem", JSON.stringify(payload), args);
    if (batch.status !== "settled") return undefined;
    return { batchId: batch.chainBatchId!, vouchers: vouchers.length, skipped: this.journal.skipped().filter((s) => s.batchId === batch.id).length };
  }

  /** Books a settled redeem batch: skipped vouchers, channels' redeemed amounts, each paid record's pool. */
  #applyRedeem(batch: JournalBatch, receipt: TransactionReceipt): bigint {
    const payload = JSON.parse(batch.payload) as RedeemPayload;
    const logs = parseEventLogs({ abi: this.#o.abis.settlement, logs: receipt.logs }) as unknown as { eventName: string; args: Record<string, unknown> }[];
    const settled = logs.find((l) => l.eventName === "BatchSettled")!;
    const chainBatchId = settled.args.batchId as bigint;
    const skipped = new Set<string>();
    for (const log of logs.filter((l) => l.eventName === "VoucherSkipped")) {
      const payer = log.args.payer as Address;
      const modelId = log.args.modelId as bigint;
      const reason = Number(log.args.reason);
      skipped.add(`${payer.toLowerCase()}:${modelId}`);
      this.journal.addSkipped({ batchId: batch.id, payer, modelId, cumulativeAmount: log.args.cumulativeAmount as bigint, reason, reasonName: VOUCHER_SKIP_REASONS[reason] ?? `reason-${reason}` });
    }
    // What each model's redeemed revenue put into the pool.
    const revenue = new Map<bigint, { revenue: bigint; pool: bigint }>();
    for (const log of logs.filter((l) => l.eventName === "ModelRevenueSplit")) {
      const modelId = log.args.modelId as bigint;
      const entry = revenue.get(modelId) ?? { revenue: 0n, pool: 0n };
      entry.revenue += log.args.revenue as bigint;
      entry.pool += log.args.contributorShare as bigint;
      revenue.set(modelId, entry);
    }
    const paidRecords: { recordId: string; modelId: bigint; charged: bigint }[] = [];
    for (const voucher of payload.vouchers) {
      const modelId = BigInt(voucher.modelId);
      if (skipped.has(`${voucher.payer.toLowerCase()}:${modelId}`)) continue;
      const from = this.journal.redeemed(voucher.payer, modelId);
      const to = BigInt(voucher.cumulativeAmount);
      for (const row of this.#chargedBetween(voucher.payer, modelId, from, to)) paidRecords.push({ ...row, modelId });
      this.journal.setRedeemed(voucher.payer, modelId, to);
    }
    for (const record of paidRecords) {
      const split = revenue.get(record.modelId);
      const pool = split === undefined || split.revenue === 0n ? 0n : (record.charged * split.pool) / split.revenue;
      this.journal.addRecordPool(record.recordId, pool, batch.id);
    }
    return chainBatchId;
  }

  /** Records of the channel's requests whose vouchers fall in (from, to], with what each was charged. */
  #chargedBetween(payer: Address, modelId: bigint, from: bigint, to: bigint): { recordId: string; charged: bigint }[] {
    const rows = this.#o.database.db.prepare(`
      SELECT v.request_id, v.cumulative_amount, v.charged FROM serve_vouchers v
      JOIN serve_records r ON r.record_id = v.request_id
      WHERE v.payer = ? AND v.model_id = ?
    `).all(payer, modelId.toString().padStart(78, "0")) as { request_id: string; cumulative_amount: string; charged: string }[];
    return rows
      .filter((row) => BigInt(row.cumulative_amount) > from && BigInt(row.cumulative_amount) <= to)
      .map((row) => ({ recordId: row.request_id, charged: BigInt(row.charged) }));
  }

  /**
   * The contributor share of each on-chain inference fee this node was paid (the serve transaction's receipt:
   * `InferenceServed` for the request, and the `ModelRevenueSplit` of its fee), booked as its record's pool.
   */
  async #bookOnchainFees(): Promise<number | undefined> {
    if (!this.#hasTables("serve_onchain_requests", "serve_records")) return undefined;
    const rows = this.#o.database.db.prepare(`
      SELECT o.request_id, o.serve_txs FROM serve_onchain_requests o
      JOIN serve_records r ON r.record_id = 'onchain-' || o.request_id
      LEFT JOIN settle_record_pools p ON p.record_id = r.record_id
      WHERE o.serve_txs IS NOT NULL AND p.record_id IS NULL
    `).all() as { request_id: string; serve_txs: string }[];
    let booked = 0;
    for (const row of rows) {
      for (const hash of JSON.parse(row.serve_txs) as Hex[]) {
        const receipt = await this.#receipt(hash);
        if (receipt === undefined || receipt.status !== "success") continue;
        const logs = parseEventLogs({ abi: this.#o.abis.settlement, logs: receipt.logs }) as unknown as { eventName: string; args: Record<string, unknown> }[];
        const served = logs.some((l) => l.eventName === "InferenceServed" && (l.args.requestId as bigint) === BigInt(row.request_id));
        const split = logs.find((l) => l.eventName === "ModelRevenueSplit");
        if (!served || split === undefined) continue;
        this.journal.addRecordPool(`onchain-${row.request_id}`, split.args.contributorShare as bigint, 0);
        booked++;
        break;
      }
    }
    return booked === 0 ? undefined : booked;
  }

  #hasTables(...names: string[]): boolean {
    return names.every((name) =>
      this.#o.database.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined);
  }

  #hasVoucherTable(): boolean {
    return ["serve_vouchers", "serve_records"].every((name) =>
      this.#o.database.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined);
  }

  // ---- credit ----

  async #credit(): Promise<RoundResult["credited"]> {
    const lastCredit = this.journal.lastSettledCredit();
    if (this.journal.uncreditedPools().size === 0 && lastCredit === undefined) return undefined;
    const credits = await this.credits();
    if (credits.pendingRoot !== zeroHash) return undefined; // one pending root per node: wait for its window
    if (lastCredit !== undefined) this.#reclaimDiscarded(lastCredit, credits.finalizedRoot);
    const pools = this.#settleable(this.journal.uncreditedPools());
    if (pools.size === 0) return undefined;
    const records = this.#records([...pools.keys()]);
    const manifests = new Map<string, DatanetManifest>();
    for (const record of records) {
      const root = record.datanet.root.toLowerCase();
      if (!manifests.has(root)) manifests.set(root, await this.#o.manifests(record.datanet));
    }
    const previous = this.previousCredits(credits.finalizedRoot);
    const batch = buildBatch({ records, pools, manifests, previousCredits: previous });
    if (batch.root === zeroHash) {
      // Nothing attributed and nobody credited before: nothing to commit; the pools stay unclaimed.
      this.journal.markCredited([...pools.keys()], 0);
      return undefined;
    }
    const document: SettlementDocument = {
      schema: SETTLEMENT_DOCUMENT_SCHEMA, chainId: this.#o.chainId, settlement: this.#o.settlement, node: this.node, batch, records,
      ...this.#tokens(records),
    };
    const cid = (await this.#o.store.addJson(document)).toString();
    const payload: CreditPayload = { recordIds: [...pools.keys()], cid, root: batch.root, total: batch.total };
    const journaled = await this.#settle("credit", JSON.stringify(payload), [[], batch.root, BigInt(batch.total), cid], { cid, document });
    if (journaled.status !== "settled") return undefined;
    return { batchId: journaled.chainBatchId!, records: records.length, root: batch.root, cid };
  }

  /**
   * With no root pending, the node's last settled credit batch is either final (its root is the final one) or was
   * discarded by an upheld challenge: then its records return to the uncredited set, to be credited once by the
   * next root (which builds on the final root, so nothing of the discarded one counts twice).
   */
  #reclaimDiscarded(last: JournalBatch, finalizedRoot: Hex): void {
    const payload = JSON.parse(last.payload) as CreditPayload;
    if (payload.root.toLowerCase() === finalizedRoot.toLowerCase()) return;
    this.journal.discardCredit(last.id, `root ${payload.root} of batch ${last.chainBatchId} was discarded on-chain (challenge upheld)`);
  }

  /**
   * The pools whose records may be settled: not those marked `gradient_pending` by serving (a model with a gradient
   * sketch whose gradient part failed for them). Settled span-only, they would be a discrepancy every watcher
   * reports (`gradient-missing`); they stay uncredited, logged each round, until serving's retry completes them
   * (`completeHeldRecords`, at the start of the round) or, given up, an operator deals with them.
   */
  #settleable(pools: Map<string, bigint>): Map<string, bigint> {
    const columns = new Set((this.#o.database.db.prepare("PRAGMA table_info(serve_records)").all() as { name: string }[]).map((c) => c.name));
    if (!columns.has("gradient_pending")) return pools;
    const pending = this.#o.database.db.prepare("SELECT 1 FROM serve_records WHERE record_id = ? AND gradient_pending = 1");
    const held = [...pools.keys()].filter((id) => pending.get(id) !== undefined);
    if (held.length === 0) return pools;
    this.#o.logger?.warn({ records: held.sort() }, "records held out of settlement: their model has a gradient sketch but their gradient part failed");
    return new Map([...pools].filter(([id]) => !held.includes(id)));
  }

  #records(ids: readonly string[]): AttributionRecord[] {
    const get = this.#o.database.db.prepare("SELECT record FROM serve_records WHERE record_id = ?");
    return [...ids].sort().map((id) => JSON.parse((get.get(id) as { record: string }).record) as AttributionRecord);
  }

  /** The prompt and output tokens of the records with gradient evidence, as serving stored them. */
  #tokens(records: readonly AttributionRecord[]): { tokens?: RecordTokens[] } {
    const gradient = records.filter((r) => r.evidence.gradient);
    if (gradient.length === 0) return {};
    const get = this.#o.database.db.prepare("SELECT prompt_tokens, output_tokens FROM serve_records WHERE record_id = ?");
    const tokens = gradient.map((r) => {
      const row = get.get(r.requestId) as { prompt_tokens: string | null; output_tokens: string | null };
      return { requestId: r.requestId, prompt: JSON.parse(row.prompt_tokens ?? "[]") as number[], output: JSON.parse(row.output_tokens ?? "[]") as number[] };
    });
    return { tokens };
  }

  /** The cumulative credits the next root starts from: those of the settled credit batch whose root is final. */
  previousCredits(finalizedRoot: Hex): Map<string, bigint> {
    if (finalizedRoot === zeroHash) return new Map();
    for (const batch of this.journal.batches("credit").reverse()) {
      if (batch.status !== "settled") continue;
      const payload = JSON.parse(batch.payload) as CreditPayload;
      if (payload.root.toLowerCase() === finalizedRoot.toLowerCase()) {
        const document = this.#documents.get(payload.cid);
        if (document) return new Map(document.batch.credits.map((c) => [c.account, BigInt(c.cumulative)]));
      }
    }
    throw new Error(`The node's final credit root ${finalizedRoot} is not one of its own settled batches; cannot continue its cumulative credits.`);
  }

  /** Settled credit documents, by CID (kept beside the payload so the node answers credit queries without IPFS). */
  get #documents(): Map<string, SettlementDocument> {
    const map = new Map<string, SettlementDocument>();
    for (const row of this.#o.database.db.prepare("SELECT cid, document FROM settle_documents").all() as { cid: string; document: string }[]) {
      map.set(row.cid, JSON.parse(row.document) as SettlementDocument);
    }
    return map;
  }

  /** A settled credit batch's document (the latest one whose root is `root`), from the node's database. */
  documentForRoot(root: Hex): { document: SettlementDocument; cid: string; chainBatchId: bigint } | undefined {
    for (const batch of this.journal.batches("credit").reverse()) {
      if (batch.status !== "settled") continue;
      const payload = JSON.parse(batch.payload) as CreditPayload;
      if (payload.root.toLowerCase() !== root.toLowerCase()) continue;
      const document = this.#documents.get(payload.cid);
      if (document) return { document, cid: payload.cid, chainBatchId: batch.chainBatchId! };
    }
    return undefined;
  }

  #applyCredit(batch: JournalBatch, receipt: TransactionReceipt): bigint {
    const payload = JSON.parse(batch.payload) as CreditPayload;
    const logs = parseEventLogs({ abi: this.#o.abis.settlement, logs: receipt.logs, eventName: "BatchSettled" as never }) as unknown as { args: { batchId: bigint } }[];
    this.journal.markCredited(payload.recordIds, batch.id);
    return logs[0].args.batchId;
  }

  // ---- transactions ----

  /**
   * Sends settleBatch(args) through the node's sender: each signed version is journaled (with the credit
   * document) before it is broadcast, so a crash at any point leaves the batch for `#complete` to finish.
   * Reverts at estimation surface here with nothing journaled; a failure after journaling (RPC down) leaves the
   * batch `signed` and throws: the next round finishes it.
   */
  async #settle(kind: JournalBatch["kind"], payload: string, args: readonly unknown[], document?: { cid: string; document: SettlementDocument }): Promise<JournalBatch> {
    let batch: JournalBatch | undefined;
    try {
      const { receipt } = await this.#o.sender.write({ contract: "settlement", functionName: "settleBatch", args: args as never }, {
        // What the chain skips (and so the gas) can change between estimation and mining.
        gasHeadroomPercent: 20,
        onSigned: async (hash, signed) => {
          if (batch !== undefined) {
            this.journal.addVersion(batch.id, signed.nonce, hash, signed.serializedTransaction);
            return;
          }
          batch = this.journal.transaction(() => {
            // The document is kept locally with the batch, so credits and proofs are served without IPFS.
            if (document !== undefined) {
              this.#o.database.db.prepare("INSERT OR REPLACE INTO settle_documents (cid, document) VALUES (?, ?)").run(document.cid, JSON.stringify(document.document));
            }
            return this.journal.addSigned(kind, payload, signed.nonce, hash, signed.serializedTransaction);
          });
          await this.#o.onStep?.("signed", batch);
        },
        onBroadcast: async () => {
          await this.#o.onStep?.("broadcast", this.journal.batch(batch!.id)!);
        },
      });
      return this.#finish(batch!, receipt);
    } catch (error) {
      // Mined and reverted: the batch is over (its vouchers and records are taken up again by later rounds).
      if (batch !== undefined && error instanceof ContractRevertError && error.txHash !== undefined && (await this.#receipt(error.txHash as Hex)) !== undefined) {
        this.journal.finish(batch.id, "reverted", null, error.message);
        return this.journal.batch(batch.id)!;
      }
      throw error;
    }
  }

  /** Brings a journaled batch to its end through the sender: mined (settled or reverted) or dropped (its nonce went elsewhere). */
  async #complete(batch: JournalBatch): Promise<JournalBatch> {
    const outcome = await this.#o.sender.resume({ serializedTransaction: batch.rawTx, hashes: batch.txHashes }, {
      onSigned: (hash, signed) => this.journal.addVersion(batch.id, signed.nonce, hash, signed.serializedTransaction),
      onBroadcast: async () => {
        await this.#o.onStep?.("broadcast", batch);
      },
    });
    if (outcome.status === "dropped") {
      // Nothing of it reached the chain: its vouchers and records are still unredeemed / uncredited, and go into later batches.
      this.journal.finish(batch.id, "dropped", null, `nonce ${batch.nonce} was used by another transaction`);
      return this.journal.batch(batch.id)!;
    }
    return this.#finish(batch, outcome.receipt);
  }

  /** Books a mined batch: its effects when it succeeded, else `reverted`. */
  #finish(batch: JournalBatch, receipt: TransactionReceipt): JournalBatch {
    if (receipt.status !== "success") {
      this.journal.finish(batch.id, "reverted", null, "settleBatch reverted");
      return this.journal.batch(batch.id)!;
    }
    this.journal.transaction(() => {
      const chainBatchId = batch.kind === "redeem" ? this.#applyRedeem(batch, receipt) : this.#applyCredit(batch, receipt);
      this.journal.finish(batch.id, "settled", chainBatchId);
    });
    return this.journal.batch(batch.id)!;
  }

  async #receipt(hash: Hex): Promise<TransactionReceipt | undefined> {
    try {
      return await this.#o.client.getTransactionReceipt({ hash });
    } catch (error) {
      if ((error as Error).name === "TransactionReceiptNotFoundError") return undefined;
      throw error;
    }
  }
}
