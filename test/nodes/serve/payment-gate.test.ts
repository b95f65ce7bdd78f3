/**
 * The payment checks in isolation: real EIP-712 signatures and a real sqlite voucher store, with the chain's
 * reads replaced by a table (a fake, as unit tests may use). The end-to-end test runs them against a real
 * chain; these cover the arithmetic across channels and the races.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ApiError } from "../../../nodes/src/api/errors.ts";
import { ServeError } from "../../../nodes/src/serve/errors.ts";
import { PaymentGate, type PaymentChain } from "../../../nodes/src/serve/payment-gate.ts";
import { requestCost } from "../../../nodes/src/serve/pricing.ts";
import { VOUCHER_HEADER, formatVoucherHeader, parseVoucherHeader, signVoucher } from "../../../nodes/src/serve/voucher.ts";
import { VoucherStore } from "../../../nodes/src/serve/voucher-store.ts";
import { openState } from "../../../nodes/src/state/index.ts";

const domain = { chainId: 31337, settlement: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address };
const node = privateKeyToAccount(generatePrivateKey()).address;
const payer = privateKeyToAccount(generatePrivateKey());
const key = privateKeyToAccount(generatePrivateKey());
const PRICE = 1000n; // 1 unit per token

function setup(overrides: { escrow?: bigint; cap?: bigint; spent?: bigint; expiresAt?: bigint; redeemed?: Record<string, bigint>; unspent?: Record<string, bigint> } = {}) {
  const state = openState(":memory:");
  const store = new VoucherStore(state.database);
  const chain: PaymentChain = {
    modelTerms: async () => ({ termsVersion: 3n, pricePer1kTokens: PRICE }),
    sessionKeyOf: async (_payer, signer) => signer === key.address
      ? { cap: overrides.cap ?? 1_000n, spent: overrides.spent ?? 0n, expiresAt: overrides.expiresAt ?? 2n ** 40n }
      : { cap: 0n, spent: 0n, expiresAt: 0n },
    channelOf: async (_payer, _node, modelId) => ({ redeemed: overrides.redeemed?.[modelId.toString()] ?? 0n, unspent: overrides.unspent?.[modelId.toString()] ?? 0n }),
    availableEscrowOf: async () => overrides.escrow ?? 10_000n,
  };
  const gate = new PaymentGate({ chain, store, domain, node, now: () => 1_000n });
  let n = 0;
  const pay = async (signer: typeof key, modelId: bigint, cumulativeAmount: bigint, tokens = { prompt: 10, max: 90 }) => {
    const { voucher } = await signVoucher(signer, domain, node, { payer: payer.address, modelId, termsVersion: 3n, cumulativeAmount });
    return gate.authorize({ requestId: `r${n++}`, voucher, modelId, promptTokens: tokens.prompt, maxTokens: tokens.max });
  };
  return { gate, store, pay };
}

async function refused(promise: Promise<unknown>, status: number, code: string, missing?: bigint): Promise<ServeError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.statusCode, status, error.message);
    assert.equal(error.code, code, error.message);
    if (missing !== undefined) assert.equal((error as ServeError).details.missing, missing.toString());
    return error as ServeError;
  }
  assert.fail(`expected ${status} ${code}`);
}

describe("voucher header", () => {
  it("round-trips and names the malformed part", async () => {
    const { voucher, header } = await signVoucher(key, domain, node, { payer: payer.address, modelId: 7n, termsVersion: 1n, cumulativeAmount: 5n });
    assert.deepEqual(parseVoucherHeader(header), voucher);
    assert.equal(formatVoucherHeader(voucher), header);
    const field = (value: string | undefined) => {
      try {
        parseVoucherHeader(value);
      } catch (error) {
        return [(error as ApiError).statusCode, (error as ApiError).field];
      }
      return undefined;
    };
    assert.deepEqual(field(undefined), [402, VOUCHER_HEADER]);
    assert.deepEqual(field("nope"), [400, VOUCHER_HEADER]);
    const parsed = JSON.parse(header) as Record<string, unknown>;
    assert.deepEqual(field(JSON.stringify({ ...parsed, payer: "0x12" })), [400, `${VOUCHER_HEADER}.payer`]);
    assert.deepEqual(field(JSON.stringify({ ...parsed, cumulativeAmount: 5 })), [400, `${VOUCHER_HEADER}.cumulativeAmount`]);
    assert.deepEqual(field(JSON.stringify({ ...parsed, termsVersion: (2n ** 64n).toString() })), [400, `${VOUCHER_HEADER}.termsVersion`]);
    assert.deepEqual(field(JSON.stringify({ ...parsed, signature: "0x1234" })), [400, `${VOUCHER_HEADER}.signature`]);
  });

  it("prices (prompt + max output tokens) × price / 1000, rounded up", () => {
    assert.equal(requestCost(10, 90, 1000n), 100n);
    assert.equal(requestCost(1, 0, 1n), 1n);
    assert.equal(requestCost(3, 4, 1_000_000n), 7000n);
  });
});

describe("payment gate", () => {
  it("accepts the payer's own signature and a live session key's, charging the increment", async () => {
    const { pay, store } = setup();
    const first = await pay(payer, 1n, 100n);
    assert.equal(first.charged, 100n);
    assert.equal(first.signer, payer.address);
    const second = await pay(key, 1n, 250n);
    assert.equal(second.charged, 150n);
    assert.equal(store.latest(payer.address, 1n)?.cumulativeAmount, 250n);
  });

  it("refuses a stranger's signature, an expired key, a short or replayed voucher, old terms", async () => {
    const { pay } = setup({ expiresAt: 500n });
    await refused(pay(privateKeyToAccount(generatePrivateKey()), 1n, 100n), 401, "unauthorized_signer");
    await refused(pay(key, 1n, 100n), 401, "session_key_expired");
    const { pay: pay2, gate } = setup();
    await refused(pay2(payer, 1n, 99n), 402, "payment_required", 1n);
    await pay2(payer, 1n, 100n);
    await refused(pay2(payer, 1n, 100n), 402, "voucher_stale", 100n);
    await refused(pay2(payer, 1n, 150n), 402, "payment_required", 50n);
    const { voucher } = await signVoucher(payer, domain, node, { payer: payer.address, modelId: 1n, termsVersion: 2n, cumulativeAmount: 500n });
    await refused(gate.authorize({ requestId: "old", voucher, modelId: 1n, promptTokens: 10, maxTokens: 90 }), 402, "terms_changed");
    const other = await signVoucher(payer, domain, node, { payer: payer.address, modelId: 2n, termsVersion: 3n, cumulativeAmount: 500n });
    await refused(gate.authorize({ requestId: "m", voucher: other.voucher, modelId: 1n, promptTokens: 10, maxTokens: 90 }), 400, "invalid_voucher");
  });

  it("counts from what was redeemed on-chain when that is higher than the last accepted voucher", async () => {
    const { pay } = setup({ redeemed: { "1": 1_000n } });
    await refused(pay(payer, 1n, 1_050n), 402, "payment_required", 50n);
    assert.equal((await pay(payer, 1n, 1_100n)).charged, 100n);
  });

  it("counts a session key's unredeemed vouchers on other channels against its cap", async () => {
    const { pay } = setup({ cap: 1_000n, spent: 100n });
    await pay(key, 1n, 600n);
    // 900 left of the cap; 600 are held unredeemed on model 1, so model 2 may take 300.
    await refused(pay(key, 2n, 400n), 402, "session_key_cap", 100n);
    assert.equal((await pay(key, 2n, 300n)).charged, 300n);
    // The payer's own signature is not capped.
    assert.equal((await pay(payer, 3n, 5_000n)).charged, 5_000n);
  });

  it("needs escrow (plus channel funds) for everything this node holds from the payer", async () => {
    const { pay } = setup({ escrow: 1_000n, unspent: { "1": 200n } });
    // Channel 1 has 200 of its own funds: 1,100 needs 900 from escrow.
    await pay(payer, 1n, 1_100n);
    // Model 2 may take the 100 left in escrow, not more.
    await refused(pay(payer, 2n, 200n), 402, "insufficient_funds", 100n);
    assert.equal((await pay(payer, 2n, 100n)).charged, 100n);
  });

  it("lets only one of two concurrent requests spend the same increment", async () => {
    const { pay, store } = setup();
    const results = await Promise.allSettled([pay(payer, 1n, 100n), pay(payer, 1n, 100n)]);
    assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
    assert.equal(store.count(), 1);
  });

  it("voids a failed request: the channel goes back to the last served voucher, or credits a failed amount a later voucher holds", async () => {
    const redeemed: Record<string, bigint> = {};
    const { pay, gate, store } = setup({ redeemed });
    await pay(payer, 1n, 100n);
    const failed = await pay(payer, 1n, 200n);
    assert.deepEqual(await gate.void(failed.requestId, "engine crashed"), { voided: true, accepted: "100", credit: "0" });
    assert.equal(store.latest(payer.address, 1n)!.cumulativeAmount, 100n);
    assert.equal(await gate.void(failed.requestId, "again"), undefined, "voided once");
    assert.equal((await pay(payer, 1n, 200n)).charged, 100n, "the same amount is accepted again, from the last served voucher");

    // A later voucher already holds the failed request's amount (a payer sending concurrently): credited instead.
    const overtaken = await pay(payer, 1n, 300n);
    await pay(payer, 1n, 400n);
    assert.deepEqual(await gate.void(overtaken.requestId, "upstream down"), { voided: true, accepted: "400", credit: "100" });
    const stale = await refused(pay(payer, 1n, 400n), 402, "voucher_stale");
    assert.equal(stale.details.required, "401", "the credit pays all of the next request but one unit");
    assert.equal(stale.details.credit, "100");
    assert.equal((await pay(payer, 1n, 401n)).charged, 1n);
    assert.equal(store.creditOf(payer.address, 1n), 1n);
    assert.equal((await pay(payer, 1n, 500n)).charged, 99n);
    assert.equal(store.creditOf(payer.address, 1n), 0n);

    // Redeemed on-chain before it failed: the chain keeps it, so the payer is credited.
    const redeemedFirst = await pay(payer, 2n, 100n);
    redeemed["2"] = 100n;
    assert.deepEqual(await gate.void(redeemedFirst.requestId, "engine crashed"), { voided: true, accepted: "100", credit: "100" });
    assert.equal(store.voided().length, 3);
  });
});
