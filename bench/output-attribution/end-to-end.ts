/**
 * Gradient attribution of one paid output end to end, as the node and the verifier run it: `outputGradients` with a
 * sketch's provenance (which names the TracIn checkpoints and the layers the gradients cover) on the reproducible
 * backend, then `gradientInfluence` against a sketch of that provenance, next to generating the output. Per sketch
 * setting: every layer, the last 2, the last 1; with one TracIn checkpoint (what a one-epoch training job keeps now)
 * and with three.
 *
 *   node bench/output-attribution/end-to-end.ts [--output 256] [--prompt 16] [--runs 3] [--examples 20000]
 *
 * Random adapter weights and sketch rows: only time is measured. Prints a markdown section.
 */
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { createWasmBackend } from "../../nodes/src/engine/backend/wasm/wasm-backend.ts";
import type { Backend } from "../../nodes/src/engine/backend/backend.ts";
import { loadModelFolder } from "../../nodes/src/engine/formats/model-folder.ts";
import { BatchedDecoder } from "../../nodes/src/engine/inference/batched-decoder.ts";
import { createLoraAdapter } from "../../nodes/src/engine/lora/adapter.ts";
import { LORA_TARGETS } from "../../nodes/src/engine/model/config.ts";
import { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import type { LlamaWeights } from "../../nodes/src/engine/model/weights.ts";
import { Rng } from "../../nodes/src/engine/train/rng.ts";
import type { TracInCheckpoint } from "../../nodes/src/engine/train/tracin-checkpoint.ts";
import { gradientInfluence, type GradientSketch, type GradientSketchProvenance } from "../../nodes/src/attribution/gradient-influence.ts";
import { outputGradients } from "../../nodes/src/attribution/output-gradients.ts";
import { greedyContinuations } from "../attribution-quality/greedy-continuations.ts";

const { values } = parseArgs({ options: {
  output: { type: "string", default: "256" }, prompt: { type: "string", default: "16" }, runs: { type: "string", default: "3" }, examples: { type: "string", default: "20000" },
} });
const OUTPUT = Number(values.output);
const PROMPT = Number(values.prompt);
const RUNS = Number(values.runs);
const EXAMPLES = Number(values.examples);
const K = 256;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const folder = await loadModelFolder(new URL("../../models/tributary-base-v0/", import.meta.url).pathname);
const config = { ...folder.config, maxPositionEmbeddings: Math.max(folder.config.maxPositionEmbeddings, PROMPT + OUTPUT) };
const rng = new Rng(5);
const prompt = Int32Array.from({ length: PROMPT }, () => 1 + rng.nextInt(config.vocabSize - 1));
function onBackend(backend: Backend): LlamaWeights {
  const weights: LlamaWeights = new Map();
  for (const [name, t] of folder.tensors) {
    const data = backend.alloc(t.data.length);
    data.set(t.data);
    weights.set(name, data);
  }
  return weights;
}
function checkpoint(step: number, backend: Backend): TracInCheckpoint {
  const adapter = createLoraAdapter(config, { rank: 8, alpha: 16, targetModules: [...LORA_TARGETS] }, { seed: step, baseModel: "tributary-base-v0", alloc: (n) => backend.alloc(n) });
  for (const { B } of adapter.weights.values()) for (let i = 0; i < B.length; i++) B[i] = rng.normal() * 0.01;
  return { step, learningRate: 1e-3 / step, digest: `0x${step.toString(16).padStart(64, "0")}`, adapter };
}

// Generation on the serving build (FMA), as a node serves; attribution on the reproducible build (no FMA), what
// records name and verifiers recompute. Every setting has its own model (its own activation buffers), and the rounds
// interleave generation and every setting, so load on a shared machine falls on all of them alike.
const serving = await createWasmBackend({ fusedMultiplyAdd: true });
const decoder = new BatchedDecoder(config, onBackend(serving), serving, PROMPT + OUTPUT);
const servedAdapter = checkpoint(3, serving).adapter;
greedyContinuations(decoder, servedAdapter, [prompt], 8);
const output = greedyContinuations(decoder, servedAdapter, [prompt], OUTPUT)[0];
const backend = await createWasmBackend({ fusedMultiplyAdd: false });
const reproducibleWeights = onBackend(backend);
const checkpoints = [1, 2, 3].map((step) => checkpoint(step, backend));
const settings = [undefined, 2, 1].flatMap((lastLayers) => [1, 3].map((count) => {
  const used = checkpoints.slice(-count);
  const provenance: GradientSketchProvenance = {
    projection: { kind: "kronecker-rademacher", seed: 3, dims: K }, sequenceLength: PROMPT + OUTPUT - 1, baseModel: `0x${"ab".repeat(32)}`,
    ...(lastLayers !== undefined ? { lastLayers } : {}), similarity: "cosine",
    checkpoints: used.map((c) => ({ step: c.step, learningRate: c.learningRate, digest: c.digest })),
  };
  const sketch: GradientSketch = {
    dims: K, exampleContributionIds: Array.from({ length: EXAMPLES }, (_, i) => BigInt(i % 1000)), provenance,
    checkpoints: used.map((c) => ({ learningRate: c.learningRate, exampleGradients: Float32Array.from({ length: EXAMPLES * K }, () => rng.normal()) })),
  };
  const model = new LlamaModel(config, reproducibleWeights, backend);
  outputGradients(model, provenance, used, prompt, output); // warm-up: activation buffers, sign matrices
  return { lastLayers, count, run: () => gradientInfluence(sketch, outputGradients(model, provenance, used, prompt, output)), seconds: [] as number[] };
}));
const generationSeconds: number[] = [];
const once = (work: () => unknown) => {
  const started = performance.now();
  work();
  return (performance.now() - started) / 1000;
};
for (let r = 0; r < RUNS; r++) {
  generationSeconds.push(once(() => greedyContinuations(decoder, servedAdapter, [prompt], OUTPUT)));
  for (const s of settings) s.seconds.push(once(s.run));
}
const generation = median(generationSeconds);
const rows = settings.map((s) => `| ${s.lastLayers === undefined ? `all ${config.numLayers}` : `last ${s.lastLayers}`} | ${s.count} | ${(median(s.seconds) * 1000).toFixed(0)} ms | **${(median(s.seconds) / generation).toFixed(2)}×** |`);
const servingName = serving.name;
const backendName = backend.name;
await serving.dispose();
await backend.dispose();

console.log(`## Gradient attribution of one output end to end, by layer restriction (bench/output-attribution/end-to-end.ts)

${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}. models/tributary-base-v0 (${config.numLayers} layers), LoRA rank 8 on all 7
projections, a ${PROMPT}-token prompt and a ${OUTPUT}-token greedy output; \`outputGradients\` with a sketch provenance naming the
layers (what the node's attribution and the verifier's recomputation both call) on ${backendName}, then \`gradientInfluence\` (cosine)
against a sketch of ${EXAMPLES.toLocaleString("en-US")} examples; generation ${(generation * 1000).toFixed(0)} ms (KV-cached decode on ${servingName}). Medians of ${RUNS} interleaved rounds.

| layers | TracIn checkpoints | output gradients + scoring | attribution / generation |
| --- | --- | --- | --- |
${rows.join("\n")}
`);
