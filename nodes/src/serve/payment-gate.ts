/**
 * Decides whether a request's voucher pays for it, before any token is generated, and stores it durably if
 * so. The checks mirror what the Settlement will do when the node redeems the voucher, so a voucher the node
 * accepts is one it can redeem (unless the payer withdraws or revokes in between; see the README):
 *
 * 1. the signature recovers to the payer or to a live session key of the payer (401 otherwise);
 * 2. it pays for this model at the model's current terms version (402 `terms_changed` otherwise);
 * 3. its cumulative amount rises by at least the request's price over the last voucher this node accepted on
 *    the channel and over what was redeemed on-chain (402 `voucher_stale` for a replay, `payment_required`
 *    for a short one, with the amount missing);
 * 4. a session key's cap, minus what it has spent and minus what this node holds from it unredeemed on
 *    other channels, covers the channel's increment (402 `session_key_cap`);
 * 5. the payer's escrow (less a pending withdrawal) plus the channel's funds covers everything this node
 *    holds unredeemed from the payer (402 `insufficient_funds`).
 *
 * A request that then fails on the node's side is not charged: `void` gives its voucher back (see VoucherStore).
 * What the channel owes the payer from failed requests (its credit) lowers the increment step 3 requires.
 */
import type { Address } from "viem";
import type { ProtocolChain } from "../chain/protocol.ts";
import { ServeError } from "./errors.ts";
import { channelDiscount, requestCost } from "./pricing.ts";
import { VOUCHER_HEADER, recoverVoucherSigner, type Voucher, type VoucherDomain } from "./voucher.ts";
import type { AcceptedVoucher, VoucherStore } from "./voucher-store.ts";

/** The on-chain reads a payment check needs (ProtocolChain in the node; anything in unit tests). */
export interface PaymentChain {
  modelTerms(modelId: bigint): Promise<{ termsVersion: bigint; pricePer1kTokens: bigint }>;
  sessionKeyOf(payer: Address, key: Address): Promise<{ cap: bigint; spent: bigint; expiresAt: bigint }>;
  channelOf(payer: Address, node: Address, modelId: bigint): Promise<{ redeemed: bigint; unspent: bigint }>;
  /** Escrow the payer's vouchers may draw: its balance less a pending withdrawal. */
  availableEscrowOf(payer: Address): Promise<bigint>;
}

export function protocolPaymentChain(chain: ProtocolChain): PaymentChain {
  return {
    async modelTerms(modelId) {
      const [, termsVersion, pricePer1kTokens] = await chain.read("models", "modelTerms", [modelId]);
      return { termsVersion: BigInt(termsVersion), pricePer1kTokens };
    },
    async sessionKeyOf(payer, key) {
      const [cap, spent, expiresAt] = await chain.read("settlement", "sessionKeyOf", [payer, key]);
      return { cap, spent, expiresAt };
    },
    async channelOf(payer, node, modelId) {
      const [redeemed, unspent] = await chain.read("settlement", "channelOf", [payer, node, modelId]);
      return { redeemed, unspent };
    },
    async availableEscrowOf(payer) {
      const [balance, [requested]] = await Promise.all([
        chain.read("settlement", "escrowBalanceOf", [payer]),
        chain.read("settlement", "withdrawalRequestOf", [payer]),
      ]);
      return balance > requested ? balance - requested : 0n;
    },
  };
}

export interface PaymentRequest {
  requestId: string;
  voucher: Voucher;
  /** The on-chain model the request is served by. */
  modelId: bigint;
  promptTokens: number;
  maxTokens: number;
}

export class PaymentGate {
  readonly #chain: PaymentChain;
  readonly #store: VoucherStore;
  readonly #domain: VoucherDomain;
  readonly #node: Address;
  readonly #now: () => bigint;

  constructor(init: { chain: PaymentChain; store: VoucherStore; domain: VoucherDomain; node: Address; now?: () => bigint }) {
    this.#chain = init.chain;
    this.#store = init.store;
    this.#domain = init.domain;
    this.#node = init.node;
    this.#now = init.now ?? (() => BigInt(Math.floor(Date.now() / 1000)));
  }

  /** Checks the voucher and stores it; resolves to the stored voucher, or throws a 401/402 ServeError. */
  async authorize(request: PaymentRequest): Promise<AcceptedVoucher> {
    const { voucher, modelId } = request;
    if (voucher.modelId !== modelId) {
      throw new ServeError(400, "invalid_voucher", `the voucher pays for model ${voucher.modelId}, but the request is for model ${modelId}`, { field: `${VOUCHER_HEADER}.modelId` });
    }
    const signer = await recoverVoucherSigner(this.#domain, this.#node, voucher);
    if (signer === null) throw new ServeError(401, "invalid_signature", "the voucher's signature does not recover to any address", { field: `${VOUCHER_HEADER}.signature` });

    let reads;
    try {
      reads = await Promise.all([
        this.#chain.modelTerms(modelId),
        this.#chain.channelOf(voucher.payer, this.#node, modelId),
        this.#chain.availableEscrowOf(voucher.payer),
        signer === voucher.payer ? Promise.resolve(undefined) : this.#chain.sessionKeyOf(voucher.payer, signer),
        this.#heldFromPayer(voucher.payer, modelId),
      ]);
    } catch (error) {
      throw new ServeError(503, "chain_unavailable", `the node cannot check the payment on-chain now (${(error as Error).message.split("\n")[0]}); retry`, { retryAfter: 5 });
    }
    const [terms, channel, escrow, sessionKey, held] = reads;
    if (sessionKey !== undefined) {
      if (sessionKey.expiresAt === 0n) {
        throw new ServeError(401, "unauthorized_signer", `the voucher is signed by ${signer}, which is neither the payer ${voucher.payer} nor a session key it authorized (a voucher signed for another node, model, chain or terms version also recovers to a stranger)`, { field: `${VOUCHER_HEADER}.signature`, details: { signer } });
      }
      if (sessionKey.expiresAt <= this.#now()) {
        throw new ServeError(401, "session_key_expired", `session key ${signer} of payer ${voucher.payer} expired at ${sessionKey.expiresAt}; authorize a new one`, { field: `${VOUCHER_HEADER}.signature`, details: { signer, expiresAt: sessionKey.expiresAt.toString() } });
      }
    }
    if (voucher.termsVersion !== terms.termsVersion) {
      throw new ServeError(402, "terms_changed", `the voucher signs terms version ${voucher.termsVersion}, but model ${modelId}'s current terms version is ${terms.termsVersion}; sign again at the current terms`, { field: `${VOUCHER_HEADER}.termsVersion`, details: { termsVersion: terms.termsVersion.toString(), pricePer1kTokens: terms.pricePer1kTokens.toString() } });
    }

    const cost = requestCost(request.promptTokens, request.maxTokens, terms.pricePer1kTokens);
    const latest = this.#store.latest(voucher.payer, modelId);
    const base = maxOf(latest?.cumulativeAmount ?? 0n, channel.redeemed);
    // Failed requests the payer already paid for by a later voucher: they pay for part of this one.
    const credit = this.#store.creditOf(voucher.payer, modelId);
    const due = cost - channelDiscount(credit, cost);
    const paymentDetails = (missing: bigint, base: bigint) => ({
      missing: missing.toString(), required: (base + due).toString(), accepted: base.toString(), cost: cost.toString(),
      ...(credit > 0n ? { credit: credit.toString() } : {}),
      termsVersion: terms.termsVersion.toString(), pricePer1kTokens: terms.pricePer1kTokens.toString(),
    });
    const short = (base: bigint): ServeError => voucher.cumulativeAmount <= base
      ? new ServeError(402, "voucher_stale", `the voucher's cumulativeAmount ${voucher.cumulativeAmount} is not above the ${base} this channel already holds (a replayed or stale voucher); sign ${base + due} for this request`, { field: `${VOUCHER_HEADER}.cumulativeAmount`, details: paymentDetails(base + due - voucher.cumulativeAmount, base) })
      : new ServeError(402, "payment_required", `this request costs ${cost} (prompt ${request.promptTokens} + max ${request.maxTokens} tokens at ${terms.pricePer1kTokens} per 1,000${due < cost ? `, ${cost - due} of it covered by the channel's credit from failed requests` : ""}), but the voucher adds ${voucher.cumulativeAmount - base}: ${base + due - voucher.cumulativeAmount} missing; sign ${base + due}`, { field: `${VOUCHER_HEADER}.cumulativeAmount`, details: paymentDetails(base + due - voucher.cumulativeAmount, base) });
    if (voucher.cumulativeAmount < base + due) throw short(base);

    // What redeeming everything this node holds from the payer would take, with this voucher as the channel's latest.
    const increment = voucher.cumulativeAmount - channel.redeemed;
    if (sessionKey !== undefined) {
      const heldFromKey = held.filter((h) => h.signer === signer).reduce((sum, h) => sum + h.unredeemed, 0n);
      const left = sessionKey.cap > sessionKey.spent ? sessionKey.cap - sessionKey.spent : 0n;
      if (increment + heldFromKey > left) {
        const missing = increment + heldFromKey - left;
        throw new ServeError(402, "session_key_cap", `session key ${signer} has ${left} left of its cap ${sessionKey.cap} (spent ${sessionKey.spent}, ${heldFromKey} held unredeemed by this node on other channels); this voucher needs ${increment}: ${missing} missing`, { field: `${VOUCHER_HEADER}.signature`, details: { ...paymentDetails(missing, base), capLeft: left.toString() } });
      }
    }
    const funded = channel.redeemed + channel.unspent;
    const fromEscrow = (voucher.cumulativeAmount > funded ? voucher.cumulativeAmount - funded : 0n) + held.reduce((sum, h) => sum + h.beyondFunds, 0n);
    if (fromEscrow > escrow) {
      const missing = fromEscrow - escrow;
      throw new ServeError(402, "insufficient_funds", `payer ${voucher.payer} has ${escrow} available in escrow and ${channel.unspent} in this channel; the vouchers this node holds from it need ${fromEscrow} from escrow: ${missing} missing; deposit more`, { field: `${VOUCHER_HEADER}.payer`, details: { ...paymentDetails(missing, base), escrow: escrow.toString() } });
    }

    // The chain reads took time: the store re-checks the channel's latest voucher in the same transaction as the insert.
    return this.#store.accept({ ...voucher, signer, requestId: request.requestId }, channel.redeemed, cost, short);
  }

  /**
   * Voids the voucher of a request that failed on the node's side, so it is not charged (VoucherStore.void).
   * Returns what the failure response tells the client: the channel's amount now (the next voucher builds on it)
   * and its credit; undefined when the request holds no voucher.
   */
  async void(requestId: string, reason: string): Promise<{ voided: true; accepted: string; credit: string } | undefined> {
    const voucher = this.#store.byRequest(requestId);
    if (voucher === undefined) return undefined;
    // A settlement batch may already have redeemed it: then it is credited back, not rolled back.
    const redeemed = await this.#chain.channelOf(voucher.payer, this.#node, voucher.modelId).then((c) => c.redeemed, () => 0n);
    const result = this.#store.void(requestId, reason, redeemed);
    return result === undefined ? undefined : { voided: true, accepted: result.accepted.toString(), credit: result.credit.toString() };
  }

  /** For each other channel of the payer with this node: what its latest voucher holds unredeemed, and beyond its funds. */
  async #heldFromPayer(payer: Address, except: bigint): Promise<Array<{ signer: Address; unredeemed: bigint; beyondFunds: bigint }>> {
    const others = this.#store.latestPerChannel(payer).filter((v) => v.modelId !== except);
    return Promise.all(others.map(async (v) => {
      const channel = await this.#chain.channelOf(payer, this.#node, v.modelId);
      const funded = channel.redeemed + channel.unspent;
      return {
        signer: v.signer,
        unredeemed: v.cumulativeAmount > channel.redeemed ? v.cumulativeAmount - channel.redeemed : 0n,
        beyondFunds: v.cumulativeAmount > funded ? v.cumulativeAmount - funded : 0n,
      };
    }));
  }
}

const maxOf = (a: bigint, b: bigint): bigint => (a > b ? a : b);
