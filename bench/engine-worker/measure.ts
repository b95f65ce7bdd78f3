/**
 * What the caller's thread feels while the engine serves a batch: event-loop delay
 * (perf_hooks.monitorEventLoopDelay) of the caller during batched generation, with the engine on its
 * own worker (Engine) and, for contrast, on the caller's thread (EngineHost). Also the tokens each
 * request got (the two must agree bit for bit) and the throughput of each.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createBackend } from "../../nodes/src/engine/backend/create-backend.ts";
import type { GenerationEvent } from "../../nodes/src/engine/inference/generation-sequence.ts";
import { Engine, EngineHost, type EngineGenerationRequest, type LoadModelOptions } from "../../nodes/src/engine/worker/index.ts";

export interface WorkerBenchOptions {
  modelDir: string;
  requests: number;
  maxTokens: number;
  batch: number;
  threads: number;
}

export interface LoopDelay {
  /** Milliseconds. */
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export interface PlacementResult {
  placement: "worker" | "caller's thread";
  delay: LoopDelay;
  seconds: number;
  tokens: number;
  tokensPerSecond: number;
  /** Each request's token ids, in request order. */
  outputs: number[][];
}

type Generate = (request: EngineGenerationRequest) => AsyncIterable<GenerationEvent>;

function requestsFor(options: WorkerBenchOptions): EngineGenerationRequest[] {
  return Array.from({ length: options.requests }, (_, i) => ({
    modelId: "bench", prompt: [1 + (i % 50), 2 + (i % 7), 3, 4, 5, 6, 7, 8], maxTokens: options.maxTokens, seed: i,
    sampling: { temperature: 0.8, topK: 50 },
  }));
}

/** Runs every request at once through `generate` while the caller's event loop is sampled every millisecond. */
async function serve(generate: Generate, options: WorkerBenchOptions): Promise<Omit<PlacementResult, "placement">> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  const started = performance.now();
  histogram.enable();
  const outputs = await Promise.all(requestsFor(options).map(async (request) => {
    const tokens: number[] = [];
    for await (const event of generate(request)) if (event.type === "token") tokens.push(event.tokenId);
    return tokens;
  }));
  histogram.disable();
  const seconds = (performance.now() - started) / 1000;
  const ms = (ns: number) => ns / 1e6;
  const tokens = outputs.reduce((sum, t) => sum + t.length, 0);
  return {
    delay: { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), mean: ms(histogram.mean) },
    seconds, tokens, tokensPerSecond: tokens / seconds, outputs,
  };
}

export async function measureWorkerPlacement(options: WorkerBenchOptions): Promise<{ worker: PlacementResult; inThread: PlacementResult }> {
  const load: LoadModelOptions = { maxBatchSize: options.batch, contextLength: 8 + options.maxTokens };

  const engine = await Engine.start({ threads: options.threads });
  let worker: PlacementResult;
  try {
    await engine.loadModel("bench", options.modelDir, load);
    // Warm-up: V8 tiers the wasm kernels up on first use.
    await serve((r) => engine.generate(r), { ...options, requests: Math.min(options.requests, options.batch), maxTokens: 2 });
    worker = { placement: "worker", ...await serve((r) => engine.generate(r), options) };
  } finally {
    await engine.close();
  }

  const backend = await createBackend({ threads: options.threads });
  const host = new EngineHost(backend);
  let inThread: PlacementResult;
  try {
    await host.loadModel("bench", options.modelDir, load);
    await serve((r) => host.generate(r), { ...options, requests: Math.min(options.requests, options.batch), maxTokens: 2 });
    inThread = { placement: "caller's thread", ...await serve((r) => host.generate(r), options) };
  } finally {
    await host.close();
    await backend.dispose();
  }
  return { worker, inThread };
}
