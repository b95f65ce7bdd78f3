import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { AdapterCache } from "../../../../nodes/src/engine/inference/adapter-cache.ts";
import { BatchedDecoder } from "../../../../nodes/src/engine/inference/batched-decoder.ts";
import { AdapterLoadError, InvalidRequestError } from "../../../../nodes/src/engine/inference/errors.ts";
import type { GenerationRequest } from "../../../../nodes/src/engine/inference/generation-request.ts";
import type { GenerationEvent } from "../../../../nodes/src/engine/inference/generation-sequence.ts";
import { GenerationScheduler, type SchedulerOptions } from "../../../../nodes/src/engine/inference/scheduler.ts";
import type { LoraAdapter } from "../../../../nodes/src/engine/lora/adapter.ts";
import { CONFIG, charTokenizer, randomAdapter, tinyWeights } from "./fixtures.ts";

const backend = createReferenceBackend();
const decoder = new BatchedDecoder(CONFIG, tinyWeights(), backend);
const adapters = new Map<string, LoraAdapter>([["alpha", randomAdapter(1)], ["beta", randomAdapter(2)], ["gamma", randomAdapter(3)]]);

function scheduler(options: Partial<SchedulerOptions> = {}): GenerationScheduler {
  const cache = new AdapterCache({
    budgetBytes: 1 << 20,
    load: async (id) => {
      const adapter = adapters.get(id);
      if (!adapter) throw new Error(`no adapter named ${id}`);
      return adapter;
    },
  });
  return new GenerationScheduler({ decoder, tokenizer: charTokenizer, adapters: cache, maxBatchSize: 8, maxTokensInFlight: 512, ...options });
}

interface Outcome {
  tokens: number[];
  text: string;
  finish: Extract<GenerationEvent, { type: "finish" }>;
}

/** Reads a stream to its end; `onEvent` runs at every event (to observe the scheduler between steps). */
async function collect(stream: AsyncIterable<GenerationEvent>, onEvent: () => void = () => {}): Promise<Outcome> {
  const tokens: number[] = [];
  let text = "";
  for await (const event of stream) {
    onEvent();
    text += event.text;
    if (event.type === "token") tokens.push(event.tokenId);
    else return { tokens, text, finish: event };
  }
  throw new Error("stream ended without a finish event");
}

const sampled = { temperature: 0.9, topK: 12, topP: 0.95 };

describe("GenerationScheduler", () => {
  it("three adapters and the base model in one batch generate exactly what each generates alone", async () => {
    const requests: GenerationRequest[] = [
      { prompt: "hello", adapterId: "alpha", maxTokens: 12, sampling: sampled, seed: 1 },
      { prompt: "hello", adapterId: "beta", maxTokens: 9, sampling: sampled, seed: 2 },
      { prompt: "a longer prompt", adapterId: "gamma", maxTokens: 14, sampling: sampled, seed: 3 },
      { prompt: "hi", maxTokens: 10, sampling: sampled, seed: 4 },
      { prompt: "hello", adapterId: "alpha", maxTokens: 12, sampling: { temperature: 0 }, seed: 5 },
    ];
    const alone: Outcome[] = [];
    for (const request of requests) {
      const s = scheduler();
      alone.push(await collect(s.generate(request)));
      assert.equal(s.stats.steps, alone.at(-1)!.finish.completionTokens, JSON.stringify(alone.at(-1)));
    }
    const s = scheduler();
    const together = await Promise.all(requests.map((request) => collect(s.generate(request))));
    together.forEach((outcome, i) => assert.deepEqual(outcome, alone[i], `request ${i}`));
    // About one step per token of the longest request: the others rode along in the same steps (the
    // base-model request may take one step alone while the adapters load).
    const longest = Math.max(...together.map((o) => o.finish.completionTokens));
    assert.ok(s.stats.steps >= longest && s.stats.steps <= longest + 1, `steps ${s.stats.steps}`);
    // The adapters matter: the same prompt and seed differ between alpha and beta.
    assert.notDeepEqual(alone[0].tokens.slice(0, 9), alone[1].tokens);
  });

  it("admits waiting requests as running ones finish, never exceeding the batch size", async () => {
    const s = scheduler({ maxBatchSize: 2 });
    let maxRunning = 0;
    const watch = () => { maxRunning = Math.max(maxRunning, s.stats.running); };
    const lengths = [3, 7, 2, 5, 4];
    const outcomes = await Promise.all(lengths.map((maxTokens, i) => collect(s.generate({ prompt: "abc", maxTokens, sampling: sampled, seed: i, stopTokenIds: [] }), watch)));
    outcomes.forEach((o, i) => {
      assert.equal(o.finish.completionTokens, lengths[i]);
      assert.equal(o.finish.reason, "length");
    });
    assert.ok(maxRunning <= 2 && maxRunning > 0);
    // 21 tokens in 2 lanes: continuous batching needs about half as many steps as tokens.
    assert.ok(s.stats.steps < 21 && s.stats.steps >= 11, `steps ${s.stats.steps}`);
    assert.deepEqual({ running: s.stats.running, waiting: s.stats.waiting, tokensInFlight: s.stats.tokensInFlight }, { running: 0, waiting: 0, tokensInFlight: 0 });
  });

  it("a request that arrives mid-generation joins the running batch", async () => {
    const s = scheduler();
    let late: Promise<Outcome> | null = null;
    let generated = 0;
    for await (const event of s.generate({ prompt: "abc", maxTokens: 20, sampling: sampled, seed: 1, stopTokenIds: [] })) {
      if (event.type === "token" && ++generated === 5) {
        late = collect(s.generate({ prompt: "xyz", maxTokens: 6, sampling: sampled, seed: 2, stopTokenIds: [] }));
      }
    }
    assert.equal(generated, 20);
    assert.equal((await late!).finish.completionTokens, 6);
    // Sequentially it would take 26 steps; joining the batch, the late request's 6 tokens shared steps.
    assert.ok(s.stats.steps <= 21, `steps ${s.stats.steps}`);
  });

  it("chunked prefill feeds a long prompt over several steps and generates the same tokens", async () => {
    const requests: GenerationRequest[] = [
      { prompt: "a prompt of thirty characters!", adapterId: "alpha", maxTokens: 5, sampling: sampled, seed: 3, stopTokenIds: [] },
      { prompt: "short", maxTokens: 12, sampling: sampled, seed: 4, stopTokenIds: [] },
    ];
    const whole = scheduler();
    const expected = await Promise.all(requests.map((r) => collect(whole.generate(r))));
    const chunked = scheduler({ maxPrefillTokens: 4 });
    const actual = await Promise.all(requests.map((r) => collect(chunked.generate(r))));
    assert.deepEqual(actual, expected);
    // 35 prompt tokens at 4 per step: both prompts are in by step 9, when the long one samples its
    // first token (4 more steps follow); "short" samples from step 2 on, decoding while the long
    // prompt is still being fed.
    assert.ok(chunked.stats.steps > whole.stats.steps, `${chunked.stats.steps} vs ${whole.stats.steps}`);
    assert.equal(chunked.stats.steps, 8 + 5);
  });

  it("bounds the tokens in flight: requests whose reservations do not fit wait their turn", async () => {
    const s = scheduler({ maxTokensInFlight: 20 });
    let maxInFlight = 0;
    const watch = () => { maxInFlight = Math.max(maxInFlight, s.stats.tokensInFlight); };
    // Each reserves 3 + 9 = 12 tokens: two never fit together.
    const outcomes = await Promise.all([1, 2, 3].map((seed) => collect(s.generate({ prompt: "abc", maxTokens: 9, sampling: sampled, seed, stopTokenIds: [] }), watch)));
    assert.ok(outcomes.every((o) => o.finish.completionTokens === 9));
    assert.equal(maxInFlight, 12);
    assert.equal(s.stats.steps, 27);
  });

  it("stops at a stop string, returning only the text before it", async () => {
    const request: GenerationRequest = { prompt: "the", maxTokens: 24, sampling: sampled, seed: 9, stopTokenIds: [] };
    const full = await collect(scheduler().generate(request));
    assert.equal(full.text.length, 24);
    const stop = full.text.slice(10, 12);
    const cut = full.text.indexOf(stop);
    const stopped = await collect(scheduler().generate({ ...request, stop: [stop] }));
    assert.equal(stopped.text, full.text.slice(0, cut));
    assert.equal(stopped.finish.reason, "stop");
    assert.equal(stopped.finish.completionTokens, cut + 2);
  });

  it("stops at a stop token without streaming it, and at maxTokens with reason length", async () => {
    const request: GenerationRequest = { prompt: "go", maxTokens: 16, sampling: sampled, seed: 21, stopTokenIds: [] };
    const full = await collect(scheduler().generate(request));
    assert.equal(full.finish.reason, "length");
    assert.equal(full.finish.completionTokens, 16);
    assert.equal(full.finish.promptTokens, 2);
    const stopId = full.tokens[6];
    const at = full.tokens.indexOf(stopId);
    const stopped = await collect(scheduler().generate({ ...request, stopTokenIds: [stopId] }));
    assert.deepEqual(stopped.tokens, full.tokens.slice(0, at));
    assert.equal(stopped.finish.reason, "stop");
    assert.equal(stopped.finish.completionTokens, at + 1);
  });

  it("the model's eos token ends generation", async () => {
    // Greedy on a base model whose eos logit is pushed up: an lm_head row copied from the top token.
    const weights = tinyWeights();
    const head = weights.get("lm_head.weight")!;
    const C = CONFIG.hiddenSize;
    head.subarray(39 * C, 40 * C).forEach((_, c, row) => { row[c] = 0; });
    for (let c = 0; c < C; c++) head[39 * C + c] = 10 * weights.get("model.norm.weight")![c];
    const s = new GenerationScheduler({ decoder: new BatchedDecoder(CONFIG, weights, backend), tokenizer: charTokenizer, maxBatchSize: 1, maxTokensInFlight: 64 });
    const outcome = await collect(s.generate({ prompt: "abc", maxTokens: 30, sampling: { temperature: 0 } }));
    assert.equal(outcome.finish.reason, "stop");
    assert.ok(outcome.finish.completionTokens < 30);
  });

  it("cancels on abort, before or during generation, and frees the slot", async () => {
    const s = scheduler({ maxBatchSize: 1 });
    const before = new AbortController();
    before.abort();
    const early = await collect(s.generate({ prompt: "abc", maxTokens: 5, signal: before.signal }));
    assert.equal(early.finish.reason, "cancelled");
    assert.equal(early.finish.completionTokens, 0);

    const during = new AbortController();
    const stream = s.generate({ prompt: "abc", maxTokens: 50, sampling: sampled, seed: 1, signal: during.signal, stopTokenIds: [] });
    const waiting = collect(s.generate({ prompt: "abc", maxTokens: 3, sampling: sampled, seed: 2, stopTokenIds: [] }));
    let outcome: Outcome | null = null;
    let seen = 0;
    for await (const event of stream) {
      if (event.type === "token" && ++seen === 3) during.abort();
      if (event.type === "finish") outcome = { tokens: [], text: "", finish: event };
    }
    assert.equal(outcome!.finish.reason, "cancelled");
    assert.ok(outcome!.finish.completionTokens < 50);
    // The one slot went to the waiting request.
    assert.equal((await waiting).finish.completionTokens, 3);
    assert.equal(s.stats.running, 0);
  });

  it("leaving the for-await loop early cancels the request", async () => {
    const s = scheduler({ maxBatchSize: 1 });
    for await (const event of s.generate({ prompt: "abc", maxTokens: 50, sampling: sampled, seed: 1, stopTokenIds: [] })) {
      if (event.type === "token") break;
    }
    const next = await collect(s.generate({ prompt: "abc", maxTokens: 2, sampling: sampled, seed: 1, stopTokenIds: [] }));
    assert.equal(next.finish.completionTokens, 2);
    assert.ok(s.stats.steps < 10);
  });

  it("a request whose adapter is still loading holds no slot: ready requests pass it", async () => {
    let open = () => {};
    const gate = new Promise<void>((resolve) => { open = resolve; });
    const cache = new AdapterCache({ budgetBytes: 1 << 20, load: async (id) => { await gate; return adapters.get(id)!; } });
    const s = new GenerationScheduler({ decoder, tokenizer: charTokenizer, adapters: cache, maxBatchSize: 1, maxTokensInFlight: 64 });
    const slow = collect(s.generate({ prompt: "abc", adapterId: "beta", maxTokens: 3, sampling: sampled, seed: 1, stopTokenIds: [] }));
    const base = await collect(s.generate({ prompt: "abc", maxTokens: 3, sampling: sampled, seed: 2, stopTokenIds: [] }));
    assert.equal(base.finish.completionTokens, 3);
    assert.equal(s.stats.waiting, 1);
    open();
    assert.equal((await slow).finish.completionTokens, 3);
    assert.equal(cache.stats.misses, 1);
  });

  it("never admits a request before its adapter is pinned, even behind requests still loading", async () => {
    let open = () => {};
    const gate = new Promise<void>((resolve) => { open = resolve; });
    const cache = new AdapterCache({
      budgetBytes: 1 << 20,
      load: async (id) => {
        if (id === "beta") await gate;
        return adapters.get(id)!;
      },
    });
    const s = new GenerationScheduler({ decoder, tokenizer: charTokenizer, adapters: cache, maxBatchSize: 2, maxTokensInFlight: 64 });
    const request = (adapterId: string, seed: number): GenerationRequest => ({ prompt: "abc", adapterId, maxTokens: 4, sampling: sampled, seed, stopTokenIds: [] });
    const outcomes = [s.generate(request("beta", 1)), s.generate(request("beta", 2)), s.generate(request("alpha", 3))].map((stream) => collect(stream));
    await new Promise((resolve) => setTimeout(resolve, 5));
    open();
    const [b1, b2, a] = await Promise.all(outcomes);
    assert.deepEqual(a, await collect(scheduler().generate(request("alpha", 3))));
    assert.deepEqual(b1, await collect(scheduler().generate(request("beta", 1))));
    assert.deepEqual(b2, await collect(scheduler().generate(request("beta", 2))));
  });

  it("fails only the request whose adapter cannot be loaded", async () => {
    const s = scheduler();
    const bad = collect(s.generate({ prompt: "abc", adapterId: "nope", maxTokens: 4 }));
    const good = collect(s.generate({ prompt: "abc", adapterId: "alpha", maxTokens: 4, sampling: sampled, seed: 1 }));
    await assert.rejects(bad, (e: unknown) => e instanceof AdapterLoadError && e.details.adapterId === "nope");
    assert.equal((await good).finish.completionTokens, 4);
    assert.equal(s.stats.tokensInFlight, 0);
  });

  it("fails only the sequence whose token the tokenizer cannot decode, and keeps serving", async () => {
    // A tokenizer that cannot decode some ids (a random-weight model with a smaller tokenizer, say).
    const picky = { encode: charTokenizer.encode, decode: (ids: readonly number[]) => {
      if (ids.some((id) => id % 2 === 1)) throw new Error(`cannot decode ${ids.join(",")}`);
      return charTokenizer.decode(ids);
    } };
    const s = new GenerationScheduler({ decoder, tokenizer: picky, maxBatchSize: 4, maxTokensInFlight: 512 });
    const outcomes = await Promise.allSettled([0, 1, 2, 3, 4, 5].map((seed) => collect(s.generate({ prompt: "abc", maxTokens: 12, seed }))));
    assert.ok(outcomes.some((o) => o.status === "rejected"), "some sequence sampled an odd id");
    for (const outcome of outcomes) if (outcome.status === "rejected") assert.match(String(outcome.reason), /cannot decode/);
    const after = await collect(s.generate({ prompt: [0, 2, 4], maxTokens: 1, seed: 1, stopTokenIds: [] })).catch((error) => error);
    assert.ok(after instanceof Error || after.tokens.length === 1, "the scheduler still answers");
    assert.equal(s.stats.running, 0);
    await s.close();
  });

  it("rejects requests it can never serve, naming the field", () => {
    const s = scheduler({ maxTokensInFlight: 40, slotCapacity: 32 });
    const field = (request: GenerationRequest) => {
      try {
        s.generate(request);
      } catch (error) {
        assert.ok(error instanceof InvalidRequestError);
        return error.details.field;
      }
      return null;
    };
    assert.equal(field({ prompt: "", maxTokens: 4 }), "prompt");
    assert.equal(field({ prompt: [1, 99], maxTokens: 4 }), "prompt");
    assert.equal(field({ prompt: "abc", maxTokens: 0 }), "maxTokens");
    assert.equal(field({ prompt: "abc", maxTokens: 30 }), "maxTokens");
    assert.equal(field({ prompt: "abc", maxTokens: 4, sampling: { topP: 2 } }), "topP");
    assert.equal(field({ prompt: "abc", maxTokens: 4, stop: [""] }), "stop");
    assert.equal(field({ prompt: "abc", maxTokens: 4, adapterId: "" }), "adapterId");
    const baseOnly = new GenerationScheduler({ decoder, tokenizer: charTokenizer, maxBatchSize: 1, maxTokensInFlight: 64 });
    assert.throws(() => baseOnly.generate({ prompt: "abc", maxTokens: 4, adapterId: "alpha" }), InvalidRequestError);
  });
});
