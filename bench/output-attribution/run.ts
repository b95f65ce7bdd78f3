/**
 * What attributing one output by its real gradient costs next to generating it: a 256-token greedy
 * output of models/tributary-base-v0 with a LoRA adapter, then its projected gradient at each TracIn
 * checkpoint (one forward + backward over prompt + output, Kronecker projection), on the
 * reproducible backend a record needs (wasm SIMD without FMA) and, for comparison, the FMA build.
 *
 *   node bench/output-attribution/run.ts [--output 256] [--prompt 16] [--runs 3]
 *
 * The base model was trained with 128 positions; RoPE runs past that, and only time is measured
 * here, so the config's maxPositionEmbeddings is raised to fit prompt + output. Writes
 * bench/out/output-attribution.md.
 */
import { mkdir, writeFile } from "node:fs/promises";
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
import { projectedOutputGradient } from "../../nodes/src/engine/train/projected-gradients.ts";
import { Rng } from "../../nodes/src/engine/train/rng.ts";
import { gradientInfluence } from "../../nodes/src/attribution/gradient-influence.ts";
import { greedyContinuations } from "../attribution-quality/greedy-continuations.ts";

const { values } = parseArgs({ options: { output: { type: "string", default: "256" }, prompt: { type: "string", default: "16" }, runs: { type: "string", default: "3" } } });
const OUTPUT = Number(values.output);
const PROMPT = Number(values.prompt);
const RUNS = Number(values.runs);
const K = 256;
const EXAMPLES = 20_000;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
function timed(runs: number, work: () => void): number {
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    work();
    seconds.push((performance.now() - started) / 1000);
  }
  return median(seconds);
}

const folder = await loadModelFolder(new URL("../../models/tributary-base-v0/", import.meta.url).pathname);
const config = { ...folder.config, maxPositionEmbeddings: Math.max(folder.config.maxPositionEmbeddings, PROMPT + OUTPUT) };
const rng = new Rng(5);
const adapter = createLoraAdapter(config, { rank: 8, alpha: 16, targetModules: [...LORA_TARGETS] }, { seed: 1, baseModel: "tributary-base-v0" });
for (const { B } of adapter.weights.values()) for (let i = 0; i < B.length; i++) B[i] = rng.normal() * 0.01;
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

interface Measure { generation: number; gradient: number; forward: number; backend: string }
async function measure(fusedMultiplyAdd: boolean): Promise<Measure> {
  const backend = await createWasmBackend({ fusedMultiplyAdd });
  const weights = onBackend(backend);
  const decoder = new BatchedDecoder(config, weights, backend, PROMPT + OUTPUT);
  greedyContinuations(decoder, adapter, [prompt], 8); // warm-up
  let output: Int32Array = new Int32Array(0);
  const generation = timed(RUNS, () => (output = greedyContinuations(decoder, adapter, [prompt], OUTPUT)[0]));
  const model = new LlamaModel(config, weights, backend);
  model.setAdapter(adapter);
  const sequence = new Int32Array(PROMPT + OUTPUT);
  sequence.set(prompt);
  sequence.set(output, PROMPT);
  const projection = { kind: "kronecker-rademacher" as const, dimensions: K, seed: 3 };
  projectedOutputGradient(model, sequence, PROMPT, PROMPT + OUTPUT - 1, projection); // warm-up (sign matrices, JIT)
  const gradient = timed(RUNS, () => projectedOutputGradient(model, sequence, PROMPT, PROMPT + OUTPUT - 1, projection));
  // The forward alone (with the loss): what a gradient restricted to the last layers could not go below.
  const tokens = sequence.subarray(0, PROMPT + OUTPUT - 1);
  const targets = sequence.subarray(1);
  const forward = timed(RUNS, () => model.forward(tokens, 1, PROMPT + OUTPUT - 1, targets));
  const name = backend.name;
  await backend.dispose();
  return { generation, gradient, forward, backend: name };
}

const fma = await measure(true);
const reproducible = await measure(false);

// Scoring the gradients against a sketch of EXAMPLES examples × 3 checkpoints (random rows: only time counts).
const sketch = {
  dims: K, exampleContributionIds: Array.from({ length: EXAMPLES }, (_, i) => BigInt(i % 1000)),
  checkpoints: [1e-3, 5e-4, 1e-4].map((learningRate) => ({ learningRate, exampleGradients: Float32Array.from({ length: EXAMPLES * K }, () => rng.normal()) })),
};
const outputGradients = sketch.checkpoints.map((c) => ({ learningRate: c.learningRate, gradient: Float32Array.from({ length: K }, () => rng.normal()) }));
const scoring = timed(RUNS, () => gradientInfluence(sketch, outputGradients));

const fmt = (s: number): string => (s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(0)} ms`);
const ratio = (checkpoints: number, m: Measure, generation: number): string => ((checkpoints * m.gradient + scoring) / generation).toFixed(2);
const date = new Date().toISOString().slice(0, 10);
const section = `## Gradient attribution of one output vs generating it (bench/output-attribution/run.ts)

${date}, ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}. models/tributary-base-v0 (4 layers, C = 256, V = 4096;
maxPositionEmbeddings raised to ${PROMPT + OUTPUT}, only time is measured), LoRA rank 8 on all 7 projections, a ${PROMPT}-token
prompt and a ${OUTPUT}-token greedy output, one request; k = ${K}, Kronecker projection; medians of ${RUNS}.

| step | ${fma.backend} | ${reproducible.backend} (reproducible: what records use) |
| --- | --- | --- |
| generate ${OUTPUT} tokens (KV-cached decode, B = 1) | ${fmt(fma.generation)} | ${fmt(reproducible.generation)} |
| output gradient at one TracIn checkpoint (forward + backward over ${PROMPT + OUTPUT} tokens, projection) | ${fmt(fma.gradient)} | ${fmt(reproducible.gradient)} |
| score against a sketch of ${EXAMPLES.toLocaleString("en-US")} examples × 3 checkpoints | ${fmt(scoring)} | ${fmt(scoring)} |

Attribution / generation time, with generation on the serving backend (${fma.backend}) and the output gradients on the
reproducible one: **${ratio(3, reproducible, fma.generation)}×** with 3 TracIn checkpoints, **${ratio(1, reproducible, fma.generation)}×** with 1
(goal ≤ 1×: ${Number(ratio(1, reproducible, fma.generation)) <= 1 ? "met with one checkpoint" : "not met"}). Both on the FMA build: ${ratio(3, fma, fma.generation)}× / ${ratio(1, fma, fma.generation)}×.
A forward + backward over the ${PROMPT + OUTPUT} tokens does about three forwards' work, in matrix-matrix products, while decoding
does one forward's work in ${OUTPUT} matrix-vector steps; on this model one gradient pass costs ${(reproducible.gradient / fma.generation).toFixed(2)}× the
generation. The forward alone takes ${fmt(reproducible.forward)} (${(reproducible.forward / fma.generation).toFixed(2)}× the generation) on the reproducible
backend: a gradient restricted to the last layers cannot cost less, so with one checkpoint it would stay at or above
${((reproducible.forward + scoring) / fma.generation).toFixed(2)}×. Restricting the backward to the last layers needs the model's backward to stop early
(a change to model/llama.ts, not made here).
`;
console.log(section);
await mkdir(new URL("../out/", import.meta.url).pathname, { recursive: true });
await writeFile(new URL("../out/output-attribution.md", import.meta.url).pathname, section);
