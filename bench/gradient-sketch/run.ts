/**
 * What building a gradient sketch costs next to training, per example and checkpoint:
 *   - the per-example LoRA gradient (forward + backward of one window, B = 1),
 *   - its projection to k dims: the dense seeded Rademacher matrix against the Kronecker-factored one,
 *   - a training step (B windows), whose per-window share is what one epoch costs per example.
 * With C TracIn checkpoints and E epochs the sketch costs C · (gradient + projection) per example
 * and training E · step / B: the goal is a ratio ≤ 1 at C = E.
 *
 *   node bench/gradient-sketch/run.ts [--model smollm2-135m|tributary-base-v0] [--k 256] [--T 128] [--B 8]
 *
 * Writes bench/out/gradient-sketch.md (one subsection per model; rerunning a model replaces its subsection).
 * SmolLM2-135M at B = 8 needs three sets of activations (B = 1, training, sketch), beyond the wasm backend's 4 GiB: use --B 4.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { createBackend } from "../../nodes/src/engine/backend/create-backend.ts";
import { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import { createLoraAdapter } from "../../nodes/src/engine/lora/adapter.ts";
import { LORA_TARGETS, type LoraConfig } from "../../nodes/src/engine/model/config.ts";
import { makeBatch } from "../../nodes/src/engine/train/data.ts";
import { Rng } from "../../nodes/src/engine/train/rng.ts";
import { adapterGradientBlocks, adapterGradientTensors, projectGradient } from "../../nodes/src/engine/train/projected-gradients.ts";
import { projectGradientKronecker } from "../../nodes/src/engine/train/kronecker-projection.ts";
import { AdamW } from "../../nodes/src/engine/train/adamw.ts";
import { batchedProjectedExampleGradients } from "../../nodes/src/engine/train/batched-example-gradients.ts";
import { modelPreset } from "../inference/model-presets.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "smollm2-135m" },
    k: { type: "string", default: "256" },
    T: { type: "string", default: "128" },
    B: { type: "string", default: "8" },
    runs: { type: "string", default: "3" },
  },
});
const K = Number(values.k);
const T = Number(values.T);
const B = Number(values.B);
const RUNS = Number(values.runs);
const LORA: LoraConfig = { rank: 8, alpha: 16, targetModules: [...LORA_TARGETS] };

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

const backend = await createBackend();
const preset = modelPreset(values.model!);
const { config, weights, source } = await preset.load((n) => backend.alloc(n));
const model = new LlamaModel(config, weights, backend);
const adapter = createLoraAdapter(config, LORA, { seed: 1, baseModel: values.model!, alloc: (n) => backend.alloc(n) });
const rng = new Rng(2);
// A trained adapter's B is not zero; with B = 0 half of the gradient would vanish.
for (const { B: factor } of adapter.weights.values()) for (let i = 0; i < factor.length; i++) factor[i] = rng.normal() * 0.01;
model.setAdapter(adapter);
const adapterParameters = [...adapter.weights.values()].reduce((s, f) => s + f.A.length + f.B.length, 0);

const window = Int32Array.from({ length: T + 1 }, () => rng.nextInt(config.vocabSize));
const one = makeBatch([window], 1, T);
const windows = Array.from({ length: B }, () => Int32Array.from({ length: T + 1 }, () => rng.nextInt(config.vocabSize)));
const batch = makeBatch(windows, B, T);
// A second model over the same weights and adapter for the training step, so neither model reallocates its
// activations when the batch size alternates (the wasm backend's memory is never given back).
const trainingModel = new LlamaModel(config, weights, backend);
trainingModel.setAdapter(adapter);
const optimizer = new AdamW(trainingModel.trainableParameters(), { weightDecay: 0 });
const spec = { dimensions: K, seed: 3 };

const singleGradient = (): void => {
  model.zeroGradients();
  model.forward(one.tokens, 1, T, one.targets);
  model.backward();
};
const trainingStep = (): void => {
  trainingModel.zeroGradients();
  trainingModel.forward(batch.tokens, B, T, batch.targets);
  trainingModel.backward();
  optimizer.step(1e-4);
};
// Warm-up (JIT, activation buffers, sign matrices), then the measures interleaved round by round, so the
// machine's load (shared, noisy) weighs on all of them alike and the ratios stay meaningful.
singleGradient();
projectGradientKronecker(adapterGradientBlocks(model), spec);
batchedProjectedExampleGradients(model, windows, T, spec, B);
trainingStep();
const denseSeconds = timed(1, () => projectGradient(adapterGradientTensors(model), spec));
const samples = { gradient: [] as number[], kronecker: [] as number[], batched: [] as number[], step: [] as number[] };
for (let run = 0; run < RUNS; run++) {
  samples.gradient.push(timed(1, singleGradient));
  samples.kronecker.push(timed(1, () => projectGradientKronecker(adapterGradientBlocks(model), spec)));
  samples.batched.push(timed(1, () => batchedProjectedExampleGradients(model, windows, T, spec, B)) / B);
  samples.step.push(timed(1, trainingStep));
}
const gradientSeconds = median(samples.gradient);
const kroneckerSeconds = median(samples.kronecker);
const batchedSeconds = median(samples.batched);
const stepSeconds = median(samples.step);
await backend.dispose();

const perWindowTraining = stepSeconds / B;
const sketchDense = gradientSeconds + denseSeconds;
const sketchKronecker = gradientSeconds + kroneckerSeconds;
const ratio = batchedSeconds / perWindowTraining;
const fmt = (s: number): string => (s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(1)} ms`);
const date = new Date().toISOString().slice(0, 10);
const section = `### Model \`${values.model}\`

${date}, ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, backend ${backend.name}. ${source};
LoRA rank 8 on all 7 projections (${(adapterParameters / 1e6).toFixed(2)}M adapter parameters), k = ${K}, windows of T = ${T} tokens, medians of ${RUNS} interleaved rounds.

| per example, per TracIn checkpoint | time |
| --- | --- |
| LoRA gradient (forward + backward, B = 1) | ${fmt(gradientSeconds)} |
| dense Rademacher projection (before) | ${fmt(denseSeconds)} |
| Kronecker-factored projection (now) | ${fmt(kroneckerSeconds)} (${(denseSeconds / kroneckerSeconds).toFixed(0)}× faster) |
| sketch row, dense: gradient + projection | ${fmt(sketchDense)} |
| sketch row, Kronecker: gradient + projection | ${fmt(sketchKronecker)} |
| sketch row, Kronecker, split out of a batched pass of ${B} windows (now, as buildGradientSketch does) | ${fmt(batchedSeconds)} |
| training, per window per epoch (one step of ${B} windows / ${B}) | ${fmt(perWindowTraining)} |

Sketch cost / training cost with as many TracIn checkpoints as epochs: **${ratio.toFixed(2)}×** now (goal ≤ 1×);
one example at a time it was ${(sketchDense / perWindowTraining).toFixed(2)}× with the dense projection and
${(sketchKronecker / perWindowTraining).toFixed(2)}× with the Kronecker one. With fewer checkpoints than epochs (3 checkpoints
over 5 epochs, say) the sketch costs ${(ratio * 3 / 5).toFixed(2)}× the training run.
`;
console.log(section);
const outPath = new URL("../out/gradient-sketch.md", import.meta.url).pathname;
await mkdir(new URL("../out/", import.meta.url).pathname, { recursive: true });
const heading = `## Gradient sketch cost (bench/gradient-sketch/run.ts)\n\n`;
let previous = "";
try {
  previous = await readFile(outPath, "utf8");
} catch {
  previous = heading;
}
const kept = previous.split(/(?=^### Model )/m).filter((part) => !part.startsWith(`### Model \`${values.model}\``));
await writeFile(outPath, `${kept.join("").trimEnd()}\n\n${section}`);
