/**
 * Multi-adapter serving benchmark: `node bench/inference/run.ts [--backend wasm|reference] [--requests N]
 * [--max-tokens N] [--prompt N] [--batch N] [--repeats N]`.
 *
 * On a small random Llama (random-model.ts) with rank-8 adapters on q, k, v, o it measures, side by
 * side in one run:
 *   - decode throughput of continuous batching with 1, 100 and 1,000 distinct adapters in flight
 *     (request i uses adapter i mod K, so with K > batch size requests rotate through the adapters);
 *   - the naive baseline: merge the request's adapter into the base weights, generate, un-merge,
 *     one request at a time;
 *   - cold load of a PEFT adapter folder from disk.
 * Each throughput is the median over --repeats runs; configurations are interleaved so machine
 * noise hits them alike. Results are printed and written to bench/out/inference.md.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
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
import type { LoraAdapter } from "../../nodes/src/engine/lora/adapter.ts";
import type { LlamaWeights } from "../../nodes/src/engine/model/weights.ts";
import { Rng } from "../../nodes/src/engine/train/rng.ts";
import { mergeAdapter } from "./naive-merge.ts";
import { BENCH_LORA, BENCH_MODEL, benchAdapter, benchWeights } from "./random-model.ts";

const { values: args } = parseArgs({
  options: {
    backend: { type: "string", default: "wasm" },
    requests: { type: "string", default: "1000" },
    "max-tokens": { type: "string", default: "16" },
    prompt: { type: "string", default: "8" },
    batch: { type: "string", default: "32" },
    repeats: { type: "string", default: "3" },
    "naive-requests": { type: "string", default: "48" },
    "cold-loads": { type: "string", default: "25" },
  },
});
const REQUESTS = Number(args.requests);
const MAX_TOKENS = Number(args["max-tokens"]);
const PROMPT = Number(args.prompt);
const BATCH = Number(args.batch);
const REPEATS = Number(args.repeats);
const NAIVE_REQUESTS = Number(args["naive-requests"]);
const COLD_LOADS = Number(args["cold-loads"]);
const ADAPTER_COUNTS = [1, 100, 1000];
/** The memory tier holds this many adapters: 1,000 distinct ones do not fit, so rotating through them evicts and reloads. */
const CACHE_ADAPTERS = 128;

/** Prompts of random ids; the tokenizer only decodes generated ids into placeholder text. */
const tokenizer = { encode: () => [] as number[], decode: (ids: readonly number[]) => ids.map((id) => `<${id}>`).join("") };

function prompts(count: number): number[][] {
  const rng = new Rng(99);
  return Array.from({ length: count }, () => Array.from({ length: PROMPT }, () => rng.nextInt(BENCH_MODEL.vocabSize)));
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
  const cache = new AdapterCache({
    budgetBytes: adapterByteSize(adapters[0]) * CACHE_ADAPTERS,
    // The memory tier is what is measured here; a miss is served from the pre-built set as a disk or IPFS tier would be.
    load: async (id) => adapters[Number(id.slice(1))],
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
  return { rate, evictions: cache.stats.evictions };
}

/** Tokens per second serving one request at a time, each with its adapter merged into the base weights and then removed. */
async function naiveThroughput(backend: Backend, weights: LlamaWeights, adapters: LoraAdapter[], requestPrompts: number[][]): Promise<Rate> {
  const decoder = new BatchedDecoder(BENCH_MODEL, weights, backend, PROMPT + MAX_TOKENS);
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
async function coldLoadTimes(adapters: LoraAdapter[]): Promise<number[]> {
  const directory = await mkdtemp(join(tmpdir(), "tributary-bench-adapters-"));
  try {
    for (let i = 0; i < COLD_LOADS; i++) {
      const adapter = adapters[i];
      const layers = Array.from({ length: BENCH_MODEL.numLayers }, (_, l) =>
        Object.fromEntries(BENCH_LORA.targetModules.map((t) => [t, adapter.weights.get(`${l}.${t}`)!])));
      await savePeftAdapter(join(directory, `adapter-${i}`), { config: adapter.config, baseModel: "bench", layers }, BENCH_MODEL);
    }
    const load = createDiskAdapterLoader(directory, BENCH_MODEL);
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
  const weights = benchWeights((n) => backend.alloc(n));
  const adapters = Array.from({ length: Math.max(...ADAPTER_COUNTS) }, (_, i) => benchAdapter(i + 1));
  const decoder = new BatchedDecoder(BENCH_MODEL, weights, backend, PROMPT + MAX_TOKENS);
  const requestPrompts = prompts(REQUESTS);
  console.log(`backend ${backend.name}; model C=${BENCH_MODEL.hiddenSize} L=${BENCH_MODEL.numLayers} V=${BENCH_MODEL.vocabSize} NH=${BENCH_MODEL.numHeads} NKV=${BENCH_MODEL.numKvHeads} F=${BENCH_MODEL.intermediateSize}; rank ${BENCH_LORA.rank} on ${BENCH_LORA.targetModules.join(",")} (${(adapterByteSize(adapters[0]) / 1024).toFixed(0)} KiB each)`);
  console.log(`workload: ${REQUESTS} requests × (prompt ${PROMPT} + ${MAX_TOKENS} generated), batch ${BATCH}, median of ${REPEATS}`);

  // Warm-up: lets V8 and the WASM kernels tier up before anything is timed.
  await batchedThroughput(decoder, adapters, 100, requestPrompts.slice(0, 2 * BATCH));

  const batched = new Map<number, Rate[]>(ADAPTER_COUNTS.map((k) => [k, []]));
  const naive: Rate[] = [];
  const show = (rate: Rate) => `${rate.wall.toFixed(0)} tok/s, ${rate.cpu.toFixed(0)} tok/CPU-s`;
  for (let r = 0; r < REPEATS; r++) {
    for (const k of ADAPTER_COUNTS) {
      const { rate, evictions } = await batchedThroughput(decoder, adapters, k, requestPrompts);
      batched.get(k)!.push(rate);
      console.log(`  run ${r + 1}: ${k} adapter(s): ${show(rate)} (${evictions} evictions)`);
    }
    const rate = await naiveThroughput(backend, weights, adapters, requestPrompts.slice(0, NAIVE_REQUESTS));
    naive.push(rate);
    console.log(`  run ${r + 1}: naive merge/unmerge, one at a time: ${show(rate)}`);
  }
  const cold = await coldLoadTimes(adapters);
  await backend.dispose();

  const medianRate = (rates: Rate[]): Rate => ({ wall: median(rates.map((x) => x.wall)), cpu: median(rates.map((x) => x.cpu)) });
  const one = medianRate(batched.get(1)!);
  const baseline = medianRate(naive);
  const row = (label: string, rate: Rate) =>
    `| ${label} | ${rate.wall.toFixed(0)} | ${(rate.wall / one.wall).toFixed(2)} | ${(rate.wall / baseline.wall).toFixed(1)}× | ` +
    `${rate.cpu.toFixed(0)} | ${(rate.cpu / one.cpu).toFixed(2)} | ${(rate.cpu / baseline.cpu).toFixed(1)}× |`;
  const many = medianRate(batched.get(1000)!);
  const coldMedian = median(cold);
  const markdown = [
    "## Inference: multi-adapter batched decoding",
    "",
    `Measured by \`node bench/inference/run.ts\` on ${new Date().toISOString().slice(0, 16)}Z, backend \`${backend.name}\`, load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores at the end of the run.`,
    `Model: random Llama C=${BENCH_MODEL.hiddenSize}, L=${BENCH_MODEL.numLayers}, V=${BENCH_MODEL.vocabSize}, NH=${BENCH_MODEL.numHeads}, NKV=${BENCH_MODEL.numKvHeads}, F=${BENCH_MODEL.intermediateSize}; adapters rank ${BENCH_LORA.rank} on ${BENCH_LORA.targetModules.join(", ")}.`,
    `Workload: ${REQUESTS} requests, prompt ${PROMPT} tokens, ${MAX_TOKENS} generated each (temperature 0.8, top-k 50); continuous batching with batch ${BATCH}; request i uses adapter i mod K; the adapter memory tier holds ${CACHE_ADAPTERS} adapters (LRU), misses come from an in-memory tier. Naive baseline: ${NAIVE_REQUESTS} requests one at a time, adapter merged into the base weights and un-merged per request. Median of ${REPEATS} interleaved runs.`,
    "Tokens per CPU-second counts the CPU time of all of the process's threads: on a shared machine it is the steadier measure of the work itself.",
    "",
    "| configuration | tokens/s | vs 1 adapter | vs naive | tokens/CPU-s | vs 1 adapter | vs naive |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...ADAPTER_COUNTS.map((k) => row(`batched, ${k} distinct adapter${k > 1 ? "s" : ""}`, medianRate(batched.get(k)!))),
    row("naive merge / un-merge, one request at a time", baseline),
    "",
    `Adapter cold load from disk (PEFT folder, rank ${BENCH_LORA.rank}, ${(adapterByteSize(adapters[0]) / 1024).toFixed(0)} KiB of float32): median ${coldMedian.toFixed(2)} ms over ${COLD_LOADS} loads (min ${Math.min(...cold).toFixed(2)}, max ${Math.max(...cold).toFixed(2)}).`,
    "",
    `Goals (wall / CPU): 1,000 adapters ≥ 0.8 × one adapter: ${(many.wall / one.wall).toFixed(2)} / ${(many.cpu / one.cpu).toFixed(2)}; ` +
    `batched (1,000 adapters) ≥ 5 × naive: ${(many.wall / baseline.wall).toFixed(1)}× / ${(many.cpu / baseline.cpu).toFixed(1)}×; cold load ≤ 20 ms: ${coldMedian.toFixed(2)} ms.`,
    "",
  ].join("\n");
  console.log("\n" + markdown);
  await mkdir(new URL("../out/", import.meta.url), { recursive: true });
  await writeFile(new URL("../out/inference.md", import.meta.url), markdown);
}

await main();
