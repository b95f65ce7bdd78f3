/**
 * The decode step of this checkout's BatchedDecoder against another checkout's, in one process, on
 * the same backend, weights, adapters and batches, in alternating rounds: a before/after comparison
 * of a change to the forward code that machine noise (a shared 2-core machine) hits alike.
 *
 *   node bench/inference/decoder-ab.ts --before <other checkout> [--model small|smollm2-135m|tributary-base-v0]
 *     [--batch 32] [--adapters 8] [--steps 16] [--rounds 9]
 *
 * Each round prefills `batch` 8-token prompts (request i uses adapter i mod `adapters`, rank 8 on q, k,
 * v, o) and decodes `steps` tokens per sequence, first with one decoder then the other (the order
 * alternates). Reports the median decode tokens per second and per CPU-second of each, and their ratio.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../../nodes/src/engine/backend/create-backend.ts";
import type { BatchedDecoder as Decoder } from "../../nodes/src/engine/inference/batched-decoder.ts";
import { createSequenceKvCache, freeSequenceKvCache } from "../../nodes/src/engine/inference/kv-cache.ts";
import { argmax } from "../../nodes/src/engine/inference/sampler.ts";
import { Rng } from "../../nodes/src/engine/train/rng.ts";
import { modelPreset } from "./model-presets.ts";
import { benchAdapter } from "./random-model.ts";

const { values } = parseArgs({
  options: {
    before: { type: "string" },
    model: { type: "string", default: "small" },
    batch: { type: "string", default: "32" },
    adapters: { type: "string", default: "8" },
    steps: { type: "string", default: "16" },
    rounds: { type: "string", default: "9" },
  },
});
if (!values.before) throw new Error("--before <checkout> is required: the other tree whose BatchedDecoder to compare with.");
const BATCH = Number(values.batch);
const STEPS = Number(values.steps);
const ROUNDS = Number(values.rounds);

type DecoderClass = typeof Decoder;
const here: DecoderClass = (await import("../../nodes/src/engine/inference/batched-decoder.ts")).BatchedDecoder;
const there: DecoderClass = (await import(join(resolve(values.before), "nodes/src/engine/inference/batched-decoder.ts"))).BatchedDecoder;

const backend = await createBackend();
const { config, weights } = await modelPreset(values.model!).load((n) => backend.alloc(n));
const adapters = Array.from({ length: Number(values.adapters) }, (_, i) => benchAdapter(i + 1, config));
const rng = new Rng(3);
const prompts = Array.from({ length: BATCH }, () => Array.from({ length: 8 }, () => rng.nextInt(config.vocabSize)));
const decoders = { after: new here(config, weights, backend, 8 + STEPS), before: new there(config, weights, backend, 8 + STEPS) };

/** Decode tokens per second and per CPU-second of one round; the greedy tokens, to check both decoders agree. */
function round(decoder: Decoder): { wall: number; cpu: number; tokens: number[] } {
  const V = config.vocabSize;
  const caches = prompts.map(() => createSequenceKvCache(backend, config, 8 + STEPS));
  let logits = decoder.forward(prompts.map((tokens, s) => ({ cache: caches[s], tokens, adapter: adapters[s % adapters.length] })));
  const tokens: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let step = 0; step < STEPS; step++) {
    const next = prompts.map((_, s) => argmax(logits, s * V, V));
    tokens.push(...next);
    logits = decoder.forward(next.map((token, s) => ({ cache: caches[s], tokens: [token], adapter: adapters[s % adapters.length] })));
  }
  const used = process.cpuUsage(cpu);
  for (const cache of caches) freeSequenceKvCache(backend, cache);
  const decoded = BATCH * STEPS;
  return { wall: decoded / ((performance.now() - started) / 1000), cpu: decoded / ((used.user + used.system) / 1e6), tokens };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const samples = { before: [] as { wall: number; cpu: number }[], after: [] as { wall: number; cpu: number }[] };
round(decoders.before);
round(decoders.after); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? (["before", "after"] as const) : (["after", "before"] as const);
  const results = order.map((name) => ({ name, ...round(decoders[name]) }));
  if (results[0].tokens.join() !== results[1].tokens.join()) console.warn(`round ${r}: the two decoders' greedy tokens differ`);
  for (const { name, wall, cpu } of results) samples[name].push({ wall, cpu });
}
const summary = (name: "before" | "after") => ({ wall: median(samples[name].map((s) => s.wall)), cpu: median(samples[name].map((s) => s.cpu)) });
const [before, after] = [summary("before"), summary("after")];
console.log(`${values.model}, batch ${BATCH}, ${adapters.length} adapters, ${STEPS} decode steps, medians of ${ROUNDS} alternating rounds, ${backend.name}`);
console.log(`| decoder | decode tokens/s | tokens/CPU-s |\n| --- | ---: | ---: |`);
console.log(`| before (${values.before}) | ${before.wall.toFixed(0)} | ${before.cpu.toFixed(0)} |`);
console.log(`| after (this checkout) | ${after.wall.toFixed(0)} | ${after.cpu.toFixed(0)} |`);
console.log(`| after / before | ${(after.wall / before.wall).toFixed(3)} | ${(after.cpu / before.cpu).toFixed(3)} |`);
await backend.dispose();
