/**
 * Gradient attribution where "learning, not copying" has a ground truth (topical-datanet.ts): each contributor holds
 * passages of one corpus document; the outputs continue other passages of the same documents, passages not in the
 * Datanet and sharing no 8-gram with it. A specialized (not memorized) adapter is trained by the quality benchmark's
 * recipe; its greedy continuations and the passages' own continuations are ranked over the accounts by span,
 * gradient and combined attribution, by gradient variants (raw dot product, TRAK-style preconditioning) and by two
 * broken methods that must score at chance (the sketch's contribution labels shuffled; random output gradients).
 * Top-1 of the document's holder with an exact interval and one-sided binomial p-value against chance, MRR with a
 * bootstrap interval, and the counterfactual check: LDS over adapters retrained on random halves of the accounts,
 * and whether the document's holder is the account whose data most lowers the output's loss.
 *
 *   node bench/attribution-quality/topical.ts [--contributors 14] [--subsets 16] [--template off] ...
 *
 * Prints the section and writes bench/out/attribution-quality-topical.md (and a .json beside it).
 */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Address } from "viem";
import { contributorsById } from "../../nodes/src/attribution/datanet-manifest.ts";
import { gradientInfluence, type GradientSimilarity, type GradientSketch, type OutputGradientCheckpoint } from "../../nodes/src/attribution/gradient-influence.ts";
import { buildSpanIndex } from "../../nodes/src/attribution/span-index.ts";
import { scoresToPpm } from "../../nodes/src/attribution/weights.ts";
import { createBackend } from "../../nodes/src/engine/backend/create-backend.ts";
import { BatchedDecoder } from "../../nodes/src/engine/inference/batched-decoder.ts";
import { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import { windowSequences } from "../../nodes/src/engine/train/data.ts";
import { evaluateAdapter } from "../../nodes/src/engine/train/evaluate.ts";
import { Rng } from "../../nodes/src/engine/train/rng.ts";
import { attributeOutput } from "./attribute-output.ts";
import { loadBaseModel } from "./base-model.ts";
import { binomialUpperTail, clopperPearson } from "./binomial.ts";
import { corpusPassageSources } from "./corpus-passage-sources.ts";
import { accountCentered } from "./account-centering.ts";
import { counterfactualEffects, counterfactualRank, counterfactualTop, specificEffects } from "./counterfactual.ts";
import { elapsedLog } from "./elapsed-log.ts";
import { BenchmarkInputError } from "./errors.ts";
import { greedyContinuations } from "./greedy-continuations.ts";
import { bootstrapMeanInterval, linearDatamodelingScore, type ConfidenceInterval } from "./lds.ts";
import { subsetLossReductions } from "./lds-experiment.ts";
import { preconditionGradients } from "./preconditioned-gradients.ts";
import { loadProjectTokenizer } from "./project-tokenizer.ts";
import { accountShares, expectedBestReciprocalRank, pessimisticRank } from "./ranking-metrics.ts";
import { adapterSchedule, loraConfig, verdictOf, type RegimeOptions } from "./regime.ts";
import { seededShuffle } from "./seeded-shuffle.ts";
import { buildTopicalDatanet, sharedNgrams, type TopicalDatanetOptions } from "./topical-datanet.ts";
import { atLastCheckpoints, tracinGradients } from "./tracin-gradients.ts";
import { trainAdapter } from "./train-adapter.ts";

const here = dirname(fileURLToPath(import.meta.url));
const SHARED_TEXT = { n: 8, minAccounts: 2 };
const { values } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    base: { type: "string", default: join(here, "../../models/tributary-base-v0") },
    contributors: { type: "string", default: "14" },
    "passages-per-contributor": { type: "string", default: "4" },
    "prompts-per-contributor": { type: "string", default: "4" },
    "content-tokens": { type: "string", default: "48" },
    "prompt-content-tokens": { type: "string", default: "8" },
    control: { type: "string", default: "16" },
    template: { type: "string", default: "on" },
    // One templated contribution (≈ 24 + 48 + 17 tokens) per training window; the quality benchmark's 80 would cut each in two.
    "sequence-length": { type: "string", default: "96" },
    epochs: { type: "string", default: "1" },
    "learning-rate": { type: "string", default: "3e-3" },
    "batch-size": { type: "string", default: "8" },
    rank: { type: "string", default: "8" },
    dims: { type: "string", default: "256" },
    mix: { type: "string", default: "500000" },
    damping: { type: "string", default: "0.1,1" },
    subsets: { type: "string", default: "16" },
    // The node's sketches leave text two accounts or more share (8-grams) out of the gradients' losses; "off" scores every token.
    "shared-text": { type: "string", default: "on" },
    out: { type: "string", default: join(here, "../out/attribution-quality-topical.md") },
  },
});
function num(name: keyof typeof values): number {
  const value = Number(values[name]);
  if (values[name] === undefined || !Number.isFinite(value)) throw new BenchmarkInputError(`--${name} must be a number, got "${values[name]}".`, { option: name });
  return value;
}
if (values["shared-text"] !== "on" && values["shared-text"] !== "off") throw new BenchmarkInputError(`--shared-text must be on or off, got "${values["shared-text"]}".`, { option: "shared-text" });
const sharedTextOn = values["shared-text"] === "on";
if (values.template !== "on" && values.template !== "off") throw new BenchmarkInputError(`--template must be on or off, got "${values.template}".`, { option: "template" });

const started = performance.now();
const log = elapsedLog(started);
const load = loadavg()[0];
const seed = num("seed");
const tokenizer = await loadProjectTokenizer();
const text = corpusPassageSources();
const datanetOptions: TopicalDatanetOptions = {
  contributors: num("contributors"), passagesPerContributor: num("passages-per-contributor"), promptsPerContributor: num("prompts-per-contributor"),
  contentTokens: num("content-tokens"), promptContentTokens: num("prompt-content-tokens"), control: num("control"), distinctNgram: 8,
  template: values.template === "on", seed,
};
const datanet = buildTopicalDatanet(text.datanet, text.unrelated, tokenizer, datanetOptions);
const accounts = datanet.contributors;
const N = accounts.length;
log(`Datanet: ${datanet.contributions.length} contributions of ${N} contributors (${datanet.documents.join(", ")}), ${datanet.probes.length} prompts`);

const T = num("sequence-length");
const B = num("batch-size");
const contributorOf = contributorsById(datanet.manifest);
const examples = datanet.contributions.map((c) => ({ contributionId: c.contributionId, contributor: contributorOf.get(c.contributionId)!, tokens: c.tokens }));
const windows = windowSequences(examples.map((e) => e.tokens), T).length;
const steps = Math.max(1, Math.round((num("epochs") * windows) / B));
const regime: RegimeOptions = {
  name: "topical", steps, learningRate: num("learning-rate"), batchSize: B, sequenceLength: T, rank: num("rank"), dims: num("dims"),
  mixPpm: num("mix"), threshold: 0.5, seed, log, similarity: "cosine", calibrationPrompts: [], calibrationOutputTokens: 0, falsePositiveRate: 0.05,
};

const backend = await createBackend({ fusedMultiplyAdd: false });
const base = await loadBaseModel(values.base!, backend, tokenizer.vocabSize);
const model = new LlamaModel(base.config, base.weights, backend);
const training = await trainAdapter(model, examples.map((e) => e.tokens), {
  lora: loraConfig(regime.rank), batchSize: B, sequenceLength: T, steps, learningRate: regime.learningRate, ...adapterSchedule(steps, regime.learningRate),
  seed, checkpointDir: await mkdtemp(join(tmpdir(), "attribution-topical-")),
});
const promptLength = Math.min(...datanet.probes.map((p) => p.prompt.length));
const evaluationStart = performance.now();
const evaluation = evaluateAdapter(model, training.adapter, datanet.heldOut, B, T, {
  control: datanet.control, memorization: { trainingSequences: examples.map((e) => e.tokens), prefixLength: promptLength, copyLength: 16 },
});
const evaluationSeconds = (performance.now() - evaluationStart) / 1000;
const verdict = verdictOf(evaluation);
log(`adapter: ${steps} steps, held-out loss ${evaluation.base.loss.toFixed(3)} → ${evaluation.adapter.loss.toFixed(3)}, memorized ${evaluation.memorization!.memorized}/${evaluation.memorization!.sampled}: ${verdict}`);

// Outputs: the adapter's greedy continuations of the held-out prompts, and the passages' own continuations.
const generationStart = performance.now();
const decoder = new BatchedDecoder(base.config, base.weights, backend, T + 64);
const newTokens = Math.max(...datanet.probes.map((p) => p.reference.length));
const generated = greedyContinuations(decoder, training.adapter, datanet.probes.map((p) => p.prompt), newTokens);
const generationSeconds = (performance.now() - generationStart) / 1000;
type Source = "generated" | "text";
const SOURCES: readonly Source[] = ["generated", "text"];
const outputs = SOURCES.flatMap((source) => datanet.probes.map((p, i) => ({
  source, prompt: p.prompt, tokens: source === "generated" ? generated[i].subarray(0, p.reference.length) : p.reference, truth: p.truth,
})));
const contents = datanet.contributions.map((c) => c.content);
const copiesContent = outputs.map((x) => sharedNgrams([x.tokens], contents, 8) > 0);

const gradients = tracinGradients(model, training.checkpoints, examples, outputs.map((x) => ({ prompt: x.prompt, output: x.tokens })), T,
  { dimensions: regime.dims, seed, kind: "kronecker-rademacher" }, base.digest, "cosine", sharedTextOn ? SHARED_TEXT : undefined);
log(`gradients of ${examples.length} examples + ${outputs.length} outputs in ${gradients.seconds.toFixed(1)} s`);
const index = buildSpanIndex(datanet.root, datanet.indexDocuments);
const attributed = outputs.map((x, i) => attributeOutput(index, gradients.sketch, { requestId: `topical-${i}`, prompt: x.prompt, tokens: x.tokens, gradients: gradients.outputs[i] }, regime.mixPpm, "wasm-simd"));

/** Per output, each account's share under a gradient scoring of (sketch, output gradients). */
function gradientShares(sketch: GradientSketch, perOutput: readonly (readonly OutputGradientCheckpoint[])[], similarity: GradientSimilarity): Map<Address, number>[] {
  return perOutput.map((o) => accountShares(scoresToPpm(gradientInfluence(sketch, o, similarity)), contributorOf));
}
const dampings = values.damping!.split(",").map(Number);
if (dampings.some((x) => !(x > 0))) throw new BenchmarkInputError(`--damping must be a comma-separated list of numbers above 0, got "${values.damping}".`, { option: "damping" });
const preconditioned = dampings.map((damping) => ({ damping, ...preconditionGradients(gradients.sketch, gradients.outputs, damping) }));
// Broken method 1: every example's contribution label shuffled (seeded), so the gradients credit the wrong contributions.
const permutedSketch: GradientSketch = { ...gradients.sketch, exampleContributionIds: seededShuffle(gradients.sketch.exampleContributionIds, seed + 11) };
// Broken method 2: each output's gradient replaced by seeded Gaussian noise (the sketch untouched).
const noise = new Rng(seed + 13);
const randomOutputs = gradients.outputs.map((o) => o.map((c) => ({ learningRate: c.learningRate, gradient: Float32Array.from(c.gradient, () => noise.normal()) })));

// The other setting of shared text, side by side: every token scored when the node's default leaves shared text out, and back.
const other = tracinGradients(model, training.checkpoints, examples, outputs.map((x) => ({ prompt: x.prompt, output: x.tokens })), T,
  { dimensions: regime.dims, seed, kind: "kronecker-rademacher" }, base.digest, "cosine", sharedTextOn ? undefined : SHARED_TEXT);
const sharedRuns = (sharedTextOn ? gradients : other).sketch.provenance!.sharedText!.runs;
log(`gradients with the other shared-text setting in ${other.seconds.toFixed(1)} s (${sharedRuns.length} shared runs of ${sharedRuns.reduce((n, r) => n + r.length, 0)} tokens in all)`);

interface Method { name: string; control?: boolean; shares: Map<Address, number>[] }
const fromRecord = (m: "span" | "gradient" | "combined") => attributed.map((a) => accountShares(a.weights[m], contributorOf));
const methods: Method[] = [
  { name: "span", shares: fromRecord("span") },
  { name: `gradient (cosine, the node's scoring${sharedTextOn ? "" : ", --shared-text off: every token scored"})`, shares: fromRecord("gradient") },
  { name: "combined (50 % span)", shares: fromRecord("combined") },
  { name: "gradient, dot product (TracIn)", shares: gradientShares(gradients.sketch, gradients.outputs, "dot") },
  // What a job that kept fewer TracIn checkpoints would score (each checkpoint costs an output one forward and backward).
  ...[2, 1].filter((n) => n < gradients.sketch.checkpoints.length).map((n) => {
    const fewer = atLastCheckpoints(gradients, n);
    return { name: `gradient cosine, the last ${n === 1 ? "checkpoint only" : `${n} checkpoints only`}`, shares: gradientShares(fewer.sketch, fewer.outputs, "cosine") };
  }),
  { name: sharedTextOn ? "gradient cosine, every token scored (before shared text was left out)" : "gradient cosine, shared text left out of both losses (the node's default)", shares: gradientShares(other.sketch, other.outputs, "cosine") },
  ...preconditioned.flatMap((p) => [
    { name: `gradient, preconditioned dot (TRAK-style, λ = ${p.damping} × mean eigenvalue)`, shares: gradientShares(p.sketch, p.outputs, "dot") },
    { name: `gradient, preconditioned cosine (λ = ${p.damping} × mean eigenvalue)`, shares: gradientShares(p.sketch, p.outputs, "cosine") },
  ]),
  { name: "control: gradient cosine, contribution labels shuffled", control: true, shares: gradientShares(permutedSketch, gradients.outputs, "cosine") },
  { name: "control: gradient cosine, random output gradients", control: true, shares: gradientShares(gradients.sketch, randomOutputs, "cosine") },
];

// Account-centered gradient cosine: each account's share minus its mean share over the outputs of the same source.
{
  const cosine = methods[1].shares;
  const centered = new Array<Map<Address, number>>(outputs.length);
  for (const source of SOURCES) {
    const zs = outputs.map((x, z) => (x.source === source ? z : -1)).filter((z) => z >= 0);
    accountCentered(zs.map((z) => cosine[z]), accounts).forEach((m, i) => (centered[zs[i]] = m));
  }
  methods.splice(methods.findIndex((m) => m.control), 0, { name: "gradient cosine, account-centered (minus the account's mean share over the outputs)", shares: centered });
}

const subsets = num("subsets");
const ldsStart = performance.now();
const lds = subsets >= 3
  ? await subsetLossReductions(backend, base, datanet, outputs, regime, { subsets, epochs: (steps * B) / windows, seed })
  : null;
const ldsSeconds = (performance.now() - ldsStart) / 1000;
await backend.dispose();

// The counterfactual check: per output, each account's estimated effect on its loss reduction, from the halves.
const effects = lds ? outputs.map((_, z) => counterfactualEffects(N, lds.subsets, lds.actual[z])) : null;
const cfTop = effects ? effects.map((e) => counterfactualTop(e)) : null;
// Output-specific effects: minus each account's mean effect over the outputs of the same source.
const specific = effects ? (() => {
  const out = new Array<(number | null)[]>(outputs.length);
  for (const source of SOURCES) {
    const zs = outputs.map((x, z) => (x.source === source ? z : -1)).filter((z) => z >= 0);
    specificEffects(zs.map((z) => effects[z])).forEach((e, i) => (out[zs[i]] = e));
  }
  return out;
})() : null;
const cfSpecificTop = specific ? specific.map((e) => counterfactualTop(e)) : null;

interface Row {
  source: Source; method: string; control: boolean; outputs: number; hits: number; top1: number; top1Interval: { low: number; high: number }; pValue: number;
  mrr: ConfidenceInterval; abstentions: number; chance: { top1: number; mrr: number };
  /** Outputs whose first account is their counterfactual top, with the p-value against picking it by chance (1 / accounts). */
  counterfactualAgreement: { hits: number; rate: number; pValue: number } | null;
  /** The same against the output-specific counterfactual top. */
  specificAgreement: { hits: number; rate: number; pValue: number } | null; lds: (ConfidenceInterval & { undefinedOutputs: number }) | null;
}
const chance = { top1: 1 / N, mrr: expectedBestReciprocalRank(N, 1) };
const rows: Row[] = [];
for (const source of SOURCES) {
  const zs = outputs.map((x, z) => (x.source === source ? z : -1)).filter((z) => z >= 0);
  for (const m of methods) {
    const rr = zs.map((z) => {
      const rank = pessimisticRank(m.shares[z], outputs[z].truth);
      return rank === null ? 0 : 1 / rank;
    });
    const hits = rr.filter((r) => r === 1).length;
    // Agreement with the counterfactual: the method's first account (no ties: a tie for first is no single pick) is the counterfactual top.
    const agreementWith = (top: (number | null)[] | null) => {
      if (!top) return null;
      const hits = zs.filter((z) => top[z] !== null && pessimisticRank(m.shares[z], accounts[top[z]!]) === 1).length;
      return { hits, rate: hits / zs.length, pValue: binomialUpperTail(zs.length, hits, chance.top1) };
    };
    const agreement = agreementWith(cfTop);
    const specificAgreement = agreementWith(cfSpecificTop);
    let ldsInterval: Row["lds"] = null;
    if (lds) {
      const score = linearDatamodelingScore(zs.map((z) => accounts.map((a) => m.shares[z].get(a) ?? 0)), lds.subsets, zs.map((z) => lds.actual[z]));
      ldsInterval = { ...bootstrapMeanInterval(score.perOutput.map((r) => r ?? 0), { seed }), undefinedOutputs: score.undefinedOutputs };
    }
    rows.push({
      source, method: m.name, control: m.control ?? false, outputs: zs.length, hits, top1: hits / zs.length, top1Interval: clopperPearson(hits, zs.length),
      pValue: binomialUpperTail(zs.length, hits, chance.top1), mrr: bootstrapMeanInterval(rr, { seed }),
      abstentions: zs.filter((z) => ![...m.shares[z].values()].some((s) => s > 0)).length, chance, counterfactualAgreement: agreement, specificAgreement, lds: ldsInterval,
    });
  }
}
// Is the document's holder the cause? Its rank among the accounts by counterfactual effect.
const holderAs = (perOutput: (number | null)[][] | null) => perOutput ? SOURCES.map((source) => {
  const zs = outputs.map((x, z) => (x.source === source ? z : -1)).filter((z) => z >= 0);
  const ranks = zs.map((z) => counterfactualRank(perOutput[z], accounts.indexOf(outputs[z].truth)));
  const hits = ranks.filter((r) => r === 1).length;
  return {
    source, outputs: zs.length, hits, interval: clopperPearson(hits, zs.length), pValue: binomialUpperTail(zs.length, hits, chance.top1),
    mrr: bootstrapMeanInterval(ranks.map((r) => (r === null ? 0 : 1 / r)), { seed }),
  };
}) : null;
const holderAsCause = holderAs(effects);
const holderAsSpecificCause = holderAs(specific);

const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);
const ci = (c: { estimate: number; low: number; high: number }) => `${f3(c.estimate)} [${f3(c.low)}, ${f3(c.high)}]`;
const pv = (p: number) => (p < 1e-4 ? p.toExponential(1) : p.toFixed(4));
const table = (header: string[], body: string[][]) => [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...body.map((r) => `| ${r.join(" | ")} |`)].join("\n");
const gen = (source: Source) => outputs.map((x, z) => (x.source === source ? z : -1)).filter((z) => z >= 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const seconds = (performance.now() - started) / 1000;
const last = training.losses.slice(-5);
const heldOutShared = sharedNgrams(datanet.probes.map((p) => p.reference), contents, 8);
const command = `node bench/attribution-quality/topical.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}`;
const lines = [
  "## Attribution quality, topical non-memorizing regime: learning, not copying (bench/attribution-quality/topical.ts)",
  "",
  `\`${command}\`, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, Node ${process.version}, backend ${backend.name}, load average ${f2(load)} at the start.`,
  "",
  `**Setup.** Topical Datanet (\`topical-datanet.ts\`, seed ${seed}): ${N} contributors, each holding ${datanetOptions.passagesPerContributor} passages of ${datanetOptions.contentTokens} tokens from ONE document of the corpus held-out split (${datanet.documents.map((d) => `\`${d}\``).join(", ")}; contributor → document seeded). ${datanetOptions.template ? "Each passage is wrapped in the quality benchmark's template (one of 3 shared headers + passage + the footer shared by all), the header chosen by the passage's position (j mod 3), so every contributor has the same mix of headers and a header says nothing about its contributor." : "No template: contributions are the passages alone."} Prompts: ${datanetOptions.promptsPerContributor} per contributor, each ${datanetOptions.template ? "a header + " : ""}the first ${datanetOptions.promptContentTokens} tokens of ANOTHER passage of the same document, one not in the Datanet; no passage shares an 8-gram with any other, checked and asserted (held-out continuations vs contributions' contents: ${heldOutShared} shared 8-grams). Truth: the document's holder. Outputs: the adapter's greedy continuations ("generated", ${newTokens} tokens) and the passages' own continuations ("text": rest of the passage${datanetOptions.template ? " + footer" : ""}), ${datanet.probes.length} each. Base: the committed pretrained \`tributary-base-v0\`. Adapter: the quality benchmark's specialized recipe (LoRA rank ${regime.rank} on all 7 projections, AdamW, lr ${regime.learningRate}, 5 % warm-up, cosine to a tenth, batch ${B} × ${T} tokens, ${num("epochs")} epoch), TracIn checkpoints at steps ${training.checkpoints.map((c) => c.step).join(", ")}, Kronecker projection to ${regime.dims} dims, ${sharedTextOn ? `text held by two accounts or more (8-grams: ${sharedRuns.length} runs, the template) left out of the gradients' losses (the node's default)` : "every token scored (--shared-text off)"}; combined = 50 % span. Ranked over ${N} accounts (chance top-1 ${f3(chance.top1)}, MRR ${f3(chance.mrr)}). Top-1: hits / outputs with the exact 95 % Clopper-Pearson interval and the one-sided exact binomial p-value against chance; MRR: 95 % percentile bootstrap over outputs (2000 resamples); ties ranked against the truth, an output with no evidence scores 0.`,
  "",
  "**Adapter** (the training job's `evaluateAdapter`: held-out = the prompts' passages, templated; control = " + `${datanet.control.length} control-split passages; memorization = a training prefix of ${promptLength} tokens continued verbatim for 16):`,
  "",
  table(["steps (epochs)", "train loss first → last", "held-out loss base → adapter", "control loss base → adapter", "memorized", "verdict", "training time"], [[
    `${steps} (${f2((steps * B) / windows)})`, `${f3(training.losses[0])} → ${f3(last.reduce((a, b) => a + b, 0) / last.length)}`, `${f3(evaluation.base.loss)} → ${f3(evaluation.adapter.loss)}`,
    evaluation.control ? `${f3(evaluation.control.base.loss)} → ${f3(evaluation.control.adapter.loss)}` : "–", `${evaluation.memorization!.memorized}/${evaluation.memorization!.sampled}`, verdict, `${training.seconds.toFixed(0)} s`,
  ]]),
  "",
  `Outputs: generated continuations containing an 8-gram of some contribution's passage: ${gen("generated").filter((z) => copiesContent[z]).length}/${gen("generated").length}; texts: ${gen("text").filter((z) => copiesContent[z]).length}/${gen("text").length}. Median longest Datanet span (template included): generated ${median(gen("generated").map((z) => attributed[z].longestSpan))}, text ${median(gen("text").map((z) => attributed[z].longestSpan))} tokens.`,
  "",
  holderAsCause && holderAsSpecificCause ? `**Is the document's holder the cause?** From the ${lds!.subsets.length} adapters retrained on random halves of the accounts (${lds!.stepsPerSubset} steps each): the holder is the counterfactual top (the account whose presence in a half raised the output's loss reduction most) for ${holderAsCause.map((h) => `${h.hits}/${h.outputs} ${h.source} outputs (${f3(h.hits / h.outputs)} [${f3(h.interval.low)}, ${f3(h.interval.high)}], p = ${pv(h.pValue)}; mean reciprocal counterfactual rank ${ci(h.mrr)})`).join(" and ")}, against chance ${f3(chance.top1)} (MRR ${f3(chance.mrr)}). Output-specific (each account's effect minus its mean effect over the outputs of the same source: some accounts' data lowers every output's loss), the holder is the top for ${holderAsSpecificCause.map((h) => `${h.hits}/${h.outputs} ${h.source} outputs (${f3(h.hits / h.outputs)} [${f3(h.interval.low)}, ${f3(h.interval.high)}], p = ${pv(h.pValue)}; mean reciprocal rank ${ci(h.mrr)})`).join(" and ")}.` : "",
  "",
  table(["output", "method", "top-1 (hits/outputs) [95 % CP]", "p vs chance", "MRR [95 % CI]", "chance top-1 / MRR", "abstentions", "top = counterfactual top", "top = output-specific counterfactual top", "LDS [95 % CI]"], rows.map((r) => [
    r.source, r.control ? `*${r.method}*` : r.method, `${f3(r.top1)} (${r.hits}/${r.outputs}) [${f3(r.top1Interval.low)}, ${f3(r.top1Interval.high)}]`, pv(r.pValue), ci(r.mrr),
    `${f3(r.chance.top1)} / ${f3(r.chance.mrr)}`, String(r.abstentions), r.counterfactualAgreement === null ? "–" : `${f3(r.counterfactualAgreement.rate)} (${r.counterfactualAgreement.hits}/${r.outputs}), p = ${pv(r.counterfactualAgreement.pValue)}`,
    r.specificAgreement === null ? "–" : `${f3(r.specificAgreement.rate)} (${r.specificAgreement.hits}/${r.outputs}), p = ${pv(r.specificAgreement.pValue)}`,
    r.lds ? `${ci(r.lds)}${r.lds.undefinedOutputs ? ` (${r.lds.undefinedOutputs} without evidence)` : ""}` : "–",
  ])),
  "",
  `LDS: per output, Spearman over the ${lds?.subsets.length ?? 0} halves between its real loss reduction and the sum of the method's shares over the half's accounts; mean over outputs (no evidence counts 0), 95 % bootstrap over outputs.`,
  "",
  `Time: ${seconds.toFixed(0)} s in all (training ${training.seconds.toFixed(0)} s, evaluation ${evaluationSeconds.toFixed(0)} s, generation ${generationSeconds.toFixed(0)} s, sketch + output gradients ${gradients.seconds.toFixed(0)} s${lds ? `, LDS retrainings and losses ${ldsSeconds.toFixed(0)} s` : ""}).`,
];
const markdown = lines.join("\n") + "\n";
console.log(markdown);
await mkdir(dirname(values.out!), { recursive: true });
await writeFile(values.out!, markdown);
await writeFile(values.out!.replace(/\.md$/, ".json"), JSON.stringify({
  command, date: new Date().toISOString(), load, documents: datanet.documents, steps, windows, evaluation, verdict, rows, holderAsCause, holderAsSpecificCause, accounts,
  lds: lds ? { subsets: lds.subsets, actual: lds.actual } : null,
  shares: Object.fromEntries(methods.map((m) => [m.name, m.shares.map((s) => accounts.map((a) => s.get(a) ?? 0))])),
  perOutput: outputs.map((x, z) => ({
    source: x.source, truth: x.truth, copiesContent: copiesContent[z], longestSpan: attributed[z].longestSpan,
    counterfactualTop: cfTop?.[z] ?? null, specificCounterfactualTop: cfSpecificTop?.[z] ?? null, ranks: Object.fromEntries(methods.map((m) => [m.name, pessimisticRank(m.shares[z], x.truth)])),
  })),
  seconds,
}, null, 2));
log(`wrote ${values.out}`);
