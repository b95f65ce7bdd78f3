/**
 * The base model's training record in Markdown: TRAINING.md in the model folder (recipe, corpus and
 * licences, results, how to reproduce) and the results section alone for bench/out/base-model.md.
 */
import type { LossReport } from "../../nodes/src/engine/train/evaluate.ts";
import type { LossLogEntry } from "./loss-log.ts";
import type { RunPlan } from "./recipe.ts";

export interface TextSample {
  prompt: string;
  greedy: string;
  sampled: string;
}

export interface TrainingRecord {
  modelName: string;
  plan: RunPlan;
  parameters: number;
  safetensorsBytes: number;
  /** Backend the training ran on, e.g. "wasm-simd-fma, 2 threads". */
  backend: string;
  curve: readonly LossLogEntry[];
  final: { trainSample: LossReport; heldout: LossReport; control: LossReport };
  corpusTokens: { train: number; heldout: number; control: number };
  sources: readonly { package: string; version: string; licence: string }[];
  samples: readonly TextSample[];
  /** Sampling used for the `sampled` column. */
  sampling: { temperature: number; topK: number; seed: number; maxNewTokens: number };
}

const fmt = (x: number, digits = 3) => x.toFixed(digits);
const thousands = (n: number) => Math.round(n).toLocaleString("en-US");

/** Rows at every evaluation: the mean training loss of the steps since the previous row, and the held-out loss. */
function lossTable(curve: readonly LossLogEntry[]): string {
  const rows = ["| step | tokens | wall time | train loss (mean since last row) | held-out loss (subset) | held-out perplexity |", "| ---: | ---: | ---: | ---: | ---: | ---: |"];
  let since: number[] = [];
  for (const entry of curve) {
    if (entry.loss !== undefined) since.push(entry.loss);
    if (entry.evalLoss === undefined) continue;
    const train = since.length > 0 ? fmt(since.reduce((a, b) => a + b, 0) / since.length) : "–";
    rows.push(`| ${entry.step} | ${thousands(entry.tokens)} | ${fmt(entry.seconds / 60, 1)} min | ${train} | ${fmt(entry.evalLoss)} | ${fmt(Math.exp(entry.evalLoss), 1)} |`);
    since = [];
  }
  return rows.join("\n");
}

function quote(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, "⏎ ");
}

export function renderResults(record: TrainingRecord): string {
  const { plan, final, curve } = record;
  const last = curve.at(-1);
  const tokens = last?.tokens ?? 0;
  const seconds = last?.seconds ?? 0;
  const { model, batchSize: B, sequenceLength: T } = plan.recipe;
  const epochs = tokens / record.corpusTokens.train;
  const tail = curve.filter((e) => e.loss !== undefined && e.step > plan.totalSteps * 0.9).map((e) => e.loss!);
  const tailLoss = tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length);
  return `## Base model ${record.modelName}

Llama architecture, ${thousands(record.parameters)} parameters (V=${model.vocabSize}, C=${model.hiddenSize}, L=${model.numLayers}, NH=${model.numHeads}, NKV=${model.numKvHeads}, F=${model.intermediateSize}, T=${T}, tied embeddings), trained from scratch by \`scripts/base-model/train-base.ts\` on the ${record.backend} backend.

| measure | value |
| --- | --- |
| optimizer steps | ${thousands(plan.totalSteps)} (batch ${B}×${T} tokens) |
| tokens trained | ${thousands(tokens)} (${fmt(epochs, 2)} epochs of the ${thousands(record.corpusTokens.train)}-token train split) |
| wall time (training + periodic eval) | ${fmt(seconds / 60, 1)} min |
| throughput | ${thousands(tokens / Math.max(seconds, 1e-9))} tokens/s including evaluation |
| final train loss (mean of the last 10% of steps) | ${fmt(tailLoss)} |
| train loss (evaluated, ${thousands(final.trainSample.tokens)} train tokens) | ${fmt(final.trainSample.loss)} (perplexity ${fmt(final.trainSample.perplexity, 1)}) |
| **held-out loss** (full split, ${thousands(final.heldout.tokens)} tokens) | **${fmt(final.heldout.loss)} (perplexity ${fmt(final.heldout.perplexity, 1)})** |
| control loss (full split, ${thousands(final.control.tokens)} tokens) | ${fmt(final.control.loss)} (perplexity ${fmt(final.control.perplexity, 1)}) |
| model.safetensors | ${fmt(record.safetensorsBytes / 1e6, 1)} MB (float32) |

Losses are nats per token of the ${model.vocabSize}-token BPE (about 4.2 bytes of text per token); a model that knows nothing scores ln ${model.vocabSize} = ${fmt(Math.log(model.vocabSize))}.

### Loss curve

${lossTable(curve)}

### Samples

Each prompt starts a new document (it follows \`<|endoftext|>\`). Greedy is what the regression test checks
(test/nodes/engine/base-model/); sampled is temperature ${record.sampling.temperature}, top-k ${record.sampling.topK}, seed ${record.sampling.seed}; at most ${record.sampling.maxNewTokens} new tokens.

| prompt | greedy | sampled |
| --- | --- | --- |
${record.samples.map((s) => `| ${quote(s.prompt)} | ${quote(s.greedy)} | ${quote(s.sampled)} |`).join("\n")}
`;
}

export function renderTrainingMd(record: TrainingRecord): string {
  const { recipe, planning } = record.plan;
  const trainedSeconds = record.curve.at(-1)?.seconds ?? 0;
  const planned = "steps" in planning
    ? `a fixed ${planning.steps} steps (\`--steps\`)`
    : `a ${planning.maxMinutes}-minute wall-clock budget (\`--max-minutes\`): ${fmt(planning.secondsPerStep, 3)} s/step measured over the first warm-up steps, so the cosine ends inside the budget`
      + (trainedSeconds < 0.85 * planning.maxMinutes * 60
        ? `; it took ${fmt(trainedSeconds / 60, 1)} min because the shared machine ran faster after that measurement than during it (${fmt(trainedSeconds / record.plan.totalSteps, 3)} s/step on average)`
        : "");
  const command = "steps" in planning ? `--steps ${planning.steps}` : `--max-minutes ${planning.maxMinutes}`;
  return `# ${record.modelName}: Tributary's own base model

A small Llama-architecture language model trained from scratch on public-domain English, so every node starts
with a base model it can fine-tune LoRA adapters on without downloading weights. It writes English-looking text in
the style of its corpus (mostly US State of the Union addresses, some *Moby-Dick*); it is far too small to follow
instructions or know facts. Hugging Face layout: \`config.json\` (LlamaForCausalLM), \`model.safetensors\` (float32),
\`tokenizer.json\` (byte-level BPE), \`tokenizer_config.json\` (\`<|endoftext|>\` id 0 is BOS/EOS/PAD; ChatML chat
template), \`generation_config.json\`.

${renderResults(record)}
## Recipe

| hyper-parameter | value |
| --- | --- |
| initialisation | normal(0, ${recipe.initializerRange}), norms 1, seed ${recipe.initSeed} |
| optimizer | AdamW β1 ${recipe.beta1}, β2 ${recipe.beta2}, weight decay ${recipe.weightDecay} (not on norms), gradient-norm clip ${recipe.maxGradNorm} |
| learning rate | linear warm-up over ${recipe.warmupSteps} steps to ${recipe.learningRate}, cosine to ${recipe.minLearningRate} at the last step |
| batch | ${recipe.batchSize} windows of ${recipe.sequenceLength} tokens, shuffled each epoch (seed ${recipe.dataSeed}) |
| data | the train split as one stream, \`<|endoftext|>\` before every document and at the end, cut into ${recipe.sequenceLength + 1}-token windows overlapping by one |
| evaluation | every ${record.plan.evalEvery} steps on ${record.plan.evalWindows} evenly spaced held-out windows; at the end on the full held-out and control splits |
| length of the run | ${planned} |

## Corpus and licences

Built by \`scripts/base-model/corpus.ts\` (see scripts/base-model/CORPUS.md); tokens under the committed tokenizer:
train ${thousands(record.corpusTokens.train)}, held-out ${thousands(record.corpusTokens.heldout)}, control ${thousands(record.corpusTokens.control)}.

| package | version | licence |
| --- | --- | --- |
${record.sources.map((s) => `| \`${s.package}\` | ${s.version} | ${s.licence} |`).join("\n")}

The texts are in the public domain; the model weights are released under the project's licence (Apache-2.0).

## Reproduce, resume, train longer

\`\`\`sh
node scripts/base-model/train-base.ts --data .data/corpus --out models/tributary-base-v0 ${command}   # this run
node scripts/base-model/train-base.ts --data .data/corpus --out models/tributary-base-v0 --resume   # after an interruption
node scripts/base-model/train-base.ts --data .data/corpus --out models/tributary-base-v0 --steps 20000  # a fixed, longer schedule
\`\`\`

Checkpoints (weights, AdamW moments, data order, the run plan and the loss curve) go to
\`.data/base-model-ckpt\` every few minutes; \`--resume\` continues the same schedule exactly. The same recipe on
a faster machine only changes the step count; the folder it writes loads and generates in the engine like this one.
`;
}
