/**
 * The training job's sketch phase against its train phase, per window, in the job's own shape: a hyper-parameter
 * preset's LoRA (rank, targets), window length and batch on the committed base model. Interleaved rounds (so load
 * on a shared machine hits both alike), medians:
 *   - training: one optimizer step (forward + backward + AdamW) over B windows, per window;
 *   - a sketch pass: buildGradientSketch's batched per-example gradients (forward + backward, each window's
 *     gradient split out and Kronecker-projected), per window, at sketch batch sizes and last-K-layer restrictions.
 * With E epochs and C TracIn checkpoints the sketch costs C · pass / (E · step) of the training.
 *
 *   node bench/gradient-sketch/job-shape.ts [--preset tiny] [--base models/tributary-base-v0] [--rounds 5] [--sketch-batches 4,16] [--layers all,2,1]
 *
 * Prints a markdown section (docs/benchmarks.md, "Sketch phase cost in the training job's shape").
 */
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createBackend } from "../../nodes/src/engine/backend/create-backend.ts";
import { loadModelFolder } from "../../nodes/src/engine/formats/model-folder.ts";
import { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import { createLoraAdapter } from "../../nodes/src/engine/lora/adapter.ts";
import type { LoraTarget } from "../../nodes/src/engine/model/config.ts";
import { makeBatch } from "../../nodes/src/engine/train/data.ts";
import { AdamW } from "../../nodes/src/engine/train/adamw.ts";
import { Rng } from "../../nodes/src/engine/train/rng.ts";
import { batchedProjectedExampleGradients } from "../../nodes/src/engine/train/batched-example-gradients.ts";
import { HYPERPARAMETER_PRESETS } from "../../nodes/src/jobs/hyperparameters.ts";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "tiny" },
    base: { type: "string", default: join(here, "../../models/tributary-base-v0") },
    rounds: { type: "string", default: "5" },
    "sketch-batches": { type: "string", default: "4,16" },
    layers: { type: "string", default: "all,2,1" },
    k: { type: "string", default: "256" },
  },
});
const hp = HYPERPARAMETER_PRESETS[values.preset!];
if (!hp) throw new Error(`--preset must be one of ${Object.keys(HYPERPARAMETER_PRESETS).join(", ")}`);
const T = hp.sequenceLength;
const B = hp.batchSize;
const rounds = Number(values.rounds);
const sketchBatches = values["sketch-batches"]!.split(",").map(Number);
const layerSettings = values.layers!.split(",").map((s) => (s === "all" ? undefined : Number(s)));

const backend = await createBackend();
const folder = await loadModelFolder(values.base!);
const weights = new Map([...folder.tensors].map(([name, t]) => {
  const data = backend.alloc(t.data.length);
  data.set(t.data);
  return [name, data] as const;
}));
const config = folder.config;
const lora = { rank: hp.rank, alpha: hp.alpha, targetModules: hp.targetModules as LoraTarget[] };
const rng = new Rng(3);
const window = () => Int32Array.from({ length: T + 1 }, () => 1 + rng.nextInt(config.vocabSize - 1));
const maxBatch = Math.max(B, ...sketchBatches);
const windows = Array.from({ length: maxBatch }, window);

// Training: its own model and adapter, AdamW as the Trainer runs it.
const trainModel = new LlamaModel(config, weights, backend);
const trainAdapter = createLoraAdapter(config, lora, { seed: 1, baseModel: "bench", alloc: (n) => backend.alloc(n) });
trainModel.setAdapter(trainAdapter);
const optimizer = new AdamW(trainModel.trainableParameters(), { weightDecay: 0 });
const trainBatch = makeBatch(windows.slice(0, B), B, T);
const trainStep = () => {
  trainModel.zeroGradients();
  trainModel.forward(trainBatch.tokens, B, T, trainBatch.targets);
  trainModel.backward(1);
  optimizer.step(hp.learningRate);
};

// The sketch: a model per (batch, layers) setting so each keeps its own activation buffers, as a sketch phase would.
const sketchAdapter = createLoraAdapter(config, lora, { seed: 2, baseModel: "bench", alloc: (n) => backend.alloc(n) });
// A trained-looking adapter: B factors away from zero so every factor has a gradient.
for (const factors of sketchAdapter.weights.values()) for (let i = 0; i < factors.B.length; i++) factors.B[i] = (rng.nextInt(2001) - 1000) / 1e5;
const settings = sketchBatches.flatMap((batch) => layerSettings.map((lastLayers) => {
  const model = new LlamaModel(config, weights, backend);
  model.setAdapter(sketchAdapter);
  const examples = windows.slice(0, batch);
  return {
    batch, lastLayers, seconds: [] as number[],
    run: () => batchedProjectedExampleGradients(model, examples, T, { dimensions: Number(values.k), seed: 1 }, batch, lastLayers === undefined ? {} : { lastLayers }),
  };
}));

const timed = (work: () => unknown) => {
  const started = performance.now();
  work();
  return (performance.now() - started) / 1000;
};
trainStep();
for (const s of settings) s.run(); // warm-up: buffers, sign matrices, JIT
const train: number[] = [];
for (let r = 0; r < rounds; r++) {
  train.push(timed(trainStep) / B);
  for (const s of settings) s.seconds.push(timed(s.run) / s.batch);
}
await backend.dispose();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
const perWindowTrain = median(train);
const lines = [
  `## Sketch phase cost in the training job's shape (bench/gradient-sketch/job-shape.ts)`,
  "",
  `\`node bench/gradient-sketch/job-shape.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}\`, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, Node ${process.version}, backend ${backend.name}. ${folder.config.numLayers}-layer \`${values.base!.split("/").at(-1)}\`, preset \`${values.preset}\` (LoRA rank ${hp.rank} on ${hp.targetModules.join(", ")}, T = ${T}, training batch ${B}, ${hp.epochs} epoch${hp.epochs === 1 ? "" : "s"}), k = ${values.k}; medians of ${rounds} interleaved rounds, per window.`,
  "",
  `| step | per window | × a training window | sketch / training with C = 1 checkpoint per epoch (C = E) | with the old 4 checkpoints at ${hp.epochs} epoch${hp.epochs === 1 ? "" : "s"} |`,
  "| --- | --- | --- | --- | --- |",
  `| training step (forward + backward + AdamW, batch ${B}) | ${ms(perWindowTrain)} | 1.00 | – | – |`,
  ...settings.map((s) => {
    const ratio = median(s.seconds) / perWindowTrain;
    return `| sketch pass, batch ${s.batch}, ${s.lastLayers === undefined ? `all ${config.numLayers} layers` : `last ${s.lastLayers} layer${s.lastLayers === 1 ? "" : "s"}`} | ${ms(median(s.seconds))} | ${ratio.toFixed(2)} | ${ratio.toFixed(2)}× | ${((4 * ratio) / hp.epochs).toFixed(2)}× |`;
  }),
];
console.log(lines.join("\n"));
