/**
 * The serving node end to end, with real parts (serving-node.ts): the unmodified `openai` client, through
 * the paying fetch (session-key vouchers), against a node on a real hardhat chain: models, chat and
 * completions, streaming, attribution in every paid response, payment refusals, durable vouchers that
 * redeem on-chain, the queue limit, metrics, and a fuzz of random bodies that never gets a 5xx.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { parseEventLogs, parseSignature, signatureToCompactSignature, type Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createPayingFetch } from "../../../nodes/src/serve/client/paying-fetch.ts";
import { VOUCHER_HEADER, requestCost, signVoucher, type TributaryField } from "../../../nodes/src/serve/index.ts";
import { account } from "../node/helpers/local-chain.ts";
import { PLANTED_CONTRIBUTION, PLANTED_PROMPT, PRICE, SESSION_CAP, startServingNode, type ServingNode } from "./serving-node.ts";

let s: ServingNode;
let openai: OpenAI;
let payments: Array<{ cumulativeAmount: bigint; cost: bigint }> = [];
const MODEL = "tributary:1";

before(async () => {
  s = await startServingNode({ maxQueued: 2 });
  openai = openAiClient();
}, { timeout: 240_000 });
after(async () => {
  await s?.close();
});

/** The unmodified openai client, paying through the session key. */
function openAiClient(): OpenAI {
  const fetch = createPayingFetch({ sessionKey: s.sessionKey, payer: s.payer.address, onPayment: (p) => payments.push(p) });
  return new OpenAI({ baseURL: `${s.node.url}/v1`, apiKey: "unused", fetch, maxRetries: 0 });
}

/** A voucher signed by hand (for the refusal cases). */
async function voucherHeader(signer = s.sessionKey, fields: { cumulativeAmount: bigint; termsVersion?: bigint; modelId?: bigint; payer?: Address }): Promise<string> {
  const { header } = await signVoucher(signer, { chainId: s.t.chain.chainId, settlement: s.t.addresses.settlement }, s.operator, {
    payer: fields.payer ?? s.payer.address, modelId: fields.modelId ?? s.modelId, termsVersion: fields.termsVersion ?? 2n, cumulativeAmount: fields.cumulativeAmount,
  });
  return header;
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${s.node.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });

const latestAccepted = (): bigint => payments.at(-1)?.cumulativeAmount ?? 0n;

describe("serving: OpenAI API, payment and attribution", () => {
  it("lists the deployed model with its base model as parent, price, Datanet and node", async () => {
    const models = await openai.models.list();
    assert.equal(models.data.length, 1);
    const model = models.data[0] as unknown as { id: string; parent: string; root: string; max_model_len: number; tributary: Record<string, unknown> };
    assert.equal(model.id, MODEL);
    assert.equal(model.parent, "tributary-base-v0");
    assert.equal(model.root, `ipfs://${model.tributary.adapter_cid}`);
    assert.equal(model.max_model_len, 128);
    assert.equal(model.tributary.price_per_1k_tokens, PRICE.toString());
    assert.equal(model.tributary.terms_version, "2");
    assert.deepEqual((model.tributary.datanet as { id: string; version: number }).id, "1");
    assert.equal(model.tributary.node, s.operator);
  });

  it("serves a paid chat completion through the openai client and attributes it", async () => {
    const completion = await openai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Tell me about the sea." }], max_tokens: 12, temperature: 0 });
    assert.equal(completion.object, "chat.completion");
    assert.equal(typeof completion.choices[0].message.content, "string");
    assert.ok(completion.usage!.completion_tokens >= 1 && completion.usage!.completion_tokens <= 12);
    const tributary = (completion as unknown as { tributary: TributaryField }).tributary;
    assert.equal(tributary.record.id, completion.id);
    assert.match(tributary.record.cid!, /^b/);
    assert.equal(tributary.payment.payer, s.payer.address);
    assert.equal(tributary.payment.signer, s.sessionKey.address);
    // The voucher paid exactly (prompt + max_tokens) × price / 1000, rounded up.
    const expected = requestCost(completion.usage!.prompt_tokens, 12, PRICE);
    assert.equal(tributary.payment.charged, expected.toString());
    assert.equal(tributary.payment.cumulative_amount, expected.toString());
    assert.deepEqual(payments.map((p) => p.cumulativeAmount), [expected]);
    // The adapter came from IPFS (the node's data dir started empty).
    assert.match(await (await fetch(`${s.node.url}/metrics`)).text(), /tributary_adapter_loads\{tier="ipfs"\} 1/);
  });

  it("streams a completion as SSE chunks; the last event carries the attribution with the planted spans", async () => {
    const stream = await openai.completions.create({ model: MODEL, prompt: PLANTED_PROMPT, max_tokens: 24, temperature: 0, stream: true });
    let text = "";
    let tributary: TributaryField | undefined;
    let finishReason: string | null = null;
    let chunksAfterTributary = 0;
    for await (const chunk of stream) {
      if (tributary !== undefined) chunksAfterTributary++;
      if (chunk.choices.length > 0) {
        text += chunk.choices[0].text;
        finishReason = chunk.choices[0].finish_reason ?? finishReason;
      }
      const extra = (chunk as unknown as { tributary?: TributaryField }).tributary;
      if (extra !== undefined) tributary = extra;
    }
    assert.ok(tributary, "the stream ends with a tributary event");
    assert.equal(chunksAfterTributary, 0);
    assert.equal(finishReason, "length");
    const expectedText = await s.engine.decode("base-1", s.plantedOutput);
    assert.equal(text, expectedText);
    // The whole output is the planted contribution's text: it holds all the weight, with the span as evidence.
    assert.equal(tributary.contributions[0].contribution_id, PLANTED_CONTRIBUTION.toString());
    assert.ok(tributary.spans.length >= 1);
    assert.ok(tributary.spans.some((span) => span.sources.some((src) => src.contribution_id === PLANTED_CONTRIBUTION.toString()) && span.length >= 8));
    assert.ok(expectedText.includes(tributary.spans[0].text.trim()));
    // The record is stored by the node, in sqlite and on IPFS.
    const stored = await (await fetch(`${s.node.url}/v1/records/${tributary.record.id}`)).json() as { record: { weights: unknown[] }; cid: string };
    assert.equal(stored.cid, tributary.record.cid);
    const fromIpfs = await s.store.getJson<{ requestId: string }>((await import("../../../nodes/src/storage/index.ts")).parseCid(stored.cid));
    assert.equal(fromIpfs.requestId, tributary.record.id);
  });

  it("pays concurrent requests of one client on one channel in turn, each voucher raising the amount by its cost", async () => {
    const before = latestAccepted();
    const start = payments.length;
    const completions = await Promise.all(["One", "Two", "Three"].map((content) =>
      openai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content }], max_tokens: 3 })));
    assert.equal(completions.length, 3);
    const made = payments.slice(start);
    assert.equal(made.length, 3);
    let previous = before;
    for (const payment of made) {
      assert.equal(payment.cumulativeAmount, previous + payment.cost);
      previous = payment.cumulativeAmount;
    }
    const charged = completions.map((c) => BigInt((c as unknown as { tributary: TributaryField }).tributary.payment.charged)).sort();
    assert.deepEqual(charged, made.map((p) => p.cost).sort());
  });

  it("streams chat chunks in OpenAI's format ending in [DONE], with usage when asked", async () => {
    const fetchWithVoucher = createPayingFetch({ sessionKey: s.sessionKey, payer: s.payer.address });
    // Raw SSE through the paying fetch: check the wire format itself.
    const response = await fetchWithVoucher(`${s.node.url}/v1/chat/completions`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "Hello" }], max_tokens: 5, stream: true, stream_options: { include_usage: true } }),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type")!, /^text\/event-stream/);
    const events = (await response.text()).split("\n\n").filter(Boolean);
    assert.equal(events.at(-1), "data: [DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, "")));
    assert.deepEqual(chunks[0].choices[0].delta, { role: "assistant", content: "" });
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk"));
    assert.ok(chunks.some((c) => c.usage?.completion_tokens >= 1));
    assert.ok(chunks.at(-1).tributary.record.id === chunks[0].id);
  });

  it("refuses a request without a voucher (402), a forged one (401), a replay (402 stale) and a short one (402, naming what is missing)", async () => {
    const body = { model: MODEL, prompt: "The sea", max_tokens: 4 };
    const missing = await post("/v1/completions", body);
    assert.equal(missing.status, 402);
    assert.equal((await bodyOf(missing)).error.field, VOUCHER_HEADER);

    const quote = await (await post("/tokenize", body)).json() as { cost: string; count: number };
    assert.equal(quote.cost, requestCost(quote.count, 4, PRICE).toString());
    const cost = BigInt(quote.cost);
    const base = await currentChannelAmount();

    const stranger = privateKeyToAccount(generatePrivateKey());
    const forged = await post("/v1/completions", body, { [VOUCHER_HEADER]: await voucherHeader(stranger, { cumulativeAmount: base + cost }) });
    assert.equal(forged.status, 401);
    assert.equal((await bodyOf(forged)).error.code, "unauthorized_signer");

    const short = await post("/v1/completions", body, { [VOUCHER_HEADER]: await voucherHeader(s.sessionKey, { cumulativeAmount: base + cost - 5n }) });
    assert.equal(short.status, 402);
    const shortError = (await bodyOf(short)).error;
    assert.equal(shortError.code, "payment_required");
    assert.equal(shortError.missing, "5");
    assert.equal(shortError.required, (base + cost).toString());

    const header = await voucherHeader(s.sessionKey, { cumulativeAmount: base + cost });
    const paid = await post("/v1/completions", body, { [VOUCHER_HEADER]: header });
    assert.equal(paid.status, 200);
    const replay = await post("/v1/completions", body, { [VOUCHER_HEADER]: header });
    assert.equal(replay.status, 402);
    assert.equal((await bodyOf(replay)).error.code, "voucher_stale");

    const oldTerms = await post("/v1/completions", body, { [VOUCHER_HEADER]: await voucherHeader(s.sessionKey, { cumulativeAmount: base + 2n * cost, termsVersion: 1n }) });
    assert.equal(oldTerms.status, 402);
    assert.equal((await bodyOf(oldTerms)).error.code, "terms_changed");
  });

  it("refuses what the session key's cap or the payer's escrow cannot cover, saying how much is missing", async () => {
    const body = { model: MODEL, prompt: "The sea", max_tokens: 4 };
    const overCap = await post("/v1/completions", body, { [VOUCHER_HEADER]: await voucherHeader(s.sessionKey, { cumulativeAmount: SESSION_CAP + 1n }) });
    assert.equal(overCap.status, 402);
    const capError = (await bodyOf(overCap)).error;
    assert.equal(capError.code, "session_key_cap");
    assert.equal(capError.missing, "1");

    // A payer with 1000 units in escrow, signing with its own key.
    const poor = account(4);
    await s.t.send(account(0), "token", "transfer", [poor.address, 1000n]);
    await s.t.send(poor, "token", "approve", [s.t.addresses.settlement, 1000n]);
    await s.t.send(poor, "settlement", "deposit", [1000n]);
    const poorKey = privateKeyToAccount((await import("../node/helpers/local-chain.ts")).privateKeyOf(poor));
    const { cost } = await (await post("/tokenize", body)).json() as { cost: string };
    const broke = await post("/v1/completions", body, { [VOUCHER_HEADER]: await voucherHeader(poorKey, { cumulativeAmount: BigInt(cost), payer: poor.address }) });
    assert.equal(broke.status, 402);
    const fundsError = (await bodyOf(broke)).error;
    assert.equal(fundsError.code, "insufficient_funds");
    assert.equal(fundsError.missing, (BigInt(cost) - 1000n).toString());
  });

  it("answers 429 with Retry-After when the generation queue is full", async () => {
    // A training job on the same engine runs a long step between decode steps, so the two streams below stay in flight.
    const training = s.engine.train({
      modelId: "base-1", train: ["The sea was calm and the ship moved slowly through the fog towards the harbour. ".repeat(8)],
      lora: { rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj", "up_proj", "down_proj"] }, seed: 1, batchSize: 8, sequenceLength: 128,
      totalSteps: 10_000, learningRate: 1e-3, outputDir: join(s.dataDir, "busy-adapter"),
    });
    training.result.catch(() => undefined);
    await training.progress.next();
    const fetchWithVoucher = createPayingFetch({ sessionKey: s.sessionKey, payer: s.payer.address });
    const streams = await Promise.all([1, 2].map(() => fetchWithVoucher(`${s.node.url}/v1/completions`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, prompt: "The sea", max_tokens: 100, stream: true }),
    })));
    assert.deepEqual(streams.map((r) => r.status), [200, 200]);
    const refused = await post("/v1/completions", { model: MODEL, prompt: "The sea", max_tokens: 4 });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.equal((await bodyOf(refused)).error.code, "queue_full");
    // Leaving a stream cancels its generation; the queue frees.
    for (const r of streams) await r.body!.cancel();
    training.cancel();
    await waitFor(async () => (await post("/v1/completions", { model: MODEL, prompt: "The sea", max_tokens: 4 })).status === 402);
    payments = [];
  });

  it("answers bad requests with 4xx naming the field: unknown model 404, oversized prompt 413", async () => {
    const cases: Array<[string, unknown, number, string | undefined]> = [
      ["/v1/completions", { model: "tributary:99", prompt: "x" }, 404, "model"],
      ["/v1/completions", { model: MODEL, prompt: "word ".repeat(400) }, 413, "prompt"],
      ["/v1/completions", { model: MODEL, prompt: "x".repeat(300_000) }, 413, "prompt"],
      ["/v1/completions", { model: MODEL, prompt: "x", n: 2 }, 400, "n"],
      ["/v1/completions", { model: MODEL, prompt: "x", max_tokens: 0 }, 400, "max_tokens"],
      ["/v1/completions", { model: MODEL, prompt: "x", max_tokens: 500 }, 400, "max_tokens"],
      ["/v1/completions", { model: MODEL, prompt: "x", temperature: 3 }, 400, "temperature"],
      ["/v1/completions", { model: MODEL, prompt: "x", top_p: "1" }, 400, "top_p"],
      ["/v1/completions", { model: MODEL, prompt: "x", stop: ["a", "b", "c", "d", "e"] }, 400, "stop"],
      ["/v1/completions", { model: MODEL, prompt: "x", stream: "yes" }, 400, "stream"],
      ["/v1/chat/completions", { model: MODEL, messages: [] }, 400, "messages"],
      ["/v1/chat/completions", { model: MODEL, messages: [{ role: "wizard", content: "x" }] }, 400, "messages[0].role"],
      ["/v1/chat/completions", { model: MODEL, messages: [{ role: "user", content: 5 }] }, 400, "messages[0].content"],
      ["/v1/completions", { model: MODEL, prompt: "x" }, 400, `${VOUCHER_HEADER}`],
    ];
    for (const [path, body, status, field] of cases) {
      const headers: Record<string, string> = field === VOUCHER_HEADER ? { [VOUCHER_HEADER]: "{not json" } : {};
      const response = await post(path, body, headers);
      const json = await response.json() as { error: { field?: string } };
      assert.equal(response.status, status, `${JSON.stringify(body).slice(0, 80)} → ${JSON.stringify(json)}`);
      assert.equal(json.error.field, field);
    }
  });

  it("stores every accepted voucher durably, and the stored voucher redeems on-chain", async () => {
    const charged = await (await import("../../../nodes/src/serve/client/paying-fetch.ts")).createPayingFetch({ sessionKey: s.sessionKey, payer: s.payer.address })(
      `${s.node.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, prompt: "The sea", max_tokens: 3 }) });
    assert.equal(charged.status, 200);
    const db = new DatabaseSync(join(s.dataDir, "node", "node.sqlite"), { readOnly: true });
    const rows = db.prepare("SELECT cumulative_amount, signature, terms_version FROM serve_vouchers ORDER BY cumulative_amount DESC").all() as Array<{ cumulative_amount: string; signature: `0x${string}`; terms_version: string }>;
    db.close();
    assert.ok(rows.length >= 5);
    const latest = rows[0];
    const amount = BigInt(latest.cumulative_amount);
    const { r, yParityAndS } = signatureToCompactSignature(parseSignature(latest.signature));
    const hash = await s.t.send(account(2), "settlement", "settleBatch", [[{ payer: s.payer.address, modelId: s.modelId, termsVersion: BigInt(latest.terms_version), cumulativeAmount: amount, r, yParityAndS }], `0x${"0".repeat(64)}`, 0n, ""]);
    const receipt = await s.t.client.getTransactionReceipt({ hash });
    const logs = parseEventLogs({ abi: s.t.abis.settlement, logs: receipt.logs });
    assert.ok(!logs.some((l) => l.eventName === "VoucherSkipped"), "the stored voucher was not skipped");
    const redeemed = await s.t.client.readContract({ address: s.t.addresses.settlement, abi: s.t.abis.settlement, functionName: "redeemedOf", args: [s.payer.address, s.operator, s.modelId] });
    assert.equal(redeemed, amount);
    // A voucher at or below what was redeemed is refused even by a fresh client.
    const stale = await post("/v1/completions", { model: MODEL, prompt: "The sea", max_tokens: 3 }, { [VOUCHER_HEADER]: await voucherHeader(s.sessionKey, { cumulativeAmount: amount }) });
    assert.equal(stale.status, 402);
    // The paying fetch of a fresh client catches up from the node's 402 and pays on top of the redeemed amount.
    const fresh = createPayingFetch({ sessionKey: s.sessionKey, payer: s.payer.address });
    const caughtUp = await fresh(`${s.node.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, prompt: "The sea", max_tokens: 3 }) });
    assert.equal(caughtUp.status, 200);
    assert.ok(BigInt((await bodyOf(caughtUp)).tributary.payment.cumulative_amount) > amount);
  });

  it("stores the voucher before the response starts, and keeps it across a restart (adapter then from disk)", async () => {
    const body = JSON.stringify({ model: MODEL, prompt: "The sea", max_tokens: 20, stream: true });
    const { cost } = await (await post("/tokenize", body)).json() as { cost: string };
    const amount = (await currentChannelAmount()) + BigInt(cost);
    const header = await voucherHeader(s.sessionKey, { cumulativeAmount: amount });
    const response = await post("/v1/completions", body, { [VOUCHER_HEADER]: header });
    assert.equal(response.status, 200);
    // Headers only, nothing of the body read yet: the voucher is already on disk.
    assert.equal(await currentChannelAmount(), amount);
    await response.body!.cancel();

    await s.restart();
    openai = openAiClient();
    const replay = await post("/v1/completions", body, { [VOUCHER_HEADER]: header });
    assert.equal(replay.status, 402);
    assert.equal((await bodyOf(replay)).error.code, "voucher_stale");
    const next = await createPayingFetch({ sessionKey: s.sessionKey, payer: s.payer.address })(`${s.node.url}/v1/completions`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, prompt: "The sea", max_tokens: 2 }),
    });
    assert.equal(next.status, 200);
    const metrics = await (await fetch(`${s.node.url}/metrics`)).text();
    assert.match(metrics, /tributary_adapter_loads\{tier="disk"\} 1/);
    assert.match(metrics, /tributary_adapter_loads\{tier="ipfs"\} 0/);
  });

  it("reports adapter cache, adapter tiers and attribution cost in /metrics", async () => {
    const metrics = await (await fetch(`${s.node.url}/metrics`)).text();
    assert.match(metrics, /tributary_adapter_cache_bytes\{base_model="base-1"\} [1-9]/);
    assert.match(metrics, /tributary_adapter_cache_hit_ratio\{base_model="base-1"\} 0\.[0-9]+/);
    assert.match(metrics, /tributary_attribution_seconds_count\{model="tributary:1"\} [1-9]/);
    assert.match(metrics, /tributary_vouchers_accepted_total\{model="tributary:1"\} [1-9]/);
    assert.match(metrics, /tributary_payments_refused_total\{code="voucher_stale"\} [1-9]/);
    assert.match(metrics, /tributary_serve_requests_total\{endpoint="\/v1\/completions",status="200"\} [1-9]/);
  });

  it("survives a fuzz of random bodies: never a 5xx, and still serves afterwards", async () => {
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
    const values: unknown[] = [null, true, false, 0, -1, 1, 2.5, 1e308, -1e308, "", "x", "tributary:1", "1", "tributary:x", [], [""], ["x"], [1, 2], {}, { role: "user" }, "\u0000\ud800", "a".repeat(2000)];
    const fields = ["model", "prompt", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "n", "stream", "stream_options", "seed", "logprobs", "echo", "best_of", "suffix", "user", "presence_penalty", "logit_bias", "tools", "response_format"];
    const randomMessage = () => ({ role: pick(["user", "system", "assistant", "tool", 5, null]), content: pick(["hi", "", 5, null, [{ type: "text", text: "hi" }], [{ type: "image_url" }]]) });
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const body: Record<string, unknown> = {};
      if (random() < 0.8) body.model = random() < 0.7 ? MODEL : pick(values);
      for (const field of fields) {
        if (random() < 0.25) body[field] = field === "messages" && random() < 0.6 ? Array.from({ length: Math.floor(random() * 3) }, randomMessage) : pick(values);
      }
      const raw = random() < 0.1 ? pick(["{", "[]", "null", "\"x\"", "{\"model\":", ""]) : JSON.stringify(body);
      const headers: Record<string, string> = random() < 0.3 ? { [VOUCHER_HEADER]: pick(["", "{}", "null", "{\"payer\":\"0x0\"}", await voucherHeader(s.sessionKey, { cumulativeAmount: 1n })]) } : {};
      const response = await post(pick(["/v1/completions", "/v1/chat/completions", "/tokenize"]), raw, headers);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      const text = await response.text();
      assert.ok(response.status < 500, `${response.status} for ${raw.slice(0, 200)}: ${text.slice(0, 300)}`);
      if (response.status >= 400) assert.equal(typeof JSON.parse(text).error.message, "string");
    }
    assert.ok((statuses.get(400) ?? 0) > 100);
    assert.equal((await fetch(`${s.node.url}/health`)).status, 200);
    const completion = await openai.completions.create({ model: MODEL, prompt: "The sea", max_tokens: 2 });
    assert.equal(completion.choices.length, 1);
  });
});

async function bodyOf(response: Response): Promise<{ error: Record<string, string>; tributary: TributaryField }> {
  return await response.json() as { error: Record<string, string>; tributary: TributaryField };
}

async function currentChannelAmount(): Promise<bigint> {
  const db = new DatabaseSync(join(s.dataDir, "node", "node.sqlite"), { readOnly: true });
  const row = db.prepare("SELECT MAX(cumulative_amount) AS top FROM serve_vouchers").get() as { top: string | null };
  db.close();
  return row.top === null ? 0n : BigInt(row.top);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}
