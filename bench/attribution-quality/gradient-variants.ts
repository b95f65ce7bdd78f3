/**
 * Ablation of the gradient method in the non-memorizing regime: the same specialized adapter, the same generated
 * outputs, scored with each variant of TracIn — raw dot product or cosine, every TracIn checkpoint or the last one
 * only, the adapter's factors in every layer or in the last K only — with top-1 and MRR of the true account (95 %
 * bootstrap intervals over outputs, chance stated) and LDS against adapters retrained on random halves.
 *
 *   node bench/attribution-quality/gradient-variants.ts [--subsets 16] [--layers all,2,1] ...
 *
 * Prints a markdown section and writes bench/out/attribution-gradient-variants.md (and a .json beside it).
 */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Address } from "viem";
import { buildGradientSketch } from "../../nodes/src/attribution/build-gradient-sketch.ts";
import { contributorsById } from "../../nodes/src/attribution/datanet-manifest.ts";
import { gradientInfluence, type GradientSimilarity, type GradientSketch, type OutputGradientCheckpoint } from "../../nodes/src/attribution/gradient-influence.ts";
import { outputGradients } from "../../nodes/src/attribution/output-gradients.ts";
import { scoresToPpm } from "../../nodes/src/attribution/weights.ts";
import { createBackend } from "../../nodes/src/engine/backend/create-backend.ts";
import { BatchedDecoder } from "../../nodes/src/engine/inference/batched-decoder.ts";
import { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import { windowSequences } from "../../nodes/src/engine/train/data.ts";
import { evaluateAdapter } from "../../nodes/src/engine/train/evaluate.ts";
import { loadBaseModel } from "./base-model.ts";
import { corpusPassageSources } from "./corpus-passage-sources.ts";
import { elapsedLog } from "./elapsed-log.ts";
import { greedyContinuations } from "./greedy-continuations.ts";
import { bootstrapMeanInterval, linearDatamodelingScore, type ConfidenceInterval } from "./lds.ts";
import { subsetLossReductions } from "./lds-experiment.ts";
import { loadProjectTokenizer } from "./project-tokenizer.ts";
import { accountShares, expectedBestReciprocalRank, pessimisticRank } from "./ranking-metrics.ts";
import { adapterSchedule, loraConfig, verdictOf, type RegimeOptions } from "./regime.ts";
import { buildTemplatedDatanet } from "./templated-datanet.ts";
import { atLastCheckpoints } from "./tracin-gradients.ts";
import { trainAdapter } from "./train-adapter.ts";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    base: { type: "string", default: join(here, "../../models/tributary-base-v0") },
    steps: { type: "string", default: "7" },
    "learning-rate": { type: "string", default: "3e-3" },
    subsets: { type: "string", default: "16" },
    layers: { type: "string", default: "all,2,1" },
    out: { type: "string", default: join(here, "../out/attribution-gradient-variants.md") },
  },
});
const seed = Number(values.seed);
const started = performance.now();
const log = elapsedLog(started);

const tokenizer = await loadProjectTokenizer();
const text = corpusPassageSources();
// The quality benchmark's Datanet (run.ts's defaults).
const datanet = buildTemplatedDatanet(text.datanet, text.unrelated, tokenizer, {
  contributors: 12, uniquePerContributor: 2, nearDuplicates: 4, editEvery: 10, mixed: 8, heldOut: 16, unrelated: 16,
  contentTokens: 40, promptContentTokens: 6, distinctNgram: 8, seed,
});
const backend = await createBackend({ fusedMultiplyAdd: false });
const base = await loadBaseModel(values.base!, backend, tokenizer.vocabSize);
const regime: RegimeOptions = {
  name: "specialized", steps: Number(values.steps), learningRate: Number(values["learning-rate"]), batchSize: 8, sequenceLength: 80, rank: 8, dims: 256,
  mixPpm: 500_000, threshold: 0.5, seed, log, similarity: "cosine", calibrationPrompts: [], calibrationOutputTokens: 0, falsePositiveRate: 0.05,
};
const T = regime.sequenceLength;
const model = new LlamaModel(base.config, base.weights, backend);
const examples = datanet.contributions.map((c) => ({ contributionId: c.contributionId, tokens: c.tokens }));
const training = await trainAdapter(model, examples.map((e) => e.tokens), {
  lora: loraConfig(regime.rank), batchSize: regime.batchSize, sequenceLength: T, steps: regime.steps, learningRate: regime.learningRate,
  ...adapterSchedule(regime.steps, regime.learningRate),
  seed, checkpointDir: await mkdtemp(join(tmpdir(), "attribution-variants-")),
});
const promptLength = Math.min(...datanet.probes.map((p) => p.prompt.length));
const evaluation = evaluateAdapter(model, training.adapter, datanet.heldOut, regime.batchSize, T, {
  control: datanet.control, memorization: { trainingSequences: examples.map((e) => e.tokens), prefixLength: promptLength, copyLength: 16 },
});
const verdict = verdictOf(evaluation);
log(`adapter: ${regime.steps} steps, held-out loss ${evaluation.base.loss.toFixed(3)} → ${evaluation.adapter.loss.toFixed(3)}, memorized ${evaluation.memorization!.memorized}/${evaluation.memorization!.sampled}: ${verdict}`);

// The generated continuations of the attributable prompts (unique and near-duplicate contents).
const probes = datanet.probes.filter((p) => p.kind === "unique" || p.kind === "near-duplicate");
const decoder = new BatchedDecoder(base.config, base.weights, backend, T + 64);
const generated = greedyContinuations(decoder, training.adapter, probes.map((p) => p.prompt), Math.max(...probes.map((p) => p.reference.length)));
const outputs = probes.map((p, i) => ({ kind: p.kind, prompt: p.prompt, tokens: generated[i].subarray(0, p.reference.length), truths: p.truths }));
const contributorOf = contributorsById(datanet.manifest);
const candidates = datanet.contributors.length;

interface Gradients { lastLayers: number | undefined; sketch: GradientSketch; outputs: OutputGradientCheckpoint[][]; sketchSeconds: number; outputSeconds: number }
const layerSettings = values.layers!.split(",").map((s) => (s === "all" ? undefined : Number(s)));
const gradients: Gradients[] = [];
for (const lastLayers of layerSettings) {
  const sketchStart = performance.now();
  const sketch = buildGradientSketch(model, training.checkpoints, examples, {
    projection: { dimensions: regime.dims, seed, kind: "kronecker-rademacher" }, sequenceLength: T, baseModel: base.digest, ...(lastLayers !== undefined ? { lastLayers } : {}),
  });
  const sketchSeconds = (performance.now() - sketchStart) / 1000;
  const outputStart = performance.now();
  const perOutput = outputs.map((x) => outputGradients(model, sketch.provenance!, training.checkpoints, x.prompt, x.tokens));
  const outputSeconds = (performance.now() - outputStart) / 1000;
  gradients.push({ lastLayers, sketch, outputs: perOutput, sketchSeconds, outputSeconds });
  log(`layers ${lastLayers ?? "all"}: sketch ${sketchSeconds.toFixed(1)} s, ${outputs.length} output gradients ${outputSeconds.toFixed(1)} s`);
}

/**
 * Every gradient minus the mean of the training examples' gradients at its checkpoint: the direction every example
 * shares (the templates, the language the whole Datanet teaches) taken out before comparing.
 */
function centered(g: { sketch: GradientSketch; outputs: OutputGradientCheckpoint[][] }): { sketch: GradientSketch; outputs: OutputGradientCheckpoint[][] } {
  const k = g.sketch.dims;
  const E = g.sketch.exampleContributionIds.length;
  const means = g.sketch.checkpoints.map((c) => {
    const mean = new Float64Array(k);
    for (let e = 0; e < E; e++) for (let j = 0; j < k; j++) mean[j] += c.exampleGradients[e * k + j] / E;
    return mean;
  });
  return {
    sketch: { ...g.sketch, checkpoints: g.sketch.checkpoints.map((c, i) => ({ ...c, exampleGradients: c.exampleGradients.map((x, at) => x - means[i][at % k]) })) },
    outputs: g.outputs.map((o) => o.map((c, i) => ({ ...c, gradient: c.gradient.map((x, j) => x - means[i][j]) }))),
  };
}

/** The sketch and output gradients restricted to some of the checkpoints. */
function atCheckpoints(g: Gradients, which: "all" | "last"): { sketch: GradientSketch; outputs: OutputGradientCheckpoint[][] } {
  return which === "all" ? g : atLastCheckpoints(g, 1);
}

const ldsOutputs = outputs;
const lds = Number(values.subsets) >= 3
  ? await subsetLossReductions(backend, base, datanet, ldsOutputs, regime, { subsets: Number(values.subsets), epochs: (regime.steps * regime.batchSize) / windowSequences(examples.map((e) => e.tokens), T).length, seed })
  : null;
await backend.dispose();

interface VariantResult {
  layers: string; checkpoints: string; similarity: GradientSimilarity | "centered cosine";
  top1: ConfidenceInterval; mrr: ConfidenceInterval; uniqueTop1: number; uniqueMrr: number;
  chance: { top1: number; mrr: number };
  lds: (ConfidenceInterval & { undefinedOutputs: number }) | null;
  /** Share of outputs whose top account is the counterfactual top (null without LDS subsets). */
  cfTop1: number | null;
  sketchSeconds: number; outputSeconds: number;
}
/**
 * From the random halves: each account's estimated effect on an output's loss reduction (mean over the halves that
 * hold it minus mean over those that do not), and the account with the largest: the output's counterfactual top.
 */
const counterfactualTop: (Address | null)[] | null = lds ? outputs.map((_, z) => {
  let best: { account: Address | null; effect: number } = { account: null, effect: -Infinity };
  lds.contributors.forEach((account, c) => {
    const inside: number[] = [], outside: number[] = [];
    lds.subsets.forEach((subset, j) => (subset.includes(c) ? inside : outside).push(lds.actual[z][j]));
    if (inside.length === 0 || outside.length === 0) return;
    const effect = inside.reduce((a, b) => a + b, 0) / inside.length - outside.reduce((a, b) => a + b, 0) / outside.length;
    if (effect > best.effect) best = { account, effect };
  });
  return best.account;
}) : null;
const promptIsCounterfactualTop = counterfactualTop ? outputs.filter((x, z) => counterfactualTop[z] !== null && x.truths.includes(counterfactualTop[z]!)).length : null;
const results: VariantResult[] = [];
for (const g of gradients) {
  for (const which of ["all", "last"] as const) {
    for (const similarity of ["dot", "cosine", "centered cosine"] as const) {
      const { sketch, outputs: outs } = similarity === "centered cosine" ? centered(atCheckpoints(g, which)) : atCheckpoints(g, which);
      const shares: Map<Address, number>[] = outs.map((o) => accountShares(scoresToPpm(gradientInfluence(sketch, o, similarity === "dot" ? "dot" : "cosine")), contributorOf));
      const rr = outputs.map((x, z) => {
        const ranks = x.truths.map((t) => pessimisticRank(shares[z], t)).filter((r): r is number => r !== null);
        return ranks.length ? 1 / Math.min(...ranks) : 0;
      });
      const top1 = rr.map((r) => (r === 1 ? 1 : 0));
      const unique = outputs.map((x, z) => (x.kind === "unique" ? z : -1)).filter((z) => z >= 0);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      // Agreement with the counterfactual: the account whose presence in a half raised the output's loss reduction most.
      const cfTop1 = counterfactualTop ? mean(outputs.map((_, z) => {
        let best: Address | null = null;
        for (const [account, share] of shares[z]) if (best === null || share > shares[z].get(best)!) best = account;
        return best !== null && best === counterfactualTop[z] ? 1 : 0;
      })) : null;
      let ldsInterval: VariantResult["lds"] = null;
      if (lds) {
        const attributions = shares.map((s) => lds.contributors.map((c) => s.get(c) ?? 0));
        const score = linearDatamodelingScore(attributions, lds.subsets, lds.actual);
        ldsInterval = { ...bootstrapMeanInterval(score.perOutput.map((r) => r ?? 0), { seed }), undefinedOutputs: score.undefinedOutputs };
      }
      results.push({
        layers: g.lastLayers === undefined ? `all ${base.config.numLayers}` : `last ${g.lastLayers}`, checkpoints: which === "all" ? `${g.sketch.checkpoints.length} (lr-weighted)` : "last only", similarity,
        top1: bootstrapMeanInterval(top1, { seed }), mrr: bootstrapMeanInterval(rr, { seed }),
        uniqueTop1: mean(unique.map((z) => top1[z])), uniqueMrr: mean(unique.map((z) => rr[z])),
        chance: { top1: mean(outputs.map((x) => x.truths.length / candidates)), mrr: mean(outputs.map((x) => expectedBestReciprocalRank(candidates, x.truths.length))) },
        cfTop1, lds: ldsInterval, sketchSeconds: g.sketchSeconds, outputSeconds: g.outputSeconds,
      });
    }
  }
}

const f = (x: number) => x.toFixed(3);
const ci = (c: ConfidenceInterval) => `${f(c.estimate)} [${f(c.low)}, ${f(c.high)}]`;
const lines = [
  `\`node bench/attribution-quality/gradient-variants.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}\`, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, Node ${process.version}, backend ${backend.name}.`,
  "",
  `The quality benchmark's templated Datanet and its specialized adapter (${regime.steps} steps, lr ${regime.learningRate}, TracIn checkpoints at steps ${training.checkpoints.map((c) => c.step).join(", ")}; held-out loss ${evaluation.base.loss.toFixed(3)} → ${evaluation.adapter.loss.toFixed(3)}, ${evaluation.memorization!.memorized}/${evaluation.memorization!.sampled} memorized: ${verdict}). Outputs: its greedy continuations of the ${outputs.length} attributable prompts (${outputs.filter((x) => x.kind === "unique").length} unique, ${outputs.filter((x) => x.kind === "near-duplicate").length} near-duplicate with two true accounts), ranked over ${candidates} accounts. Intervals: 95 % percentile bootstrap over outputs (2000 resamples). LDS: ${lds ? `${lds.subsets.length} adapters retrained on random halves of the contributors (${lds.stepsPerSubset} steps each), Spearman per output, mean over outputs` : "not run"}. Seconds: the sketch of ${examples.length} examples × ${training.checkpoints.length} checkpoints and the ${outputs.length} outputs' gradients at ${training.checkpoints.length} checkpoints, per layer setting.`,
  "",
  "| layers | checkpoints | similarity | top-1 [95 % CI] | MRR [95 % CI] | unique only: top-1 / MRR | chance top-1 / MRR | top = counterfactual top | LDS [95 % CI] | sketch s | output gradients s |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ...results.map((r) => `| ${r.layers} | ${r.checkpoints} | ${r.similarity} | ${ci(r.top1)} | ${ci(r.mrr)} | ${f(r.uniqueTop1)} / ${f(r.uniqueMrr)} | ${f(r.chance.top1)} / ${f(r.chance.mrr)} | ${r.cfTop1 === null ? "–" : f(r.cfTop1)} | ${r.lds ? ci(r.lds) : "–"} | ${r.sketchSeconds.toFixed(1)} | ${r.outputSeconds.toFixed(1)} |`),
  "",
  promptIsCounterfactualTop === null ? "" : `Counterfactual top: for each output, the account whose presence in a retrained half raised the output's loss reduction most (mean over halves holding it − mean over halves without it, ${lds!.subsets.length} halves). The prompt's own contributor is that account for ${promptIsCounterfactualTop} of ${outputs.length} outputs (chance ≈ ${f(outputs.reduce((a, x) => a + x.truths.length / candidates, 0))} of ${outputs.length}).`,
  "",
  `Time: ${((performance.now() - started) / 1000).toFixed(0)} s in all.`,
];
const markdown = lines.join("\n");
console.log(markdown);
await mkdir(dirname(values.out!), { recursive: true });
await writeFile(values.out!, markdown + "\n");
await writeFile(values.out!.replace(/\.md$/, ".json"), JSON.stringify({ verdict, evaluation, results }, null, 2));
log(`wrote ${values.out}`);
