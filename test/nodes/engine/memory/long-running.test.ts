/**
 * An engine that runs for weeks must not grow: its WebAssembly memory can never shrink and stops at
 * 4 GiB. These tests run many cycles of train → evaluate → generate on the real wasm backend, with
 * the batch shape, the adapter and its rank changing from cycle to cycle, and check that the
 * backend's high-water mark stops moving once every shape has been seen (warm-up), and that
 * disposing everything gives every byte back.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createWasmBackend, type WasmBackend } from "../../../../nodes/src/engine/backend/wasm/wasm-backend.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import { initLlamaWeights, type LlamaWeights } from "../../../../nodes/src/engine/model/weights.ts";
import { createLoraAdapter, freeLoraAdapter } from "../../../../nodes/src/engine/lora/adapter.ts";
import { Trainer } from "../../../../nodes/src/engine/train/trainer.ts";
import { evaluateAdapter } from "../../../../nodes/src/engine/train/evaluate.ts";
import { BatchedDecoder } from "../../../../nodes/src/engine/inference/batched-decoder.ts";
import { AdapterCache } from "../../../../nodes/src/engine/inference/adapter-cache.ts";
import { GenerationScheduler } from "../../../../nodes/src/engine/inference/scheduler.ts";
import { CONFIG, charTokenizer } from "../inference/fixtures.ts";
import { markovCorpus } from "../train/corpus.ts";
import { loadModelFolder } from "../../../../nodes/src/engine/formats/model-folder.ts";

const BASE_MODEL = new URL("../../../../models/tributary-base-v0/", import.meta.url).pathname;

const CYCLES = 1000;
/** Every combination of shapes has recurred by cycle 36; best-fit placement settles within a few hundred. */
const WARM_UP = 300;
const EARLY = 40;
const train = markovCorpus(CONFIG.vocabSize - 1, 12, 13, 1, 1);
const heldOut = markovCorpus(CONFIG.vocabSize - 1, 4, 13, 2, 1);

let backend: WasmBackend;
let weights: LlamaWeights;

before(async () => {
  backend = await createWasmBackend({ threads: 1 });
  weights = initLlamaWeights(CONFIG, 1, 0.3, (n) => backend.alloc(n));
});

after(async () => {
  await backend.dispose();
});

/** One job's worth of work with shapes that depend on the cycle number (all combinations recur every 36 cycles). */
async function cycle(model: LlamaModel, decoder: BatchedDecoder, i: number): Promise<void> {
  const rank = [2, 4][i % 2];
  const B = 1 + (i % 3);
  const T = [4, 6, 8][i % 3 === 0 ? 1 : (i >> 1) % 3];
  const adapter = createLoraAdapter(CONFIG, { rank, alpha: 2 * rank, targetModules: i % 4 < 2 ? ["q_proj", "v_proj"] : ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] },
    { seed: i, baseModel: "tiny", alloc: (n) => backend.alloc(n) });
  model.setAdapter(adapter);
  const trainer = new Trainer({ model, trainSequences: train, batchSize: B, sequenceLength: T, totalSteps: 1, learningRate: 1e-2, seed: i });
  for await (const event of trainer.run()) assert.ok(Number.isFinite(event.loss));
  const report = evaluateAdapter(model, adapter, heldOut, 1 + ((i + 1) % 3), T + 2);
  assert.ok(Number.isFinite(report.adapter.loss));

  const adapters = new AdapterCache({ budgetBytes: 1 << 24, load: async () => adapter });
  const scheduler = new GenerationScheduler({ decoder, tokenizer: charTokenizer, adapters, maxBatchSize: 1 + (i % 4), maxTokensInFlight: 256, slotCapacity: 16 + 8 * (i % 3) });
  const streams = [scheduler.generate({ prompt: "abc", adapterId: "a", maxTokens: 3 + (i % 5), seed: i }), scheduler.generate({ prompt: [1, 2, 3, 4, 5].slice(0, 1 + (i % 5)), maxTokens: 4, seed: i })];
  for (const stream of streams) for await (const _ of stream);
  await scheduler.close();
  model.releaseAdapter(adapter);
  freeLoraAdapter(adapter, (buffer) => backend.free(buffer));
}

describe("engine memory over a long run", () => {
  it(`stays flat over ${CYCLES} cycles of train → evaluate → generate with changing shapes and adapters`, async () => {
    const model = new LlamaModel(CONFIG, weights, backend);
    const decoder = new BatchedDecoder(CONFIG, weights, backend);
    const start = backend.memoryStats();
    let warm = start;
    let early = start;
    for (let i = 0; i < CYCLES; i++) {
      await cycle(model, decoder, i);
      if (i === EARLY - 1) early = backend.memoryStats();
      if (i === WARM_UP - 1) warm = backend.memoryStats();
    }
    const end = backend.memoryStats();
    assert.ok(early.highWaterBytes > start.highWaterBytes, "the cycles allocate");
    assert.ok(end.highWaterBytes <= early.highWaterBytes * 1.01, `after every shape was seen, placement moves the mark by < 1%: ${early.highWaterBytes} → ${end.highWaterBytes}`);
    assert.equal(end.highWaterBytes, warm.highWaterBytes, `high-water mark moved after warm-up: ${warm.highWaterBytes} → ${end.highWaterBytes}`);
    assert.equal(end.memoryBytes, warm.memoryBytes);

    model.dispose();
    decoder.dispose();
    // What stays is the backend's own scratch, kept for reuse: the SGMV segment table (one small buffer).
    const kept = backend.memoryStats().liveBytes - start.liveBytes;
    assert.ok(kept >= 0 && kept <= 1024, `dispose gives back everything but the weights and the backend's scratch (${kept} bytes kept)`);
  });
});

describe("engine memory at the base model's shape", () => {
  it("repeated evaluations of an adapter against the base (the reported 16 → 828 MiB growth) stay flat", async () => {
    const folder = await loadModelFolder(BASE_MODEL);
    const config = folder.config;
    const baseWeights: LlamaWeights = new Map();
    for (const [name, tensor] of folder.tensors) {
      const buffer = backend.alloc(tensor.data.length);
      buffer.set(tensor.data);
      baseWeights.set(name, buffer);
    }
    const model = new LlamaModel(config, baseWeights, backend);
    const adapter = createLoraAdapter(config, { rank: 8, alpha: 16, targetModules: ["q_proj", "v_proj"] }, { seed: 1, baseModel: "base", alloc: (n) => backend.alloc(n) });
    const text = markovCorpus(config.vocabSize, 8, 65, 3, 1);
    const marks: number[] = [];
    for (let round = 0; round < 3; round++) {
      evaluateAdapter(model, adapter, text, 4, 64);
      marks.push(backend.memoryStats().highWaterBytes);
    }
    assert.equal(marks[2], marks[0], `high-water after each evaluation: ${marks.join(", ")}`);
    model.dispose();
    freeLoraAdapter(adapter, (buffer) => backend.free(buffer));
    for (const buffer of baseWeights.values()) backend.free(buffer);
  });
});
