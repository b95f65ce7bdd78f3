/**
 * Attribution quality with planted evidence: does Proof of Attribution credit the right contributor?
 *
 * Per seed (trial.ts): a Datanet of several contributors, each holding unique passages among filler
 * passages that every contributor holds a copy of, is tokenized with the project tokenizer and
 * indexed; a LoRA adapter is fine-tuned on it with the engine's trainer until it reproduces the
 * passages, saving TracIn checkpoints; the model is prompted with the start of each unique passage
 * and with the start of unrelated text from outside the Datanet; each output gets its projected
 * gradients and is attributed (span only, gradient only, both mixed). Over all seeds together:
 * precision and recall of the top contributor on the planted prompts, and how thinly unrelated
 * outputs spread.
 *
 *   node bench/attribution-quality/run.ts [--seeds 1,2,3] [--steps 600] [--threshold 0.5] [--base <model-folder>] ...
 *
 * Prints a table and writes bench/out/attribution-quality.md.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createBackend } from "../../nodes/src/engine/backend/create-backend.ts";
import { GRADIENT_PROJECTION_KINDS, type GradientProjectionKind } from "../../nodes/src/engine/train/projected-gradients.ts";
import { loadTokenizer } from "../../nodes/src/engine/tokenizer/text-tokenizer.ts";
import { METHODS, type Method } from "./attribute-output.ts";
import { corpusPassageSources } from "./corpus-passage-sources.ts";
import { BenchmarkInputError } from "./errors.ts";
import { qualityMetrics, type QualityMetrics } from "./quality-metrics.ts";
import { renderConsoleReport, renderMarkdownReport } from "./report.ts";
import { runTrial, type TrialOptions, type TrialResult } from "./trial.ts";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "1,2,3" },
    contributors: { type: "string", default: "8" },
    "unique-per-contributor": { type: "string", default: "4" },
    filler: { type: "string", default: "4" },
    unrelated: { type: "string", default: "32" },
    "passage-tokens": { type: "string", default: "64" },
    "prompt-tokens": { type: "string", default: "16" },
    steps: { type: "string", default: "600" },
    "learning-rate": { type: "string", default: "1e-2" },
    rank: { type: "string", default: "8" },
    dims: { type: "string", default: "256" },
    projection: { type: "string", default: "kronecker-rademacher" },
    threshold: { type: "string", default: "0.5" },
    mix: { type: "string", default: "500000" },
    base: { type: "string" },
    out: { type: "string", default: join(here, "../out/attribution-quality.md") },
  },
});

function numberOption(name: keyof typeof values): number {
  const value = Number(values[name]);
  if (values[name] === undefined || !Number.isFinite(value)) throw new BenchmarkInputError(`--${name} must be a number, got "${values[name]}".`, { option: name });
  return value;
}
function projectionOption(value: string): GradientProjectionKind {
  if (!(GRADIENT_PROJECTION_KINDS as readonly string[]).includes(value)) {
    throw new BenchmarkInputError(`--projection must be one of ${GRADIENT_PROJECTION_KINDS.join(", ")}, got "${value}".`, { option: "projection" });
  }
  return value as GradientProjectionKind;
}
const seeds = values.seeds!.split(",").map((s) => Number(s));
if (seeds.some((s) => !Number.isInteger(s))) throw new BenchmarkInputError(`--seeds must be integers separated by commas, got "${values.seeds}".`, { seeds: values.seeds });
const threshold = numberOption("threshold");

const started = performance.now();
const log = (line: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);

const tokenizerDir = join(here, "../../scripts/base-model/tokenizer");
const tokenizer = loadTokenizer(
  JSON.parse(await readFile(join(tokenizerDir, "tokenizer.json"), "utf8")),
  JSON.parse(await readFile(join(tokenizerDir, "tokenizer_config.json"), "utf8")),
);
const text = corpusPassageSources();
// Without fused multiply-add: the records name their backend, and only a reproducible one can be recomputed by a verifier.
const backend = await createBackend({ fusedMultiplyAdd: false });
const options: Omit<TrialOptions, "seed"> = {
  contributors: numberOption("contributors"), uniquePerContributor: numberOption("unique-per-contributor"), filler: numberOption("filler"),
  unrelated: numberOption("unrelated"), passageTokens: numberOption("passage-tokens"), promptTokens: numberOption("prompt-tokens"),
  steps: numberOption("steps"), learningRate: numberOption("learning-rate"), batchSize: 8, rank: numberOption("rank"), dims: numberOption("dims"), projection: projectionOption(values.projection!),
  mixPpm: numberOption("mix"), threshold, baseDir: values.base, log,
};
const trials: TrialResult[] = [];
for (const seed of seeds) trials.push(await runTrial(backend, tokenizer, text, { ...options, seed }));
await backend.dispose();

type Unrelated = "unrelatedGenerated" | "unrelatedText";
const pooledMetrics = (list: readonly TrialResult[], unrelated: Unrelated, t: number): Record<Method, QualityMetrics> =>
  Object.fromEntries(METHODS.map((method) => [method, qualityMetrics(list.flatMap((r) => r.planted[method]), list.flatMap((r) => r[unrelated][method]), t)])) as Record<Method, QualityMetrics>;
const thresholds = [...new Set([0.3, threshold, 0.7, 0.9])].sort((a, b) => a - b);

const report = {
  date: new Date().toISOString(),
  machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}, backend ${backend.name}`,
  options: { ...options, seeds },
  trials,
  threshold,
  byThreshold: thresholds.map((t) => ({ threshold: t, generated: pooledMetrics(trials, "unrelatedGenerated", t), text: pooledMetrics(trials, "unrelatedText", t) })),
  perTrial: trials.map((trial) => pooledMetrics([trial], "unrelatedGenerated", threshold)),
  seconds: (performance.now() - started) / 1000,
};
console.log(renderConsoleReport(report));
await mkdir(dirname(values.out!), { recursive: true });
await writeFile(values.out!, renderMarkdownReport(report));
console.log(`wrote ${values.out}`);
