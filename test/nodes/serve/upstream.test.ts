/**
 * `upstream` mode with real parts: the serving node (serving-node.ts, real chain, Helia, engine for the
 * tokenizer) hands generation to a second process speaking the OpenAI API (upstream-server.ts: our engine with
 * the adapter registered under the upstream's model name, as vLLM's `--lora-modules` does), and keeps the
 * voucher, the attribution and the record. The unmodified `openai` client pays through the session key.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { createPayingFetch } from "../../../nodes/src/serve/client/paying-fetch.ts";
import type { TributaryField } from "../../../nodes/src/serve/index.ts";
import { BASE_MODEL_DIR, PLANTED_CONTRIBUTION, PLANTED_PROMPT, startServingNode, type ServingNode } from "./serving-node.ts";

const SERVER = fileURLToPath(new URL("./upstream-server.ts", import.meta.url));
let s: ServingNode;
let upstream: ChildProcess | undefined;
let upstreamUrl = "";

before(async () => {
  s = await startServingNode({
    upstream: async (adapterDir) => {
      upstream = spawn(process.execPath, [SERVER, BASE_MODEL_DIR, `tributary-1=${adapterDir}`], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      upstream.stdout!.on("data", (d: Buffer) => { out += d.toString(); });
      const port = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the upstream server did not start")), 120_000);
        upstream!.stdout!.on("data", () => {
          const match = /listening (\d+)/.exec(out);
          if (match) { clearTimeout(timer); resolve(match[1]); }
        });
      });
      upstreamUrl = `http://127.0.0.1:${port}`;
      return { url: upstreamUrl };
    },
  });
}, { timeout: 300_000 });

after(async () => {
  if (upstream && upstream.exitCode === null) {
    upstream.kill("SIGTERM");
    await once(upstream, "exit");
  }
  await s?.close();
});

describe("upstream mode", () => {
  it("generates upstream, keeps payment and attribution here", async () => {
    const fetch = createPayingFetch({ sessionKey: s.sessionKey, payer: s.payer.address });
    const openai = new OpenAI({ baseURL: `${s.node.url}/v1`, apiKey: "unused", fetch, maxRetries: 0 });
    const completion = await openai.completions.create({ model: "tributary:1", prompt: PLANTED_PROMPT, max_tokens: 24, temperature: 0 });
    // Same adapter, greedy: the upstream produced the planted continuation.
    assert.equal(completion.choices[0].text, await s.engine.decode("base-1", s.plantedOutput));
    const tributary = (completion as unknown as { tributary: TributaryField }).tributary;
    assert.equal(tributary.contributions[0].contribution_id, PLANTED_CONTRIBUTION.toString());
    assert.ok(BigInt(tributary.payment.charged) > 0n);
    // The upstream did the generation; this node never loaded the adapter.
    const models = (await (await globalThis.fetch(`${upstreamUrl}/v1/models`)).json()) as { completions: number };
    assert.equal(models.completions, 1);
    const metrics = await (await globalThis.fetch(`${s.node.url}/metrics`)).text();
    assert.doesNotMatch(metrics, /tributary_adapter_loads\{tier="(ipfs|disk|memory)"\} [1-9]/);
    assert.match(metrics, /tributary_vouchers_accepted_total\{model="tributary:1"\} 1/);

    // Streaming through the upstream: text chunks, then the attribution as the last event.
    const stream = await openai.chat.completions.create({ model: "tributary:1", messages: [{ role: "user", content: "Hello" }], max_tokens: 8, temperature: 0, stream: true });
    let sawTributary = false;
    let text = "";
    for await (const chunk of stream) {
      if (chunk.choices.length > 0) text += chunk.choices[0].delta.content ?? "";
      if ((chunk as unknown as { tributary?: TributaryField }).tributary) sawTributary = true;
    }
    assert.ok(sawTributary);
    assert.ok(text.length > 0);
  });

  it("answers 503 naming the upstream when it is down (never a crash)", async () => {
    upstream!.kill("SIGTERM");
    await once(upstream!, "exit");
    const fetch = createPayingFetch({ sessionKey: s.sessionKey, payer: s.payer.address });
    const openai = new OpenAI({ baseURL: `${s.node.url}/v1`, apiKey: "unused", fetch, maxRetries: 0 });
    await assert.rejects(openai.completions.create({ model: "tributary:1", prompt: "x", max_tokens: 4 }), (error: { status?: number; message?: string }) => {
      assert.equal(error.status, 503);
      assert.match(String(error.message), /upstream/);
      return true;
    });
  });
});
