/**
 * A failed request is not charged, with real parts: the serving node (serving-node.ts) in upstream mode, its
 * upstream a real generation process (upstream-server.ts) behind a proxy this test can break: refusing the
 * connection (a failure before any output) or cutting a stream after its first chunk with an error (a failure
 * mid-way). The failed request's voucher is voided, the error says the channel's amount, the client helper signs
 * its next voucher on top of that (no 402 round trip), and a settlement round redeems the last served voucher.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer, request as httpRequest, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { createPayingFetch } from "../../../nodes/src/serve/client/paying-fetch.ts";
import { VoucherStore } from "../../../nodes/src/serve/index.ts";
import { SettlementScheduler, loadSettlementAbis } from "../../../nodes/src/settle/settlement-scheduler.ts";
import { BASE_MODEL_DIR, PLANTED_PROMPT, startServingNode, type ServingNode } from "./serving-node.ts";

const SERVER = fileURLToPath(new URL("./upstream-server.ts", import.meta.url));
let s: ServingNode;
let upstream: ChildProcess | undefined;
let proxy: Server;
let mode: "ok" | "down" | "midway" = "ok";

/** Between the node and its upstream: forwards, refuses the connection, or cuts the stream after one chunk. */
async function startProxy(target: string): Promise<string> {
  const to = new URL(target);
  proxy = createServer((req, res) => {
    if (mode === "down") {
      req.socket.destroy();
      return;
    }
    if (mode === "midway") {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${JSON.stringify({ choices: [{ index: 0, text: "It was", finish_reason: null }] })}\n\n`);
      res.end(`data: ${JSON.stringify({ error: { message: "the accelerator fell over" } })}\n\n`);
      return;
    }
    const forward = httpRequest({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", () => resolve()));
  return `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
}

before(async () => {
  s = await startServingNode({
    upstream: async (adapterDir) => {
      upstream = spawn(process.execPath, [SERVER, BASE_MODEL_DIR, `tributary-1=${adapterDir}`], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      const port = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the upstream server did not start")), 120_000);
        upstream!.stdout!.on("data", (d: Buffer) => {
          out += d.toString();
          const match = /listening (\d+)/.exec(out);
          if (match) { clearTimeout(timer); resolve(match[1]); }
        });
      });
      return { url: await startProxy(`http://127.0.0.1:${port}`) };
    },
  });
}, { timeout: 300_000 });

after(async () => {
  if (upstream && upstream.exitCode === null) {
    upstream.kill("SIGTERM");
    await once(upstream, "exit");
  }
  await new Promise((resolve) => proxy?.close(resolve));
  await s?.close();
});

/** The paying fetch over a fetch that records the status of every paid request. */
function client() {
  const statuses: number[] = [];
  const payments: bigint[] = [];
  const counting: typeof fetch = async (input, init) => {
    const response = await globalThis.fetch(input, init);
    if (/\/v1\/(chat\/)?completions$/.test(new URL(input instanceof Request ? input.url : input.toString()).pathname)) statuses.push(response.status);
    return response;
  };
  const fetch = createPayingFetch({ sessionKey: s.sessionKey, payer: s.payer.address, fetch: counting, onPayment: (p) => payments.push(p.cumulativeAmount) });
  const openai = new OpenAI({ baseURL: `${s.node.url}/v1`, apiKey: "unused", fetch, maxRetries: 0 });
  return { fetch, openai, statuses, payments };
}

const store = () => new VoucherStore(s.node.context.state.database);
const latest = () => store().latest(s.payer.address, s.modelId)!.cumulativeAmount;
const body = JSON.stringify({ model: "tributary:1", prompt: PLANTED_PROMPT, max_tokens: 8, temperature: 0 });
let cost = 0n;

describe("failed requests are not charged", () => {
  it("a failure before any output voids the voucher; the error says the channel's amount and the next voucher builds on it", async () => {
    const c = client();
    await c.openai.completions.create({ model: "tributary:1", prompt: PLANTED_PROMPT, max_tokens: 8, temperature: 0 });
    const served = c.payments.at(-1)!;
    assert.equal(latest(), served);

    mode = "down";
    const failed = await c.fetch(`${s.node.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const error = (await failed.json() as { error: Record<string, unknown> }).error;
    assert.equal(failed.status, 503);
    assert.equal(error.code, "upstream_unavailable");
    assert.equal(error.voided, true);
    assert.equal(error.accepted, served.toString(), "the channel's amount is the last served request's");
    assert.equal(latest(), served, "the failed request's voucher is not redeemable");
    const voided = store().voided();
    assert.equal(voided.length, 1);
    assert.match(voided[0].reason, /upstream_unavailable/);

    mode = "ok";
    await c.openai.completions.create({ model: "tributary:1", prompt: PLANTED_PROMPT, max_tokens: 8, temperature: 0 });
    cost = c.payments.at(-1)! - served;
    assert.ok(cost > 0n);
    assert.equal(voided[0].cumulativeAmount, served + cost, "the voided voucher signed the same price");
    assert.equal(latest(), served + cost, "accepted on top of the last served voucher");
    assert.ok(!c.statuses.includes(402), `no 402 round trip: ${c.statuses.join(", ")}`);
  });

  it("a stream cut mid-way is not charged either: its error event says so and the client resyncs", async () => {
    const c = client();
    const before = latest();
    await c.openai.completions.create({ model: "tributary:1", prompt: PLANTED_PROMPT, max_tokens: 8, temperature: 0 });
    const served = c.payments.at(-1)!;
    assert.ok(served > before);
    c.statuses.length = 0; // a new client learns the channel's amount from a 402 first

    mode = "midway";
    const stream = await c.openai.completions.create({ model: "tributary:1", prompt: PLANTED_PROMPT, max_tokens: 8, temperature: 0, stream: true });
    let text = "";
    await assert.rejects((async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    })(), (error: { error?: Record<string, unknown>; message?: string }) => {
      assert.match(String(error.message), /accelerator fell over/);
      return true;
    });
    assert.equal(text, "It was", "the output that went out before the failure");
    assert.equal(latest(), served, "voided although some output went out: the node failed to finish it");
    assert.equal(store().voided().length, 2);

    mode = "ok";
    await c.openai.completions.create({ model: "tributary:1", prompt: PLANTED_PROMPT, max_tokens: 8, temperature: 0 });
    assert.equal(c.payments.at(-1), served + cost, "signed on top of the last served voucher");
    assert.ok(!c.statuses.includes(402), `no 402 round trip: ${c.statuses.join(", ")}`);
  });

  it("a settlement round redeems the last served voucher, and pays the records of served requests only", async () => {
    const abis = await loadSettlementAbis();
    const { context } = s.node;
    const scheduler = new SettlementScheduler({
      database: context.state.database, store: s.store, client: context.chain.client, sender: context.chain.sender, chainId: s.t.chain.chainId,
      settlement: s.t.addresses.settlement, abis,
      // This Datanet has no published manifest: the round stops before the credit batch.
      manifests: async () => { throw new Error("no manifest in this test"); },
    });
    await assert.rejects(scheduler.runOnce(), /no manifest in this test/);
    const redeemed = await s.t.client.readContract({ address: s.t.addresses.settlement, abi: abis.settlement, functionName: "redeemedOf", args: [s.payer.address, s.operator, s.modelId] });
    assert.equal(redeemed, latest());
    const paid = [...scheduler.journal.uncreditedPools().keys()];
    assert.equal(paid.length, 4, "the four served requests");
    const voidedIds = new Set(store().voided().map((v) => v.requestId));
    assert.ok(paid.every((id) => !voidedIds.has(id)));
    assert.equal(scheduler.journal.skipped().length, 0);
  });
});
