/**
 * What attributing one output by its real gradient costs next to generating it: a 256-token greedy
 * output with a LoRA adapter (rank 8 on all 7 projections), then its projected gradient at one TracIn
 * checkpoint (one forward over prompt + output, a backward through all layers or only the last K,
 * Kronecker projection), on the reproducible backend a record needs (wasm SIMD without FMA) and, for
 * comparison, the FMA build the output was generated on. One run measures every model and every K
 * side by side, in interleaved rounds, and reports medians.
 *
 *   node bench/output-attribution/run.ts [--models tributary-base-v0,smollm2-135m] [--output 256] [--prompt 16] [--runs 3] [--last-layers 4,2,1]
 *
 * `--last-layers none` measures the backward through every layer only.
 *
 * The base model was trained with 128 positions; RoPE runs past that, and only time is measured
 * here, so the config's maxPositionEmbeddings is raised to fit prompt + output. SmolLM2-135M's shape
 * has random weights (none can be had here; speed does not depend on their values). Writes
 * bench/out/output-attribution.md.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { createWasmBackend } from "../../nodes/src/engine/backend/wasm/wasm-backend.ts";
import type { Backend } from "../../nodes/src/engine/backend/backend.ts";
import type { ScaledLlamaConfig } from "../../nodes/src/engine/formats/llama-config.ts";
import { BatchedDecoder } from "../../nodes/src/engine/inference/batched-decoder.ts";
import { createLoraAdapter, type LoraAdapter } from "../../nodes/src/engine/lora/adapter.ts";
import { LORA_TARGETS } from "../../nodes/src/engine/model/config.ts";
import { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import { projectedOutputGradient } from "../../nodes/src/engine/train/projected-gradients.ts";
import { Rng } from "../../nodes/src/engine/train/rng.ts";
import { gradientInfluence } from "../../nodes/src/attribution/gradient-influence.ts";
import { greedyContinuations } from "../attribution-quality/greedy-continuations.ts";
import { modelPreset } from "../inference/model-presets.ts";

const { values } = parseArgs({
  options: {
    models: { type: "string", default: "tributary-base-v0,smollm2-135m" },
    output: { type: "string", default: "256" },
    prompt: { type: "string", default: "16" },
    runs: { type: "string", default: "3" },
    "last-layers": { type: "string", default: "4,2,1" },
  },
});
const MODELS = values.models!.split(",");
const OUTPUT = Number(values.output);
const PROMPT = Number(values.prompt);
const RUNS = Number(values.runs);
const DIMS = 256;
const EXAMPLES = 20_000;
const KS = values["last-layers"] === "none" ? [] : values["last-layers"]!.split(",").map(Number);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
/** Wall time, and CPU time of all the process's threads (the steadier measure of the work on a shared machine). */
interface Timing { wall: number; cpu: number }
function timing(work: () => void): Timing {
  const cpu = process.cpuUsage();
  const started = performance.now();
  work();
  const used = process.cpuUsage(cpu);
  return { wall: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6 };
}
function seconds(work: () => void): number {
  return timing(work).wall;
}
const medians = (xs: Timing[]): Timing => ({ wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)) });

/** One backend's copy of the model: weights and adapter in its memory, one LlamaModel per K (so none reallocates between Ks). */
interface OnBackend {
  backend: Backend;
  config: ScaledLlamaConfig;
  source: string;
  /** L, then each of KS below L. */
  layerCounts: number[];
  adapter: LoraAdapter;
  models: Map<number, LlamaModel>;
  decoder: BatchedDecoder;
}

async function onBackend(presetName: string, fusedMultiplyAdd: boolean): Promise<OnBackend> {
  const backend = await createWasmBackend({ fusedMultiplyAdd });
  const alloc = (n: number) => backend.alloc(n);
  const loaded = await modelPreset(presetName).load(alloc);
  const config = { ...loaded.config, maxPositionEmbeddings: Math.max(loaded.config.maxPositionEmbeddings, PROMPT + OUTPUT) };
  const layerCounts = [config.numLayers, ...KS.filter((K) => K < config.numLayers)];
  const adapter = createLoraAdapter(config, { rank: 8, alpha: 16, targetModules: [...LORA_TARGETS] }, { seed: 1, baseModel: presetName, alloc });
  const rng = new Rng(5);
  // A trained adapter's B is not zero; with B = 0 half of the gradient would vanish.
  for (const { B } of adapter.weights.values()) for (let i = 0; i < B.length; i++) B[i] = rng.normal() * 0.01;
  const models = new Map<number, LlamaModel>();
  for (const K of layerCounts) {
    const model = new LlamaModel(config, loaded.weights, backend);
    model.setAdapter(adapter);
    models.set(K, model);
  }
  return { backend, config, source: loaded.source, layerCounts, adapter, models, decoder: new BatchedDecoder(config, loaded.weights, backend, PROMPT + OUTPUT) };
}

interface ModelResult {
  name: string;
  describe: string;
  L: number;
  layerCounts: number[];
  servingBackend: string;
  reproducibleBackend: string;
  generation: Timing;
  forward: Timing;
  gradient: Map<number, { reproducible: Timing; fma: Timing }>;
}

async function measureModel(name: string): Promise<ModelResult> {
  const serving = await onBackend(name, true);
  const reproducible = await onBackend(name, false);
  const { config, source, layerCounts } = serving;
  const L = config.numLayers;
  const smallest = layerCounts.at(-1)!;
  const rng = new Rng(7);
  const prompt = Int32Array.from({ length: PROMPT }, () => 1 + rng.nextInt(config.vocabSize - 1));
  greedyContinuations(serving.decoder, serving.adapter, [prompt], 8); // warm-up
  const output = greedyContinuations(serving.decoder, serving.adapter, [prompt], OUTPUT)[0];
  const sequence = new Int32Array(PROMPT + OUTPUT);
  sequence.set(prompt);
  sequence.set(output, PROMPT);
  const T = PROMPT + OUTPUT - 1;
  const projection = { kind: "kronecker-rademacher" as const, dimensions: DIMS, seed: 3 };
  const gradientOn = (side: OnBackend, K: number) => () => projectedOutputGradient(side.models.get(K)!, sequence, PROMPT, T, projection, { lastLayers: K });
  for (const K of layerCounts) for (const side of [serving, reproducible]) gradientOn(side, K)(); // warm-up: activations, sign matrices, JIT

  const samples = { generation: [] as Timing[], forward: [] as Timing[], reproducible: new Map<number, Timing[]>(), fma: new Map<number, Timing[]>() };
  for (const K of layerCounts) {
    samples.reproducible.set(K, []);
    samples.fma.set(K, []);
  }
  const tokens = sequence.subarray(0, T);
  const targets = sequence.subarray(1);
  for (let round = 0; round < RUNS; round++) {
    samples.generation.push(timing(() => greedyContinuations(serving.decoder, serving.adapter, [prompt], OUTPUT)));
    for (const K of layerCounts) {
      samples.reproducible.get(K)!.push(timing(gradientOn(reproducible, K)));
      samples.fma.get(K)!.push(timing(gradientOn(serving, K)));
    }
    // The forward alone (with the loss): what no gradient, however few its layers, can go below.
    samples.forward.push(timing(() => reproducible.models.get(smallest)!.forward(tokens, 1, T, targets, { lastLayers: smallest })));
  }
  const gradient = new Map(layerCounts.map((K) => [K, { reproducible: medians(samples.reproducible.get(K)!), fma: medians(samples.fma.get(K)!) }]));
  const result: ModelResult = {
    name, describe: source, L, layerCounts, servingBackend: serving.backend.name, reproducibleBackend: reproducible.backend.name,
    generation: medians(samples.generation), forward: medians(samples.forward), gradient,
  };
  for (const side of [serving, reproducible]) await side.backend.dispose();
  return result;
}

const results: ModelResult[] = [];
for (const name of MODELS) {
  const result = await measureModel(name);
  results.push(result);
  console.log(name, result.generation, result.forward, [...result.gradient]);
}
const loadAtEnd = loadavg()[0];

// Scoring the gradients against a sketch of EXAMPLES examples × 1 and × 3 checkpoints (random rows: only time counts).
const rng = new Rng(9);
const scoringTime = (checkpoints: number): number => {
  const sketch = {
    dims: DIMS, exampleContributionIds: Array.from({ length: EXAMPLES }, (_, i) => BigInt(i % 1000)),
    checkpoints: Array.from({ length: checkpoints }, (_, c) => ({ learningRate: 1e-3 / (c + 1), exampleGradients: Float32Array.from({ length: EXAMPLES * DIMS }, () => rng.normal()) })),
  };
  const outputs = sketch.checkpoints.map((c) => ({ learningRate: c.learningRate, gradient: Float32Array.from({ length: DIMS }, () => rng.normal()) }));
  gradientInfluence(sketch, outputs);
  return median(Array.from({ length: RUNS }, () => seconds(() => gradientInfluence(sketch, outputs))));
};
const scoring = { 1: scoringTime(1), 3: scoringTime(3) };

const fmt = (s: number): string => (s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(0)} ms`);
const label = (K: number, L: number): string => (K === L ? `all ${L}` : `last ${K}`);
/** Attribution / generation with C checkpoints: wall time, then CPU time (scoring is single-threaded: its wall time is its CPU time). */
const ratio = (checkpoints: 1 | 3, gradient: Timing, generation: Timing): string =>
  `${((checkpoints * gradient.wall + scoring[checkpoints]) / generation.wall).toFixed(2)}× / ${((checkpoints * gradient.cpu + scoring[checkpoints]) / generation.cpu).toFixed(2)}×`;

const blocks = results.map((r) => {
  const rows = r.layerCounts.map((K) => {
    const g = r.gradient.get(K)!;
    return `| ${label(K, r.L)} | ${fmt(g.reproducible.wall)} | ${fmt(g.fma.wall)} | **${ratio(1, g.reproducible, r.generation)}** | ${ratio(3, g.reproducible, r.generation)} | ${ratio(1, g.fma, r.generation)} |`;
  });
  const best = r.gradient.get(r.layerCounts.at(-1)!)!.reproducible;
  const full = r.gradient.get(r.L)!.reproducible;
  return `### Model \`${r.name}\`

${r.describe}; L = ${r.L}. Generating the ${OUTPUT}-token output (KV-cached decode, B = 1, ${r.servingBackend}): **${fmt(r.generation.wall)}**
(${fmt(r.generation.cpu)} of CPU). The forward alone over the ${PROMPT + OUTPUT - 1} positions (with the loss, reproducible backend): ${fmt(r.forward.wall)}
(${(r.forward.wall / r.generation.wall).toFixed(2)}× the generation's wall time, ${(r.forward.cpu / r.generation.cpu).toFixed(2)}× its CPU time), the floor under any K.

| backward through | output gradient, ${r.reproducibleBackend} (reproducible: what records use) | output gradient, ${r.servingBackend} | attribution / generation, 1 checkpoint (wall / CPU) | 3 checkpoints (wall / CPU) | 1 checkpoint, FMA build (wall / CPU) |
| --- | ---: | ---: | ---: | ---: | ---: |
${rows.join("\n")}

With the last ${r.layerCounts.at(-1)} layer${r.layerCounts.at(-1) === 1 ? "" : "s"} the output gradient costs ${(best.wall / full.wall).toFixed(2)}× the full backward's wall time (${(best.cpu / full.cpu).toFixed(2)}× its CPU time).`;
});

const date = new Date().toISOString().slice(0, 16).replace("T", " ");
const section = `## Gradient attribution of one output vs generating it (bench/output-attribution/run.ts)

${date} UTC, ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}; the machine is shared with other jobs and noisy
(load average ${loadAtEnd.toFixed(1)} on ${cpus().length} cores at the end of the run): the ratios, measured side by side in interleaved
rounds, are steadier than the times. A ${PROMPT}-token prompt and a ${OUTPUT}-token greedy output, one request; LoRA rank 8 on all 7
projections; k = ${DIMS}, Kronecker projection; medians of ${RUNS} rounds. "Backward through the last K layers": the gradient covers the
LoRA factors of layers L−K … L−1 only (\`lastLayers\`; the forward still runs every layer); the sketch's training-example
gradients must use the same K. Attribution time = checkpoints × output gradient + scoring against a sketch of
${EXAMPLES.toLocaleString("en-US")} examples (${fmt(scoring[1])} with 1 checkpoint, ${fmt(scoring[3])} with 3). Goal: attribution ≤ 1× the generation. Ratios are given
by wall time and by CPU time (all threads of the process): under contention the CPU-time ratio is the steadier.

${blocks.join("\n\n")}
`;
console.log(section);
await mkdir(new URL("../out/", import.meta.url).pathname, { recursive: true });
await writeFile(new URL("../out/output-attribution.md", import.meta.url).pathname, section);
