/** The benchmark's results as the markdown section merged into docs/benchmarks.md (and printed). */
import { METHODS, type Method } from "./attribute-output.ts";
import type { LdsResult } from "./lds-experiment.ts";
import type { QualityMetrics } from "./quality-metrics.ts";
import type { RankingMetrics } from "./ranking-metrics.ts";
import { KINDS, rankingByMethod, thresholdByMethod, type AttributedOutput, type OutputKind, type RegimeResult } from "./regime.ts";
import type { SpanScaleResult } from "./span-scale.ts";

export const GOALS = { copiedTop1: 0.9, unrelatedCrossing: 0.05 };

export interface BenchmarkReport {
  command: string;
  date: string;
  machine: string;
  setup: string;
  threshold: number;
  regimes: RegimeResult[];
  lds: { regime: string; result: LdsResult } | null;
  scale: SpanScaleResult | null;
  seconds: number;
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "–");
const pct = (k: number, n: number) => `${k}/${n} (${n ? ((100 * k) / n).toFixed(1) : "–"} %)`;
function table(header: readonly string[], rows: readonly string[][]): string {
  return [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}
const ofKind = (outputs: readonly AttributedOutput[], source: AttributedOutput["source"], kind: OutputKind) => outputs.filter((x) => x.source === source && x.kind === kind);

function rankingRows(label: string, outputs: readonly AttributedOutput[], candidates: number, methods: readonly Method[]): string[][] {
  const rows: string[][] = [];
  for (const source of ["generated", "text"] as const) {
    for (const kind of KINDS.filter((k) => k !== "unrelated")) {
      const list = ofKind(outputs, source, kind);
      if (!list.length) continue;
      const byMethod = rankingByMethod(list, candidates);
      const copied = source === "generated" ? `${list.filter((x) => x.copied === x.tokens.length).length}/${list.length}` : "text";
      const spans = list.map((x) => x.longestSpan).sort((a, b) => a - b)[list.length >> 1];
      for (const m of methods) {
        const r: RankingMetrics = byMethod[m];
        rows.push([label, source, kind, copied, String(spans), m, String(r.outputs), String(r.abstentions), f3(r.top1Accuracy), f3(r.meanReciprocalRank), f3(r.recallAtTruths), `${f3(r.chance.top1Accuracy)} / ${f3(r.chance.meanReciprocalRank)}`]);
      }
    }
  }
  return rows;
}

/** Of the unrelated outputs over the threshold, how many copy Datanet content (the model regurgitating it: crediting its owner is then right). */
function crossingCopies(unrelated: readonly AttributedOutput[], m: Method, threshold: number): string {
  const crossing = unrelated.filter((x) => Math.max(0, ...x.shares[m].values()) >= threshold);
  return `${crossing.filter((x) => x.copiesContent).length} copy content (all unrelated: ${unrelated.filter((x) => x.copiesContent).length}/${unrelated.length})`;
}

function thresholdRows(label: string, outputs: readonly AttributedOutput[], threshold: number, methods: readonly Method[]): string[][] {
  const rows: string[][] = [];
  for (const source of ["generated", "text"] as const) {
    const attributable = outputs.filter((x) => x.source === source && x.kind !== "unrelated");
    const unrelated = outputs.filter((x) => x.source === source && x.kind === "unrelated");
    if (!attributable.length) continue;
    const byMethod = thresholdByMethod(attributable, unrelated, threshold);
    for (const m of methods) {
      const q: QualityMetrics = byMethod[m];
      rows.push([
        label, source, m, q.precision === null ? "undefined (no prediction)" : `${f3(q.precision)} (${q.correct}/${q.predictions})`, `${f3(q.recall)} (${q.correct}/${q.planted})`,
        String(q.abstentions), `${pct(q.unrelatedPredictions, q.unrelated)}; ${crossingCopies(unrelated, m, threshold)}`, `${f2(q.unrelatedTopShare.median)} / ${f2(q.unrelatedTopShare.max)}`,
        q.unrelatedCrossingRate <= GOALS.unrelatedCrossing ? "yes" : "**no**",
      ]);
    }
  }
  return rows;
}

/** Wilson score interval for k of n at 95 % (the binomial interval that stays inside [0, 1] and behaves at k = 0). */
export function wilsonInterval(k: number, n: number): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 };
  const z = 1.959964;
  const p = k / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** The threshold view at each method's calibrated threshold (strictly above it predicts). */
function calibratedRows(g: RegimeResult): string[][] {
  const rows: string[][] = [];
  for (const source of ["generated", "text"] as const) {
    const attributable = g.outputs.filter((x) => x.source === source && x.kind !== "unrelated");
    const unrelated = g.outputs.filter((x) => x.source === source && x.kind === "unrelated");
    if (!attributable.length) continue;
    const thresholds = Object.fromEntries(METHODS.map((m) => [m, g.calibration[m].threshold])) as Record<Method, number>;
    const byMethod = thresholdByMethod(attributable, unrelated, thresholds, true);
    for (const m of METHODS) {
      const q = byMethod[m];
      const c = g.calibration[m];
      const ci = wilsonInterval(q.unrelatedPredictions, q.unrelated);
      rows.push([
        g.name, source, m, `${f3(c.threshold)} (null quantile ${f3(c.quantile)}; median ${f2(c.median)}, max ${f2(c.max)})`,
        q.precision === null ? "undefined (no prediction)" : `${f3(q.precision)} (${q.correct}/${q.predictions})`, `${f3(q.recall)} (${q.correct}/${q.planted})`,
        `${pct(q.unrelatedPredictions, q.unrelated)} [${(100 * ci.low).toFixed(1)}, ${(100 * ci.high).toFixed(1)}] %`,
        q.unrelatedCrossingRate <= GOALS.unrelatedCrossing ? "yes" : "**no**",
      ]);
    }
  }
  return rows;
}

export function renderMarkdownReport(r: BenchmarkReport): string {
  const lines: string[] = [];
  lines.push("## Attribution quality: templates, near-duplicates, mixed sources, non-memorizing adapters, LDS", "");
  lines.push(`\`${r.command}\`, ${r.date.slice(0, 10)}, ${r.machine}.`, "");
  lines.push(r.setup, "");
  lines.push("**Regimes** (the training job's evaluation report, `evaluateAdapter`, on held-out templated passages and control text; memorization = greedy continuation of a training prefix copies 16 tokens verbatim; verdict: memorized at ≥ 50 %, else specialized when the held-out loss drops):", "");
  lines.push(table(["regime", "steps (epochs)", "train loss first → last", "held-out loss base → adapter", "control loss base → adapter", "memorized", "verdict", "training time"], r.regimes.map((g) => [
    g.name, `${g.steps} (${g.epochs.toFixed(1)})`, `${f3(g.training.firstLoss)} → ${f3(g.training.finalLoss)}`,
    `${f3(g.evaluation.base.loss)} → ${f3(g.evaluation.adapter.loss)}`, g.evaluation.control ? `${f3(g.evaluation.control.base.loss)} → ${f3(g.evaluation.control.adapter.loss)}` : "–",
    `${g.evaluation.memorization!.memorized}/${g.evaluation.memorization!.sampled}`, g.verdict, `${g.seconds.training.toFixed(0)} s`,
  ])), "");
  lines.push("**Ranking (threshold-free).** Per output, accounts ranked by their summed share; the true account's rank counts ties against it; an output with no evidence at all is an abstention and scores 0. Mixed and near-duplicate outputs have two true accounts: top-1 counts either, recall@2 asks for both in the first two places. \"copied\": generated outputs that reproduce their reference exactly; \"median longest span\": tokens of the output's longest Datanet match.", "");
  const rankingHeader = ["regime", "output", "kind", "copied", "median longest span", "method", "outputs", "abstentions", "top-1", "MRR", "recall@truths", "chance top-1 / MRR"];
  lines.push(table(rankingHeader, r.regimes.flatMap((g) => rankingRows(g.name, g.outputs, g.contributors, METHODS))), "");
  lines.push(`**Threshold view** (a prediction when the top account's share is ≥ ${r.threshold}; precision is undefined when no prediction is made; abstentions = attributable outputs below the threshold; unrelated outputs — prompts and text from outside the Datanet, ending in the shared footer — over the threshold are false positives, goal ≤ ${GOALS.unrelatedCrossing * 100} %):`, "");
  lines.push(table(["regime", "output", "method", "precision", "recall", "abstentions", "unrelated ≥ threshold; of those, copying Datanet content", "unrelated top share median / max", "≤ 5 %"], r.regimes.flatMap((g) => thresholdRows(g.name, g.outputs, r.threshold, METHODS))), "");
  const c0 = r.regimes[0]?.calibration.combined;
  if (c0) {
    lines.push(`**Calibrated thresholds** (null-calibration.ts): per model and method, the threshold is the split-conformal quantile of the top account shares of the adapter's continuations of ${c0.outputs} prompts known to be unrelated (general text from documents neither in the Datanet nor among the unrelated outputs below): the ${c0.rank}-th smallest of ${c0.outputs}, so an exchangeable unrelated output exceeds it with probability ≤ ${f3(c0.bound)} (target ${c0.falsePositiveRate}). A prediction is a top share strictly above it and above a strict majority (0.5: a prediction names one contributor; without this floor a method whose null outputs have no evidence at all, span on plain text, would predict on any shared boilerplate). The benchmark's unrelated outputs (other documents, the Datanet's header and footer around them) are then counted against it, with a 95 % Wilson interval:`, "");
    lines.push(table(["regime", "output", "method", "calibrated threshold", "precision", "recall", "unrelated > threshold [95 % CI]", "≤ 5 %"], r.regimes.flatMap(calibratedRows)), "");
  }
  if (r.lds) {
    const l = r.lds.result;
    lines.push(`**Linear datamodeling score** (regime ${r.lds.regime}): ${l.subsets} adapters retrained from scratch on random halves of the contributors (same recipe and epochs: ${l.stepsPerSubset} steps each, same seed); for each of ${l.outputs} outputs (generated continuations of unique and near-duplicate prompts, and the mixed texts) the loss reduction against the base model under each half is correlated (Spearman, over the halves) with the sum of the method's attribution over the half's accounts; LDS is the mean over outputs (an output a method gives no evidence for counts 0), with a 95 % percentile bootstrap interval over outputs (2000 resamples). Mean standard deviation of the real loss reductions across halves: ${f3(l.actualSpread)} nats.`, "");
    lines.push(table(["method", "LDS", "95 % CI", "outputs without evidence"], METHODS.map((m) => {
      const s = l.byMethod[m];
      return [m, f3(s.lds), `[${f3(s.interval.low)}, ${f3(s.interval.high)}]`, `${s.undefinedOutputs}/${l.outputs}`];
    })), "");
  }
  if (r.scale) {
    const s = r.scale;
    lines.push(`**Scale (span only)**: ${s.contributions} contributions of ${s.contributors} contributors with the same templates, contents from the base model's training split (${s.indexTokens} indexed tokens; index built in ${s.seconds.index.toFixed(1)} s, ${s.outputs.length} outputs attributed in ${s.seconds.attribution.toFixed(1)} s). Outputs are the texts' own continuations.`, "");
    lines.push(table(rankingHeader, rankingRows("scale", s.outputs, s.contributors, ["span"])), "");
    lines.push(table(["regime", "output", "method", "precision", "recall", "abstentions", "unrelated ≥ threshold; of those, copying Datanet content", "unrelated top share median / max", "≤ 5 %"], thresholdRows("scale", s.outputs, r.threshold, ["span"])), "");
  }
  lines.push("**Goals.**", "");
  for (const g of r.regimes) {
    const unique = ofKind(g.outputs, "generated", "unique");
    const copied = unique.filter((x) => x.copied === x.tokens.length);
    const rank = rankingByMethod(copied.length ? copied : unique, g.contributors).combined;
    const all = rankingByMethod(unique, g.contributors);
    lines.push(`- ${g.name} (${g.verdict}): combined top-1 on ${copied.length} copied generated outputs ${copied.length ? f3(rank.top1Accuracy) : "– (none copied)"} (goal ≥ ${GOALS.copiedTop1}: ${copied.length && rank.top1Accuracy >= GOALS.copiedTop1 ? "met" : "not met"}); on all ${unique.length} unique generated outputs top-1 span ${f3(all.span.top1Accuracy)}, gradient ${f3(all.gradient.top1Accuracy)}, combined ${f3(all.combined.top1Accuracy)} against chance ${f3(all.combined.chance.top1Accuracy)}.`);
  }
  lines.push("", `Time: ${r.seconds.toFixed(0)} s in all (${r.regimes.map((g) => `${g.name}: training ${g.seconds.training.toFixed(0)} s, gradients ${g.seconds.gradients.toFixed(0)} s`).join("; ")}${r.lds ? `; LDS ${r.lds.result.seconds.toFixed(0)} s` : ""}).`);
  return `${lines.join("\n")}\n`;
}
