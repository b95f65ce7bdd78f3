/**
 * Where one batched decode step spends its time: `node bench/inference/profile-step.ts [--model small|smollm2-135m|
 * tributary-base-v0] [--batch N] [--prompt N] [--steps N] [--adapters distinct|none]`.
 *
 * Prefills `batch` sequences (each with its own rank-8 adapter, or none), then times `steps` decode steps
 * (one new token per sequence) of the BatchedDecoder, splitting each step into the backend's matmuls and
 * everything else (norms, RoPE, attention, LoRA bookkeeping, copies). Prints the median step.
 */
import { parseArgs } from "node:util";
import { createBackend } from "../../nodes/src/engine/backend/create-backend.ts";
import { BatchedDecoder, type ForwardSegment } from "../../nodes/src/engine/inference/batched-decoder.ts";
import { createSequenceKvCache } from "../../nodes/src/engine/inference/kv-cache.ts";
import { Rng } from "../../nodes/src/engine/train/rng.ts";
import { BenchOptionError } from "./errors.ts";
import { modelPreset } from "./model-presets.ts";
import { benchAdapter } from "./random-model.ts";
import { timeMatmuls } from "./timed-backend.ts";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "small" },
    batch: { type: "string", default: "32" },
    prompt: { type: "string", default: "8" },
    steps: { type: "string", default: "16" },
    adapters: { type: "string", default: "distinct" },
  },
});
const positive = (option: "batch" | "prompt" | "steps") => {
  const value = Number(args[option]);
  if (!Number.isInteger(value) || value < 1) throw new BenchOptionError(option, args[option], "must be a positive integer");
  return value;
};
const BATCH = positive("batch");
const PROMPT = positive("prompt");
const STEPS = positive("steps");
if (args.adapters !== "distinct" && args.adapters !== "none") throw new BenchOptionError("adapters", args.adapters, "must be distinct or none");

const backend = timeMatmuls(await createBackend());
const { config, weights } = await modelPreset(args.model).load((n) => backend.alloc(n));
const decoder = new BatchedDecoder(config, weights, backend, PROMPT + 2 * STEPS);
const rng = new Rng(7);
const prompts = Array.from({ length: BATCH }, () => Array.from({ length: PROMPT }, () => rng.nextInt(config.vocabSize)));
const segments: ForwardSegment[] = prompts.map((tokens, i) => ({
  cache: createSequenceKvCache(backend, config, PROMPT + 2 * STEPS),
  tokens,
  adapter: args.adapters === "distinct" ? benchAdapter(i + 1, config) : null,
}));

const steps: { total: number; matmul: number; calls: number }[] = [];
for (let round = 0; round < 2; round++) {
  // Round 0 warms V8 and the kernels up; round 1 is measured. Each round starts from an empty cache.
  segments.forEach((segment, i) => { segment.cache.length = 0; segment.tokens = prompts[i]; });
  decoder.forward(segments);
  for (const segment of segments) segment.tokens = [rng.nextInt(config.vocabSize)];
  for (let s = 0; s < STEPS; s++) {
    backend.reset();
    const start = performance.now();
    decoder.forward(segments);
    const total = performance.now() - start;
    if (round === 1) steps.push({ total, matmul: backend.matmulMs, calls: backend.matmulCalls });
  }
}
await backend.dispose();

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
const total = median(steps.map((s) => s.total));
const matmul = median(steps.map((s) => s.matmul));
const rest = median(steps.map((s) => s.total - s.matmul));
console.log(`${args.model}: decode step, batch ${BATCH} (${args.adapters} adapters), context ${PROMPT}..${PROMPT + STEPS}, backend ${backend.name}`);
console.log(`  step ${total.toFixed(2)} ms (${(BATCH / total * 1000).toFixed(0)} tok/s): matmul ${matmul.toFixed(2)} ms in ${steps[0].calls} calls, rest ${rest.toFixed(2)} ms (${(100 * rest / total).toFixed(0)}%)`);
