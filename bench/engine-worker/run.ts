/**
 * Engine-worker benchmark: `node bench/engine-worker/run.ts [--model tributary-base-v0|smollm2-135m]
 * [--requests N] [--max-tokens N] [--batch N] [--threads N]`.
 *
 * Serves a batch of concurrent generation requests twice, with the engine on its own worker thread
 * (the node's setup) and on the caller's thread, and reports the caller's event-loop delay
 * (perf_hooks.monitorEventLoopDelay, 1 ms resolution) and throughput for each. Goal: p99 ≤ 10 ms
 * with the worker. The smollm2-135m preset writes a random-weight checkpoint of SmolLM2-135M's shape
 * to a temporary folder (540 MB, removed afterwards). Results go to bench/out/engine-worker.md.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { saveModelFolder } from "../../nodes/src/engine/formats/model-folder.ts";
import { llamaWeightShapes, initLlamaWeights } from "../../nodes/src/engine/model/weights.ts";
import { BASE_MODEL_FOLDER, SMOLLM2_135M } from "../inference/model-presets.ts";
import { measureWorkerPlacement, type PlacementResult } from "./measure.ts";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "tributary-base-v0" },
    requests: { type: "string" },
    "max-tokens": { type: "string" },
    batch: { type: "string" },
    threads: { type: "string" },
  },
});
const PRESETS: Record<string, { requests: number; maxTokens: number; batch: number }> = {
  "tributary-base-v0": { requests: 256, maxTokens: 32, batch: 64 },
  "smollm2-135m": { requests: 128, maxTokens: 16, batch: 64 },
};
const preset = PRESETS[args.model];
if (preset === undefined) throw new Error(`--model must be one of ${Object.keys(PRESETS).join(", ")}, got ${args.model}`);
const intArg = (value: string | undefined, fallback: number) => (value === undefined ? fallback : Number.parseInt(value, 10));
const options = {
  requests: intArg(args.requests, preset.requests),
  maxTokens: intArg(args["max-tokens"], preset.maxTokens),
  batch: intArg(args.batch, preset.batch),
  threads: intArg(args.threads, availableParallelism()),
};

let modelDir = BASE_MODEL_FOLDER;
let scratch: string | undefined;
if (args.model === "smollm2-135m") {
  // A checkpoint the engine loads from disk like any model folder, with a word-level tokenizer that
  // names every one of its 49,152 ids ("t0"...): random weights sample any of them.
  scratch = await mkdtemp(join(tmpdir(), "engine-worker-bench-"));
  modelDir = scratch;
  const vocab = Object.fromEntries(Array.from({ length: SMOLLM2_135M.vocabSize }, (_, i) => [`t${i}`, i]));
  const weights = initLlamaWeights(SMOLLM2_135M, 1, 0.02);
  const shapes = llamaWeightShapes(SMOLLM2_135M);
  await saveModelFolder(scratch, {
    config: SMOLLM2_135M,
    tensors: new Map([...weights].map(([name, data]) => [name, { dtype: "F32" as const, shape: shapes.get(name)!, data }])),
    tokenizerJson: {
      version: "1.0", truncation: null, padding: null, added_tokens: [], normalizer: null,
      pre_tokenizer: { type: "WhitespaceSplit" }, post_processor: null, decoder: null,
      model: { type: "WordLevel", vocab, unk_token: "t0" },
    },
  });
}

try {
  console.log(`engine-worker bench: ${args.model}, ${options.requests} requests × ${options.maxTokens} tokens, batch ${options.batch}, ${options.threads} threads`);
  const { worker, inThread } = await measureWorkerPlacement({ modelDir, ...options });
  const same = worker.outputs.every((tokens, i) => tokens.join() === inThread.outputs[i].join());
  const row = (r: PlacementResult) =>
    `| ${r.placement} | ${r.delay.p50.toFixed(1)} | ${r.delay.p99.toFixed(1)} | ${r.delay.max.toFixed(1)} | ${r.tokensPerSecond.toFixed(0)} |`;
  const met = worker.delay.p99 <= 10;
  const section = [
    `## Engine on its worker: the caller's event loop during batched generation (\`${args.model}\`, ${options.threads} compute thread${options.threads === 1 ? "" : "s"})`,
    "",
    `Measured by \`node bench/engine-worker/run.ts --model ${args.model} --threads ${options.threads}\` on ${new Date().toISOString().slice(0, 16)}Z, ` +
      `${options.threads} compute threads, load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores at the end.`,
    `${options.requests} concurrent requests × ${options.maxTokens} tokens (prompt 8, temperature 0.8, top-k 50), continuous batching with batch ${options.batch}.`,
    "Event-loop delay of the calling thread sampled every 1 ms (perf_hooks.monitorEventLoopDelay) while the requests run.",
    "",
    "| engine placement | loop delay p50 (ms) | p99 (ms) | max (ms) | tokens/s |",
    "| --- | ---: | ---: | ---: | ---: |",
    row(worker),
    row(inThread),
    "",
    `Both placements generated the same tokens for every request: ${same ? "yes" : "**no**"}. ` +
      `Goal: p99 ≤ 10 ms with the worker: ${worker.delay.p99.toFixed(1)} ms, **${met ? "met" : "not met"}**.`,
    "",
  ].join("\n");
  console.log(section);
  await mkdir(new URL("../out/", import.meta.url), { recursive: true });
  await writeFile(new URL(`../out/engine-worker-${args.model}-t${options.threads}.md`, import.meta.url), section);
  if (!same) process.exitCode = 1;
} finally {
  if (scratch) await rm(scratch, { recursive: true, force: true });
}
