/**
 * The evaluation report's attribution section (nodes/src/attribution/attribution-quality-report.ts)
 * run the way a training job runs it, on the benchmark's templated Datanet and the committed base
 * model: hold out one canary per contribution, train the adapter on the rest until the evaluation
 * report calls it specialized, build the sketch and the index, and report. Both canary modes.
 *
 *   node bench/attribution-quality/canary-report.ts [--steps 7] [--learning-rate 3e-3]
 *
 * Writes bench/out/attribution-quality-canaries.md.
 */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  attributionQualityReport, buildGradientSketch, buildSpanIndex, holdOutAttributionCanaries, type AttributionQualitySection, type CanaryMode,
} from "../../nodes/src/attribution/index.ts";
import { createBackend } from "../../nodes/src/engine/backend/create-backend.ts";
import { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import { windowSequences } from "../../nodes/src/engine/train/data.ts";
import { evaluateAdapter } from "../../nodes/src/engine/train/evaluate.ts";
import { loadBaseModel } from "./base-model.ts";
import { corpusPassageSources } from "./corpus-passage-sources.ts";
import { loadProjectTokenizer } from "./project-tokenizer.ts";
import { loraConfig, tracinCheckpointSteps, verdictOf } from "./regime.ts";
import { buildTemplatedDatanet } from "./templated-datanet.ts";
import { trainAdapter } from "./train-adapter.ts";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "7" },
    "learning-rate": { type: "string", default: "3e-3" },
    out: { type: "string", default: join(here, "../out/attribution-quality-canaries.md") },
  },
});
const started = performance.now();
const tokenizer = await loadProjectTokenizer();
const text = corpusPassageSources();
const datanet = buildTemplatedDatanet(text.datanet, text.unrelated, tokenizer, {
  contributors: 12, uniquePerContributor: 2, nearDuplicates: 4, editEvery: 10, mixed: 0, heldOut: 16, unrelated: 16,
  contentTokens: 40, promptContentTokens: 6, distinctNgram: 8, seed: 1,
});
const examples = datanet.contributions.map((c) => ({ contributionId: c.contributionId, tokens: c.tokens }));
const backend = await createBackend({ fusedMultiplyAdd: false });
const base = await loadBaseModel(join(here, "../../models/tributary-base-v0"), backend, tokenizer.vocabSize);
const T = 80;
const steps = Number(values.steps);
const learningRate = Number(values["learning-rate"]);
const rows: { mode: CanaryMode; section: AttributionQualitySection; verdict: string; seconds: number }[] = [];
for (const mode of ["held-out", "planted"] as const) {
  const t = performance.now();
  const split = holdOutAttributionCanaries(examples, { promptTokens: 8, outputTokens: 16, maxCanaries: 32, mode, seed: 1 });
  const model = new LlamaModel(base.config, base.weights, backend);
  const epochsSteps = Math.round((steps * windowSequences(split.training.map((e) => e.tokens), T).length) / windowSequences(examples.map((e) => e.tokens), T).length);
  const trained = await trainAdapter(model, split.training.map((e) => e.tokens), {
    lora: loraConfig(8), batchSize: 8, sequenceLength: T, steps: epochsSteps, learningRate, warmupSteps: 1, minLearningRate: learningRate / 10,
    checkpointSteps: tracinCheckpointSteps(epochsSteps),
    checkpointDir: await mkdtemp(join(tmpdir(), "canary-report-")), seed: 1,
  });
  const evaluation = evaluateAdapter(model, trained.adapter, datanet.heldOut, 8, T, { memorization: { trainingSequences: split.training.map((e) => e.tokens), prefixLength: 22, copyLength: 16 } });
  const sketch = buildGradientSketch(model, trained.checkpoints, split.training, { projection: { dimensions: 256, seed: 1 }, sequenceLength: T, baseModel: base.digest });
  const index = buildSpanIndex(datanet.root, split.training);
  const section = attributionQualityReport({ model, adapter: trained.adapter, checkpoints: trained.checkpoints, sketch, index, split, backend: "wasm-simd" });
  rows.push({ mode, section, verdict: `${verdictOf(evaluation)} (held-out loss ${evaluation.base.loss.toFixed(2)} → ${evaluation.adapter.loss.toFixed(2)}, ${evaluation.memorization!.memorized}/${evaluation.memorization!.sampled} memorized)`, seconds: (performance.now() - t) / 1000 });
  console.log(JSON.stringify(section, null, 1));
}
await backend.dispose();

const f3 = (x: number) => x.toFixed(3);
const lines = [
  "## Attribution section of the evaluation report (held-out canaries)", "",
  `\`node bench/attribution-quality/canary-report.ts\`, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, backend ${backend.name}.`, "",
  `\`holdOutAttributionCanaries\` + \`attributionQualityReport\` (nodes/src/attribution/attribution-quality-report.ts) as a training job calls them, on the templated Datanet of the quality benchmark (12 contributors, ${examples.length} contributions, seed 1) and \`tributary-base-v0\`: one canary of 8 prompt + 16 output tokens per contribution at a seeded position; held out (cut from training, the text around it kept) or planted (left in). Adapter: LoRA rank 8, ${steps} steps' worth of epochs at lr ${learningRate}, TracIn checkpoints at 1/3, 2/3, end; Kronecker projection to 256 dims. Ranks are over the ${rows[0].section.candidates} contributions (chance top-1 ${f3(rows[0].section.chance.top1Accuracy)}, MRR ${f3(rows[0].section.chance.meanReciprocalRank)}).`, "",
  "| canaries | adapter | output | method | top-1 | MRR | abstentions | predictions ≥ 0.5 (correct) | precision |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ...rows.flatMap(({ mode, section, verdict }) => (["generated", "reference"] as const).flatMap((source) => (["span", "gradient", "combined"] as const).map((m) => {
    const q = section[source][m];
    return `| ${mode} (${section.canaries}) | ${verdict} | ${source} | ${m} | ${f3(q.top1Accuracy)} | ${f3(q.meanReciprocalRank)} | ${q.abstentions} | ${q.predictions} (${q.correct}) | ${q.precision === null ? "undefined" : f3(q.precision)} |`;
  }))),
  "", `Generated continuations reproducing their canary exactly: ${rows.map((r) => `${r.mode} ${r.section.reproduced}/${r.section.canaries}`).join(", ")}. Time: ${rows.map((r) => `${r.mode} ${r.seconds.toFixed(0)} s`).join(", ")} (training, evaluation, sketch and report), ${((performance.now() - started) / 1000).toFixed(0)} s in all.`,
];
await mkdir(dirname(values.out!), { recursive: true });
await writeFile(values.out!, `${lines.join("\n")}\n`);
console.log(lines.join("\n"));
