/**
 * The engine on its worker thread (nodes/src/engine/worker) gives exactly what the engine gives on
 * the calling thread: generation (many concurrent requests, with and without adapters), training
 * (the saved adapter byte for byte, the progress events) and the evaluation report, on the
 * committed base model. Also: cancellation, resumable training, typed errors across the boundary,
 * and memory given back when a model is unloaded.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createWasmBackend, type WasmBackend } from "../../../../nodes/src/engine/backend/wasm/wasm-backend.ts";
import { loadModelFolder, type ModelFolder } from "../../../../nodes/src/engine/formats/model-folder.ts";
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, savePeftAdapter } from "../../../../nodes/src/engine/formats/peft-adapter.ts";
import { FolderFileError } from "../../../../nodes/src/engine/formats/errors.ts";
import { AdapterCache, BatchedDecoder, GenerationScheduler, InvalidRequestError, type GenerationEvent, type GenerationRequest } from "../../../../nodes/src/engine/inference/index.ts";
import { InvalidLoraConfigError, createLoraAdapter, type LoraAdapter } from "../../../../nodes/src/engine/lora/adapter.ts";
import { toPeftLayers } from "../../../../nodes/src/engine/lora/peft-layers.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import type { LoraConfig } from "../../../../nodes/src/engine/model/config.ts";
import type { LlamaWeights } from "../../../../nodes/src/engine/model/weights.ts";
import { Trainer, type TrainingEvent } from "../../../../nodes/src/engine/train/trainer.ts";
import { TrainingConfigError } from "../../../../nodes/src/engine/train/errors.ts";
import { evaluateAdapter } from "../../../../nodes/src/engine/train/evaluate.ts";
import { Rng } from "../../../../nodes/src/engine/train/rng.ts";
import {
  AdapterNotRegisteredError, Engine, EngineClosedError, EngineRequestError, ModelNotLoadedError, TrainingCancelledError,
  type TrainingJob, type TrainingProgress,
} from "../../../../nodes/src/engine/worker/index.ts";

const MODEL_DIR = fileURLToPath(new URL("../../../../models/tributary-base-v0/", import.meta.url));
const LORA: LoraConfig = { rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj", "down_proj"] };
const DOCS = [
  "The President shall from time to time give to the Congress information of the state of the Union.",
  "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse.",
  "The revenue of the Government for the fiscal year was more than sufficient to meet its expenses.",
  "It was the whale, the white whale, that the captain had sworn to hunt to the ends of the earth.",
  "We have increased the strength of our Navy and of our coast defenses in the past year.",
  "The sea was calm, and the ship moved slowly through the fog towards the harbour.",
];
const HELD_OUT = ["The Congress has passed laws for the welfare of the people and the defense of the nation.", "The whale rose from the sea."];

let folder: ModelFolder;
let backend: WasmBackend;
let engine: Engine;
let scratch: string;
let randomAdapterDir: string;
let randomAdapter: LoraAdapter;

function weightsOn(target: WasmBackend): LlamaWeights {
  return new Map([...folder.tensors].map(([name, t]) => {
    const buffer = target.alloc(t.data.length);
    buffer.set(t.data);
    return [name, buffer];
  }));
}

/** An adapter with random B (PEFT starts B at zero, which would make it the base model). */
function makeRandomAdapter(seed: number): LoraAdapter {
  const adapter = createLoraAdapter(folder.config, LORA, { seed, baseModel: "tributary-base-v0" });
  const rng = new Rng(seed);
  for (const { B } of adapter.weights.values()) for (let i = 0; i < B.length; i++) B[i] = rng.uniform(-1, 1);
  return adapter;
}

async function collect(stream: AsyncIterable<GenerationEvent>): Promise<{ tokens: number[]; text: string; reason: string }> {
  const tokens: number[] = [];
  let text = "";
  let reason = "";
  for await (const event of stream) {
    text += event.text;
    if (event.type === "token") tokens.push(event.tokenId);
    else reason = event.reason;
  }
  return { tokens, text, reason };
}

before(async () => {
  folder = await loadModelFolder(MODEL_DIR);
  backend = await createWasmBackend({ threads: 1 });
  engine = await Engine.start({ threads: 1 });
  await engine.loadModel("base", MODEL_DIR, { maxBatchSize: 8 });
  scratch = await mkdtemp(join(tmpdir(), "engine-worker-"));
  randomAdapter = makeRandomAdapter(7);
  randomAdapterDir = join(scratch, "random-adapter");
  await savePeftAdapter(randomAdapterDir, toPeftLayers(randomAdapter, folder.config.numLayers), folder.config);
});

after(async () => {
  await engine?.close();
  await backend?.dispose();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("engine worker: generation", () => {
  const requests: GenerationRequest[] = [
    { prompt: "The people of the United States", maxTokens: 24, sampling: { temperature: 0 } },
    { prompt: "The whale", maxTokens: 16, seed: 3, sampling: { temperature: 0.9, topK: 40 } },
    { prompt: "Congress", maxTokens: 20, seed: 4, adapterId: "random", sampling: { temperature: 0.8 } },
    { prompt: "The sea was", maxTokens: 12, adapterId: "random-bytes", sampling: { temperature: 0 } },
    { prompt: "In the year", maxTokens: 30, seed: 5, sampling: { temperature: 1, topP: 0.9 } },
  ];

  it("streams the same tokens as the in-thread scheduler, bit for bit, for concurrent requests with and without adapters", async () => {
    const info = await engine.registerAdapter("base", "random", { dir: randomAdapterDir });
    assert.deepEqual(info.config, LORA);
    const adapterConfig = JSON.parse(await readFile(join(randomAdapterDir, ADAPTER_CONFIG_FILE), "utf8"));
    const safetensors = new Uint8Array(await readFile(join(randomAdapterDir, ADAPTER_WEIGHTS_FILE)));
    await engine.registerAdapter("base", "random-bytes", { adapterConfig, safetensors });

    const decoder = new BatchedDecoder(folder.config, weightsOn(backend), backend);
    const adapters = new AdapterCache({ budgetBytes: 1 << 26, load: async () => randomAdapter });
    const scheduler = new GenerationScheduler({ decoder, tokenizer: folder.tokenizer, adapters, maxBatchSize: 8, maxTokensInFlight: 8 * 128 });
    const expected = await Promise.all(requests.map((request) => collect(scheduler.generate({ seed: 1, ...request }))));
    await scheduler.close();
    decoder.dispose();

    const actual = await Promise.all(requests.map((request) => collect(engine.generate({ modelId: "base", seed: 1, ...request }))));
    assert.deepEqual(actual, expected);
    assert.notDeepEqual(actual[3].tokens, (await collect(engine.generate({ modelId: "base", ...requests[3], adapterId: null }))).tokens,
      "the adapter changes the output");
  });

  it("cancels a request by its signal and by leaving the loop, and keeps serving the others", async () => {
    const controller = new AbortController();
    const events: GenerationEvent[] = [];
    for await (const event of engine.generate({ modelId: "base", prompt: "The", maxTokens: 100, seed: 1, signal: controller.signal })) {
      events.push(event);
      if (events.length === 3) controller.abort();
    }
    const finish = events.at(-1)!;
    assert.equal(finish.type, "finish");
    assert.equal(finish.type === "finish" && finish.reason, "cancelled");
    assert.ok(events.length < 100);

    let seen = 0;
    for await (const _ of engine.generate({ modelId: "base", prompt: "The", maxTokens: 100, seed: 1 })) if (++seen === 2) break;
    const alive = await collect(engine.generate({ modelId: "base", prompt: "The", maxTokens: 5, seed: 1 }));
    assert.equal(alive.tokens.length, 5);
    let stats = await engine.stats();
    for (let i = 0; i < 50 && stats.models.base.scheduler.running > 0; i++) stats = await engine.stats();
    assert.equal(stats.models.base.scheduler.running, 0, "cancelled sequences left the batch");
  });

  it("throws typed errors across the boundary, with their details", async () => {
    await assert.rejects(collect(engine.generate({ modelId: "missing", prompt: "x", maxTokens: 2 })),
      (error: unknown) => error instanceof ModelNotLoadedError && error.details.modelId === "missing");
    await assert.rejects(collect(engine.generate({ modelId: "base", prompt: "x", maxTokens: 0 })),
      (error: unknown) => error instanceof InvalidRequestError && error.details.field === "maxTokens");
    await assert.rejects(engine.loadModel("other", join(scratch, "no-such-folder")), FolderFileError);
    await assert.rejects(engine.evaluate({ modelId: "base", adapterId: "unknown", heldOut: HELD_OUT, batchSize: 2, sequenceLength: 32 }),
      AdapterNotRegisteredError);
    await assert.rejects(engine.registerAdapter("base", "", { dir: randomAdapterDir }), EngineRequestError);
    const badJob = { modelId: "base", train: DOCS, lora: LORA, outputDir: join(scratch, "never"), seed: 1, batchSize: 2, sequenceLength: 32, totalSteps: 2, learningRate: 1e-3 };
    await assert.rejects(engine.train({ ...badJob, lora: { ...LORA, rank: 0 } }).result,
      (error: unknown) => error instanceof InvalidLoraConfigError && error.details.field === "rank");
    await assert.rejects(engine.train({ ...badJob, batchSize: 0 }).result,
      (error: unknown) => error instanceof TrainingConfigError && /batchSize/.test(error.message));
  });
});

describe("engine worker: training and evaluation", () => {
  const hyper = { seed: 11, batchSize: 2, sequenceLength: 32, totalSteps: 4, learningRate: 5e-3, warmupSteps: 1 } as const;

  /** The same job run on this thread with the library: the reference the worker must match. */
  async function trainInThread(outputDir: string): Promise<{ events: TrainingEvent[]; adapter: LoraAdapter; model: LlamaModel }> {
    const encode = (docs: readonly string[]) => docs.map((d) => Int32Array.from(folder.tokenizer.encode(d)));
    const adapter = createLoraAdapter(folder.config, LORA, { seed: hyper.seed, baseModel: "base", alloc: (n) => backend.alloc(n) });
    const model = new LlamaModel(folder.config, weightsOn(backend), backend);
    model.setAdapter(adapter);
    const trainer = new Trainer({ model, trainSequences: encode(DOCS), evalSequences: encode(HELD_OUT), ...hyper });
    const events: TrainingEvent[] = [];
    for await (const event of trainer.run()) events.push(event);
    await savePeftAdapter(outputDir, toPeftLayers(adapter, folder.config.numLayers), folder.config);
    return { events, adapter, model };
  }

  it("trains the same adapter as the in-thread trainer, byte for byte, streaming progress and returning the evaluation report", async () => {
    const reference = await trainInThread(join(scratch, "reference-adapter"));
    const referenceReport = evaluateAdapter(reference.model, reference.adapter, HELD_OUT.map((d) => Int32Array.from(folder.tokenizer.encode(d))), 2, 32);

    const outputDir = join(scratch, "worker-adapter");
    const run = engine.train({ modelId: "base", train: DOCS, heldOut: HELD_OUT, lora: LORA, outputDir, ...hyper });
    const progress: TrainingProgress[] = [];
    for await (const event of run.progress) progress.push(event);
    const result = await run.result;

    assert.deepEqual(progress.map((p) => p.step), [1, 2, 3, 4]);
    assert.deepEqual(progress.map((p) => p.loss), reference.events.map((e) => e.loss));
    assert.equal(progress.at(-1)!.evalLoss, reference.events.at(-1)!.evalLoss);
    for (const p of progress) assert.ok(p.tokensPerSecond > 0 && p.etaSeconds >= 0 && p.totalSteps === 4);
    assert.equal(result.adapterDir, outputDir);
    assert.equal(result.steps, 4);
    for (const file of [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE]) {
      assert.deepEqual(await readFile(join(outputDir, file)), await readFile(join(scratch, "reference-adapter", file)), `${file} differs`);
    }
    assert.deepEqual(result.evaluation, referenceReport);

    await engine.registerAdapter("base", "trained", { dir: outputDir });
    const report = await engine.evaluate({ modelId: "base", adapterId: "trained", heldOut: HELD_OUT, batchSize: 2, sequenceLength: 32 });
    assert.deepEqual(report, referenceReport);
    reference.model.dispose();
  });

  it("cancels a job after a step, leaving a checkpoint from which a new job resumes to the uninterrupted result", async () => {
    const checkpointDir = join(scratch, "checkpoints");
    const job: TrainingJob = { modelId: "base", train: DOCS, lora: LORA, outputDir: join(scratch, "resumed"), checkpointDir, ...hyper, totalSteps: 12 };
    const first = engine.train(job);
    for await (const event of first.progress) if (event.step === 1) { first.cancel(); break; }
    let cancelledAt = 0;
    await assert.rejects(first.result, (error: unknown) => {
      cancelledAt = (error as TrainingCancelledError).details.step as number;
      return error instanceof TrainingCancelledError && cancelledAt >= 1 && cancelledAt < 12;
    });
    await stat(join(checkpointDir, "trainer-state.json"));

    const resumedRun = engine.train(job);
    const steps: number[] = [];
    for await (const event of resumedRun.progress) steps.push(event.step);
    const resumed = await resumedRun.result;
    assert.equal(steps[0], cancelledAt + 1, "resumed after the last step done");
    assert.equal(resumed.steps, 12);
    const straight = await engine.train({ ...job, checkpointDir: undefined, outputDir: join(scratch, "straight") }).result;
    assert.deepEqual(await readFile(join(scratch, "resumed", ADAPTER_WEIGHTS_FILE)), await readFile(join(scratch, "straight", ADAPTER_WEIGHTS_FILE)));
    assert.equal(resumed.finalLoss, straight.finalLoss);
  });

  it("gives back every byte of a model and its jobs when it is unloaded", async () => {
    const other = await Engine.start({ threads: 1 });
    try {
      const lifetime = async () => {
        await other.loadModel("base", MODEL_DIR, { maxBatchSize: 4 });
        await other.registerAdapter("base", "random", { dir: randomAdapterDir });
        await other.train({ modelId: "base", train: DOCS, heldOut: HELD_OUT, lora: LORA, outputDir: join(scratch, "unload"), ...hyper, totalSteps: 1 }).result;
        await Promise.all([0, 1, 2].map((i) => collect(other.generate({ modelId: "base", prompt: "The", adapterId: i === 1 ? "random" : null, maxTokens: 8, seed: i }))));
        const loaded = (await other.stats()).memory;
        await other.unloadModel("base");
        return { loaded, unloaded: (await other.stats()).memory };
      };
      const empty = (await other.stats()).memory;
      const first = await lifetime();
      // What stays is the backend's own staging room for buffers that live outside its memory
      // (adapters read from disk): one buffer, kept for reuse.
      assert.ok(first.unloaded.liveBytes - empty.liveBytes < 64 * 1024, `${first.unloaded.liveBytes - empty.liveBytes} bytes stayed`);
      assert.ok(first.loaded.liveBytes > first.unloaded.liveBytes + 15e6, "the weights were in the backend's memory");
      const second = await lifetime();
      const third = await lifetime();
      assert.equal(second.unloaded.liveBytes, first.unloaded.liveBytes, "a second load-use-unload leaves nothing behind");
      assert.equal(third.unloaded.liveBytes, first.unloaded.liveBytes);
      assert.equal(third.loaded.highWaterBytes, second.loaded.highWaterBytes, "and, once warm, reuses the same memory");
      await assert.rejects(collect(other.generate({ modelId: "base", prompt: "x", maxTokens: 1 })), ModelNotLoadedError);
    } finally {
      await other.close();
    }
    await assert.rejects(other.stats(), EngineClosedError);
  });
});
