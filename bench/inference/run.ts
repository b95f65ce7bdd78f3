/**
 * Multi-adapter serving benchmark: `node bench/inference/run.ts [--model small|smollm2-135m|tributary-base-v0]
 * [--backend wasm|reference] [--requests N] [--max-tokens N] [--prompt N] [--batch N] [--repeats N]
 * [--naive-requests N] [--cold-loads N]`.
 *
 * On a base model picked by --model (model-presets.ts: the small random Llama by default, SmolLM2-135M's
 * shape, or the project's committed base model), with rank-8 adapters on q, k, v, o it measures, side by
 * side in one run:
 *   - decode throughput of continuous batching with 1, 100 and 1,000 distinct adapters in flight
 *     (request i uses adapter i mod K, so with K > batch size requests rotate through the adapters);
 *   - the naive baseline: merge the request's adapter into the base weights, generate, un-merge,
 *     one request at a time;
 *   - cold load of a PEFT adapter folder from disk.
 * Each throughput is the median over --repeats runs; configurations are interleaved so machine
 * noise hits them alike. The workload defaults to the preset's (sized to keep a run within minutes); each option
 * overrides it. Results are printed and written to the model's block of bench/out/inference.md.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Backend } from "../../nodes/src/engine/backend/backend.ts";
import { createReferenceBackend } from "../../nodes/src/engine/backend/reference.ts";
import { savePeftAdapter } from "../../nodes/src/engine/formats/peft-adapter.ts";
import { AdapterCache, adapterByteSize } from "../../nodes/src/engine/inference/adapter-cache.ts";
import { BatchedDecoder } from "../../nodes/src/engine/inference/batched-decoder.ts";
import { createDiskAdapterLoader } from "../../nodes/src/engine/inference/disk-adapter-loader.ts";
import type { GenerationEvent } from "../../nodes/src/engine/inference/generation-sequence.ts";
import { GenerationScheduler } from "../../nodes/src/engine/inference/scheduler.ts";
import { copyLoraAdapter, freeLoraAdapter, type LoraAdapter } from "../../nodes/src/engine/lora/adapter.ts";
import type { LlamaConfig } from "../../nodes/src/engine/model/config.ts";
import type { LlamaWeights } from "../../nodes/src/engine/model/weights.ts";
import { Rng } from "../../nodes/src/engine/train/rng.ts";
import { mergeAdapter } from "./naive-merge.ts";
import { BenchOptionError } from "./errors.ts";
import { modelPreset, type Workload } from "./model-presets.ts";
import { BENCH_LORA, benchAdapter } from "./random-model.ts";
import { writeModelResults } from "./results-file.ts";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "small" },
    backend: { type: "string", default: "wasm" },
    requests: { type: "string" },
    "max-tokens": { type: "string" },
    prompt: { type: "string" },
    batch: { type: "string" },
    repeats: { type: "string" },
    "naive-requests": { type: "string" },
    "cold-loads": { type: "string" },
  },
});
const MODEL = args.model;
const preset = modelPreset(MODEL);

/** The preset's value of a workload knob unless the command line gives one, which must be a positive integer. */
function knob(option: keyof typeof args & string, fallback: number): number {
  const given = args[option];
  if (given === undefined || typeof given !== "string") return fallback;
  const value = Number(given);
  if (!Number.isInteger(value) || value < 1) throw new BenchOptionError(option, given, "must be a positive integer");
  return value;
}
const workload: Workload = {
  requests: knob("requests", preset.workload.requests),
  maxTokens: knob("max-tokens", preset.workload.maxTokens),
  prompt: knob("prompt", preset.workload.prompt),
  batch: knob("batch", preset.workload.batch),
  repeats: knob("repeats", preset.workload.repeats),
  naiveRequests: knob("naive-requests", preset.workload.naiveRequests),
  coldLoads: knob("cold-loads", preset.workload.coldLoads),
};
const { requests: REQUESTS, maxTokens: MAX_TOKENS, prompt: PROMPT, batch: BATCH, repeats: REPEATS, naiveRequests: NAIVE_REQUESTS, coldLoads: COLD_LOADS } = workload;
const ADAPTER_COUNTS = [1, 100, 1000];
/** The memory tier holds this many adapters: 1,000 distinct ones do not fit, so rotating through them evicts and reloads. */
const CACHE_ADAPTERS = 128;

/** Prompts of random ids; the tokenizer only decodes generated ids into placeholder text. */
const tokenizer = { encode: () => [] as number[], decode: (ids: readonly number[]) => ids.map((id) => `<${id}>`).join("") };

function prompts(count: number, vocabSize: number): number[][] {
  const rng = new Rng(99);
  return Array.from({ length: count }, () => Array.from({ length: PROMPT }, () => rng.nextInt(vocabSize)));
}

async function drain(stream: AsyncIterable<GenerationEvent>): Promise<number> {
  for await (const event of stream) if (event.type === "finish") return event.completionTokens;
  return 0;
}

/**
 * Generated tokens per wall-clock second, and per CPU-second of this process (all its threads). The
 * machines are shared: when other jobs take the cores the wall-clock rate drops, while the rate per
 * CPU-second measures the work itself.
 */
interface Rate {
  wall: number;
  cpu: number;
}

/** Runs `work` (which returns the tokens it generated) and measures its rates. */
async function measure(work: () => Promise<number>): Promise<Rate> {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const tokens = await work();
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return { wall: tokens / seconds, cpu: tokens / ((cpu.user + cpu.system) / 1e6) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Tokens per second of continuous batching over `requests`, request i using adapter i mod `adapterCount`. */
async function batchedThroughput(
  decoder: BatchedDecoder, adapters: LoraAdapter[], adapterCount: number, requestPrompts: number[][],
): Promise<{ rate: Rate; evictions: number }> {
  const backend = decoder.backend;
  const cache = new AdapterCache({
    budgetBytes: adapterByteSize(adapters[0]) * CACHE_ADAPTERS,
    // The memory tier is what is measured here; a miss is served from the pre-built set as a disk or IPFS tier would be.
    load: async (id) => adapters[Number(id.slice(1))],
    // The memory tier is the backend's memory, where the SGMV kernels read factors in place (as a node serves).
    place: (adapter) => copyLoraAdapter(adapter, (n) => backend.alloc(n)),
    discard: (adapter) => freeLoraAdapter(adapter, (buffer) => backend.free(buffer)),
  });
  const scheduler = new GenerationScheduler({
    decoder, tokenizer, adapters: cache, maxBatchSize: BATCH, maxTokensInFlight: BATCH * (PROMPT + MAX_TOKENS), slotCapacity: PROMPT + MAX_TOKENS,
  });
  const rate = await measure(async () => {
    const counts = await Promise.all(requestPrompts.map((prompt, i) => drain(scheduler.generate({
      prompt, adapterId: `a${i % adapterCount}`, maxTokens: MAX_TOKENS, sampling: { temperature: 0.8, topK: 50 }, seed: i,
    }))));
    return counts.reduce((a, b) => a + b, 0);
  });
  await scheduler.close();
  cache.clear();
  return { rate, evictions: cache.stats.evictions };
}

/** Tokens per second serving one request at a time, each with its adapter merged into the base weights and then removed. */
async function naiveThroughput(
  backend: Backend, config: LlamaConfig, weights: LlamaWeights, adapters: LoraAdapter[], requestPrompts: number[][],
): Promise<Rate> {
  const decoder = new BatchedDecoder(config, weights, backend, PROMPT + MAX_TOKENS);
  const scheduler = new GenerationScheduler({ decoder, tokenizer, maxBatchSize: 1, maxTokensInFlight: PROMPT + MAX_TOKENS });
  const rate = await measure(async () => {
    let tokens = 0;
    for (let i = 0; i < requestPrompts.length; i++) {
      const adapter = adapters[i % adapters.length];
      mergeAdapter(backend, weights, adapter, 1);
      tokens += await drain(scheduler.generate({ prompt: requestPrompts[i], maxTokens: MAX_TOKENS, sampling: { temperature: 0.8, topK: 50 }, seed: i }));
      mergeAdapter(backend, weights, adapter, -1);
    }
    return tokens;
  });
  await scheduler.close();
  return rate;
}

/** Milliseconds to read one rank-8 PEFT adapter folder from disk and check it, per adapter (each read once: a cold miss). */
async function coldLoadTimes(config: LlamaConfig, adapters: LoraAdapter[]): Promise<number[]> {
  const directory = await mkdtemp(join(tmpdir(), "tributary-bench-adapters-"));
  try {
    for (let i = 0; i < COLD_LOADS; i++) {
      const adapter = adapters[i];
      const layers = Array.from({ length: config.numLayers }, (_, l) =>
        Object.fromEntries(BENCH_LORA.targetModules.map((t) => [t, adapter.weights.get(`${l}.${t}`)!])));
      await savePeftAdapter(join(directory, `adapter-${i}`), { config: adapter.config, baseModel: "bench", layers }, config);
    }
    const load = createDiskAdapterLoader(directory, config);
    const times: number[] = [];
    for (let i = 0; i < COLD_LOADS; i++) {
      const start = performance.now();
      await load(`adapter-${i}`);
      times.push(performance.now() - start);
    }
    return times;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  // Imported only when asked for, so --backend reference runs even where the WASM backend cannot load.
  const backend = args.backend === "reference"
    ? createReferenceBackend()
    : await (await import("../../nodes/src/engine/backend/create-backend.ts")).createBackend();
  const { config, weights, source } = await preset.load((n) => backend.alloc(n));
  // Request i uses adapter i mod K: a run never touches more distinct adapters than it has requests.
  const distinct = (k: number) => Math.min(k, REQUESTS);
  const adapters = Array.from({ length: Math.max(distinct(Math.max(...ADAPTER_COUNTS)), NAIVE_REQUESTS, COLD_LOADS) }, (_, i) => benchAdapter(i + 1, config));
  const decoder = new BatchedDecoder(config, weights, backend, PROMPT + MAX_TOKENS);
  // The same decoder with the LoRA updates as two matmuls per adapter group (before SGMV), for comparison.
  const perGroupDecoder = new BatchedDecoder(config, weights, backend, PROMPT + MAX_TOKENS, { loraUpdate: "per-group" });
  const requestPrompts = prompts(REQUESTS, config.vocabSize);
  const parameters = [...weights.values()].reduce((sum, w) => sum + w.length, 0);
  const modelLine = `${MODEL}: ${source}; C=${config.hiddenSize}, L=${config.numLayers}, V=${config.vocabSize}, NH=${config.numHeads}, NKV=${config.numKvHeads}, HS=${config.headDim}, F=${config.intermediateSize}` +
    `${config.tieWordEmbeddings ? ", tied embeddings" : ""}; ${(parameters / 1e6).toFixed(1)}M parameters (${(parameters * 4 / 2 ** 20).toFixed(0)} MiB of float32)`;
  const adapterKiB = (adapterByteSize(adapters[0]) / 1024).toFixed(0);
  console.log(`backend ${backend.name}; model ${modelLine}; rank ${BENCH_LORA.rank} on ${BENCH_LORA.targetModules.join(",")} (${adapterKiB} KiB each)`);
  console.log(`workload: ${REQUESTS} requests × (prompt ${PROMPT} + ${MAX_TOKENS} generated), batch ${BATCH}, median of ${REPEATS}`);

  // Warm-up: lets V8 and the WASM kernels tier up before anything is timed.
  await batchedThroughput(decoder, adapters, 100, requestPrompts.slice(0, 2 * BATCH));

  const batched = new Map<number, Rate[]>(ADAPTER_COUNTS.map((k) => [k, []]));
  const naive: Rate[] = [];
  const perGroup: Rate[] = [];
  const show = (rate: Rate) => `${rate.wall.toFixed(1)} tok/s, ${rate.cpu.toFixed(1)} tok/CPU-s`;
  for (let r = 0; r < REPEATS; r++) {
    for (const k of ADAPTER_COUNTS) {
      const { rate, evictions } = await batchedThroughput(decoder, adapters, k, requestPrompts);
      batched.get(k)!.push(rate);
      console.log(`  run ${r + 1}: ${k} adapter(s): ${show(rate)} (${evictions} evictions)`);
    }
    const looped = await batchedThroughput(perGroupDecoder, adapters, Math.max(...ADAPTER_COUNTS), requestPrompts);
    perGroup.push(looped.rate);
    console.log(`  run ${r + 1}: ${Math.max(...ADAPTER_COUNTS)} adapters, per-group LoRA matmuls: ${show(looped.rate)}`);
    const rate = await naiveThroughput(backend, config, weights, adapters, requestPrompts.slice(0, NAIVE_REQUESTS));
    naive.push(rate);
    console.log(`  run ${r + 1}: naive merge/unmerge, one at a time: ${show(rate)}`);
  }
  const cold = await coldLoadTimes(config, adapters);
  await backend.dispose();

  const medianRate = (rates: Rate[]): Rate => ({ wall: median(rates.map((x) => x.wall)), cpu: median(rates.map((x) => x.cpu)) });
  const one = medianRate(batched.get(1)!);
  const baseline = medianRate(naive);
  const digits = one.wall < 100 ? 1 : 0;
  const row = (label: string, rate: Rate) =>
    `| ${label} | ${rate.wall.toFixed(digits)} | ${(rate.wall / one.wall).toFixed(2)} | ${(rate.wall / baseline.wall).toFixed(1)}× | ` +
    `${rate.cpu.toFixed(digits)} | ${(rate.cpu / one.cpu).toFixed(2)} | ${(rate.cpu / baseline.cpu).toFixed(1)}× |`;
  const batchedLabel = (k: number) => k === 1
    ? "batched, 1 adapter"
    : `batched, ${k} distinct adapters${distinct(k) < k ? ` (${distinct(k)} used: one per request)` : ""}`;
  const many = medianRate(batched.get(Math.max(...ADAPTER_COUNTS))!);
  const coldMedian = median(cold);
  const verdict = (met: boolean) => (met ? "**met**" : "**not met**");
  // The verdict takes the lower of the wall-clock and CPU ratios, so a noisy machine cannot flatter it.
  const manyRatio = Math.min(many.wall / one.wall, many.cpu / one.cpu);
  const naiveRatio = Math.min(many.wall / baseline.wall, many.cpu / baseline.cpu);
  const markdown = [
    `### Model \`${MODEL}\``,
    "",
    `${modelLine}. Measured on ${new Date().toISOString().slice(0, 16)}Z, backend \`${backend.name}\`, load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores at the end of the run.`,
    "LoRA updates: one SGMV shrink and one expand kernel call per projection for the whole batch (rows gathered by adapter), adapters held in the backend's memory; the per-group row runs the same batches with two matmuls per adapter group.",
    `Adapters rank ${BENCH_LORA.rank} on ${BENCH_LORA.targetModules.join(", ")} (${adapterKiB} KiB of float32 each).`,
    `Workload: ${REQUESTS} requests, prompt ${PROMPT} tokens, ${MAX_TOKENS} generated each (temperature 0.8, top-k 50); continuous batching with batch ${BATCH}; request i uses adapter i mod K; the adapter memory tier holds ${CACHE_ADAPTERS} adapters (LRU), misses come from an in-memory tier. Naive baseline: ${NAIVE_REQUESTS} requests one at a time, adapter merged into the base weights and un-merged per request. Median of ${REPEATS} interleaved runs.`,
    "Tokens per CPU-second counts the CPU time of all of the process's threads: on a shared machine it is the steadier measure of the work itself.",
    "",
    "| configuration | tokens/s | vs 1 adapter | vs naive | tokens/CPU-s | vs 1 adapter | vs naive |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...ADAPTER_COUNTS.map((k) => row(batchedLabel(k), medianRate(batched.get(k)!))),
    row(`${batchedLabel(Math.max(...ADAPTER_COUNTS))}, LoRA as two matmuls per adapter group (before SGMV)`, medianRate(perGroup)),
    row("naive merge / un-merge, one request at a time", baseline),
    "",
    `Adapter cold load from disk (PEFT folder, rank ${BENCH_LORA.rank} on this model, ${adapterKiB} KiB of float32): median ${coldMedian.toFixed(2)} ms over ${COLD_LOADS} loads (min ${Math.min(...cold).toFixed(2)}, max ${Math.max(...cold).toFixed(2)}).`,
    "",
    `Goals on \`${MODEL}\` (wall / CPU; the verdict takes the lower): many adapters ≥ 0.8 × one adapter: ${(many.wall / one.wall).toFixed(2)} / ${(many.cpu / one.cpu).toFixed(2)}, ${verdict(manyRatio >= 0.8)}; ` +
    `batched (many adapters) ≥ 5 × naive: ${(many.wall / baseline.wall).toFixed(1)}× / ${(many.cpu / baseline.cpu).toFixed(1)}×, ${verdict(naiveRatio >= 5)}; cold load ≤ 20 ms: ${coldMedian.toFixed(2)} ms, ${verdict(coldMedian <= 20)}.`,
    "",
  ].join("\n");
  console.log("\n" + markdown);
  const out = new URL("../out/", import.meta.url);
  await mkdir(out, { recursive: true });
  await writeModelResults(new URL("inference.md", out), MODEL, markdown);
}

await main();
