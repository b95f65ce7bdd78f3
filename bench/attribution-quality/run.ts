/**
 * Attribution quality where it can fail. On a templated Datanet (shared headers and footer, near-
 * duplicates held by two contributors; templated-datanet.ts) the committed pretrained base model
 * gets two adapters: one trained until it memorizes, one only until the evaluation report calls it
 * specialized. Each is prompted as a user would (template header + a few words of a contribution),
 * and its continuations, the texts' own continuations, mixed two-source texts and unrelated outputs
 * are attributed by span, gradient and combined (regime.ts). Then the counterfactual check (LDS,
 * lds-experiment.ts) on the specialized regime, and span attribution over thousands of
 * contributions (span-scale.ts).
 *
 *   node bench/attribution-quality/run.ts [--base models/tributary-base-v0] [--memorize-steps 120] [--specialize-steps 7] [--subsets 16] ...
 *
 * Prints the section and writes bench/out/attribution-quality.md (and a .json beside it).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { GRADIENT_SIMILARITIES, type GradientSimilarity } from "../../nodes/src/attribution/gradient-influence.ts";
import { calibrationPrompts } from "../../nodes/src/attribution/null-calibration.ts";
import { seededShuffle } from "./seeded-shuffle.ts";
import { createBackend } from "../../nodes/src/engine/backend/create-backend.ts";
import { loadBaseModel } from "./base-model.ts";
import { corpusPassageSources } from "./corpus-passage-sources.ts";
import { elapsedLog } from "./elapsed-log.ts";
import { BenchmarkInputError } from "./errors.ts";
import { runLds } from "./lds-experiment.ts";
import { loadProjectTokenizer } from "./project-tokenizer.ts";
import { renderMarkdownReport, type BenchmarkReport } from "./report.ts";
import { runRegime, type RegimeOptions, type RegimeResult } from "./regime.ts";
import { runSpanScale } from "./span-scale.ts";
import { buildTemplatedDatanet, type TemplatedDatanetOptions } from "./templated-datanet.ts";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    base: { type: "string", default: join(here, "../../models/tributary-base-v0") },
    contributors: { type: "string", default: "12" },
    "unique-per-contributor": { type: "string", default: "2" },
    "near-duplicates": { type: "string", default: "4" },
    mixed: { type: "string", default: "8" },
    "held-out": { type: "string", default: "16" },
    unrelated: { type: "string", default: "16" },
    "content-tokens": { type: "string", default: "40" },
    "prompt-content-tokens": { type: "string", default: "6" },
    "sequence-length": { type: "string", default: "80" },
    "memorize-steps": { type: "string", default: "120" },
    "memorize-learning-rate": { type: "string", default: "1e-2" },
    "specialize-steps": { type: "string", default: "7" },
    "specialize-learning-rate": { type: "string", default: "3e-3" },
    "batch-size": { type: "string", default: "8" },
    rank: { type: "string", default: "8" },
    dims: { type: "string", default: "256" },
    mix: { type: "string", default: "500000" },
    threshold: { type: "string", default: "0.5" },
    subsets: { type: "string", default: "16" },
    similarity: { type: "string", default: "cosine" },
    // The node's sketches leave text two accounts or more share (8-grams) out of the gradients' losses; "off" scores every token.
    "shared-text": { type: "string", default: "on" },
    "calibration-prompts": { type: "string", default: "39" },
    "false-positive-rate": { type: "string", default: "0.05" },
    "scale-contributors": { type: "string", default: "500" },
    "scale-per-contributor": { type: "string", default: "4" },
    out: { type: "string", default: join(here, "../out/attribution-quality.md") },
  },
});
function num(name: keyof typeof values): number {
  const value = Number(values[name]);
  if (values[name] === undefined || !Number.isFinite(value)) throw new BenchmarkInputError(`--${name} must be a number, got "${values[name]}".`, { option: name });
  return value;
}

const started = performance.now();
const log = elapsedLog(started);
const tokenizer = await loadProjectTokenizer();
const text = corpusPassageSources();
const seed = num("seed");
const datanetOptions: TemplatedDatanetOptions = {
  contributors: num("contributors"), uniquePerContributor: num("unique-per-contributor"), nearDuplicates: num("near-duplicates"), editEvery: 10,
  mixed: num("mixed"), heldOut: num("held-out"), unrelated: num("unrelated"), contentTokens: num("content-tokens"),
  promptContentTokens: num("prompt-content-tokens"), distinctNgram: 8, seed,
};
const datanet = buildTemplatedDatanet(text.datanet, text.unrelated, tokenizer, datanetOptions);
log(`Datanet: ${datanet.contributions.length} contributions of ${datanet.contributors.length} contributors, ${datanet.probes.length} probes`);

// Span only, no model: contents from the base model's training split (the held-out split is too small for thousands).
const scaleDatanet = buildTemplatedDatanet(text.baseTraining, text.unrelated, tokenizer, {
  ...datanetOptions, contributors: num("scale-contributors"), uniquePerContributor: num("scale-per-contributor"),
  nearDuplicates: Math.round(num("scale-contributors") / 5), mixed: 100, heldOut: 0, unrelated: 100, seed: seed + 100,
});
const scale = runSpanScale(scaleDatanet);
log(`scale: ${scale.contributions} contributions indexed and ${scale.outputs.length} outputs attributed`);


// The null for the calibrated thresholds: prompts of general text, from documents outside both the Datanet and the
// unrelated outputs (the base model's training split), as long as the benchmark's prompts; as many tokens generated
// as the unrelated outputs hold. In a node the base model's published control text plays this part.
const promptTokens = datanet.probes.map((p) => p.prompt.length).sort((a, b) => a - b)[datanet.probes.length >> 1];
const calibrationTexts = seededShuffle(text.baseTraining, seed + 7).slice(0, num("calibration-prompts")).map((d) => Int32Array.from(tokenizer.encode(d.text.slice(0, 4000))));
const calibrationPromptList = calibrationPrompts(calibrationTexts, { promptTokens, count: num("calibration-prompts"), seed });
const calibrationOutputTokens = Math.max(...datanet.probes.filter((p) => p.kind === "unrelated").map((p) => p.reference.length));
if (!GRADIENT_SIMILARITIES.includes(values.similarity as GradientSimilarity)) throw new BenchmarkInputError(`--similarity must be one of ${GRADIENT_SIMILARITIES.join(", ")}.`, { option: "similarity" });

if (values["shared-text"] !== "on" && values["shared-text"] !== "off") throw new BenchmarkInputError(`--shared-text must be on or off, got "${values["shared-text"]}".`, { option: "shared-text" });

const backend = await createBackend({ fusedMultiplyAdd: false });
const base = await loadBaseModel(values.base!, backend, tokenizer.vocabSize);
const common = { batchSize: num("batch-size"), sequenceLength: num("sequence-length"), rank: num("rank"), dims: num("dims"), mixPpm: num("mix"), threshold: num("threshold"), seed, log,
  similarity: values.similarity as GradientSimilarity, calibrationPrompts: calibrationPromptList, calibrationOutputTokens, falsePositiveRate: num("false-positive-rate"),
  ...(values["shared-text"] === "on" ? { sharedText: { n: 8, minAccounts: 2 } } : {}) };
const memorizing: RegimeOptions = { ...common, name: "memorizing", steps: num("memorize-steps"), learningRate: num("memorize-learning-rate") };
const specialized: RegimeOptions = { ...common, name: "specialized", steps: num("specialize-steps"), learningRate: num("specialize-learning-rate") };
const regimes: RegimeResult[] = [];
for (const o of [memorizing, specialized]) regimes.push(await runRegime(backend, base, datanet, o));

const spec = regimes[1];
const ldsOutputs = spec.outputs.filter((x) => (x.source === "generated" && (x.kind === "unique" || x.kind === "near-duplicate")) || (x.source === "text" && x.kind === "mixed"));
const lds = num("subsets") >= 3 ? { regime: spec.name, result: await runLds(backend, base, datanet, ldsOutputs, specialized, { subsets: num("subsets"), epochs: spec.epochs, seed }) } : null;
await backend.dispose();

const setup = `**Setup.** Templated Datanet (\`templated-datanet.ts\`, seed ${seed}): ${datanetOptions.contributors} contributors with ${datanetOptions.uniquePerContributor} contents each, ${datanetOptions.nearDuplicates} of them also held by a second contributor with every 10th token changed (${datanet.contributions.length} contributions). Every contribution is one of 3 shared headers (≈ 16 tokens) + ${datanetOptions.contentTokens} tokens of real English from the corpus held-out split (no 8-gram shared between contents) + a footer shared by all (≈ 15 tokens). Prompts as a user would write them: the template header + the first ${datanetOptions.promptContentTokens} content tokens; outputs are the adapter's greedy continuations ("generated") and the texts' own continuations ("text", the rest of the content + footer). ${datanetOptions.mixed} mixed outputs: half of one contributor's continuation then the end of another's. ${datanetOptions.unrelated} unrelated outputs: a header + text from the control split, ending in the shared footer. Base: the committed pretrained \`tributary-base-v0\` (3.95M parameters). Adapter: LoRA rank ${common.rank} on all 7 projections, AdamW, batch ${common.batchSize} × ${common.sequenceLength} tokens, TracIn checkpoints at 1/3, 2/3 and the end, Kronecker projection to ${common.dims} dims, similarity ${common.similarity}, ${common.sharedText ? "text held by two accounts or more (8-grams: the template, near-duplicates) left out of the gradients' losses" : "every token scored (--shared-text off)"}; combined = 50 % span. Calibrated thresholds: ${calibrationPromptList.length} prompts of ${promptTokens} tokens from ${calibrationTexts.length} documents of the base model's training split (neither in the Datanet nor in the unrelated outputs), ${calibrationOutputTokens} tokens generated each.`;
const report: BenchmarkReport = {
  command: `node bench/attribution-quality/run.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
  date: new Date().toISOString(),
  machine: `${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, Node ${process.version}, backend ${backend.name}`,
  setup, threshold: common.threshold, regimes, lds, scale, seconds: (performance.now() - started) / 1000,
};
const markdown = renderMarkdownReport(report);
console.log(markdown);
await mkdir(dirname(values.out!), { recursive: true });
await writeFile(values.out!, markdown);
const json = {
  ...report,
  regimes: regimes.map(({ model: _m, adapter: _a, checkpoints: _c, sketch: _s, index: _i, outputs, ...rest }) => ({ ...rest, outputs: outputs.length })),
  falsePositiveRate: common.falsePositiveRate,
  scale: { ...scale, outputs: scale.outputs.length },
};
await writeFile(values.out!.replace(/\.md$/, ".json"), JSON.stringify(json, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2));
log(`wrote ${values.out}`);
