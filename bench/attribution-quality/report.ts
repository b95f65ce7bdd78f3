/** The benchmark's results as a console table and as the markdown section merged into docs/benchmarks.md. */
import { METHODS, type Method } from "./attribute-output.ts";
import type { QualityMetrics } from "./quality-metrics.ts";
import { MIN_SPAN_LENGTH, type TrialOptions, type TrialResult } from "./trial.ts";

export interface BenchmarkReport {
  date: string;
  machine: string;
  options: Omit<TrialOptions, "seed" | "log"> & { seeds: number[] };
  trials: TrialResult[];
  /** The headline threshold on the top contributor's share. */
  threshold: number;
  /** Pooled over the trials, with the unrelated outputs being the model's continuations ("generated") or the unrelated text itself ("text"). */
  byThreshold: { threshold: number; generated: Record<Method, QualityMetrics>; text: Record<Method, QualityMetrics> }[];
  /** Each trial's own metrics at the headline threshold (unrelated = generated). */
  perTrial: Record<Method, QualityMetrics>[];
  seconds: number;
}

export const GOAL = { precision: 0.95, recall: 0.9 };
const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const meets = (m: QualityMetrics) => m.precision >= GOAL.precision && m.recall >= GOAL.recall;

function table(header: readonly string[], rows: readonly string[][]): string {
  return [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

function headline(report: BenchmarkReport) {
  return report.byThreshold.find((t) => t.threshold === report.threshold)!;
}

const HEADLINE_HEADER = [
  "method", "precision", "recall", "top-1 accuracy", "planted: median top share", "unrelated generated: median / max top share", "… ≥ threshold",
  "unrelated text: median / max top share", "… ≥ threshold", "strict precision", "goal met",
];

function headlineRows(report: BenchmarkReport): string[][] {
  const { generated, text } = headline(report);
  return METHODS.map((method) => {
    const g = generated[method];
    const t = text[method];
    return [
      method, `${f3(g.precision)} (${g.correct}/${g.predictions})`, `${f3(g.recall)} (${g.correct}/${g.planted})`, f3(g.top1Accuracy), f2(g.plantedTopShare.median),
      `${f2(g.unrelatedTopShare.median)} / ${f2(g.unrelatedTopShare.max)}`, `${g.unrelatedPredictions}/${g.unrelated}`,
      `${f2(t.unrelatedTopShare.median)} / ${f2(t.unrelatedTopShare.max)}`, `${t.unrelatedPredictions}/${t.unrelated}`,
      f3(g.strictPrecision), meets(g) ? "yes" : "no",
    ];
  });
}

const TRIAL_HEADER = [
  "seed", "training steps", "loss first → last 10", "training time", "tok/s", "exact reproductions", "combined P / R", "span P / R", "gradient P / R", "gradient top-1",
];

function trialRows(report: BenchmarkReport): string[][] {
  return report.trials.map((trial, i) => {
    const m = report.perTrial[i];
    const pr = (q: QualityMetrics) => `${f2(q.precision)} / ${f2(q.recall)}`;
    return [
      String(trial.seed), String(trial.training.steps), `${f2(trial.training.firstLoss)} → ${f3(trial.training.finalLoss)}`, `${trial.training.seconds.toFixed(1)} s`,
      String(Math.round(trial.training.tokensPerSecond)), `${trial.memorization.exact}/${trial.memorization.total}`,
      pr(m.combined), pr(m.span), pr(m.gradient), f2(m.gradient.top1Accuracy),
    ];
  });
}

const SWEEP_HEADER = ["threshold", "method", "precision", "recall", "unrelated generated ≥ threshold", "unrelated text ≥ threshold"];

function sweepRows(report: BenchmarkReport): string[][] {
  return report.byThreshold.flatMap(({ threshold, generated, text }) => METHODS.map((method) => [
    f2(threshold), method, f3(generated[method].precision), f3(generated[method].recall),
    `${generated[method].unrelatedPredictions}/${generated[method].unrelated}`, `${text[method].unrelatedPredictions}/${text[method].unrelated}`,
  ]));
}

function unrelatedSpanFree(report: BenchmarkReport): boolean {
  return report.trials.every((t) => t.unrelatedGeneratedLongestSpan.every((s) => s === 0));
}

function copyingSummary(report: BenchmarkReport): string {
  const spans = report.trials.flatMap((t) => t.unrelatedGeneratedLongestSpan);
  const copying = spans.filter((s) => s > 0).length;
  return `${copying}/${spans.length} of the model's continuations of unrelated prompts contain a Datanet span of ${MIN_SPAN_LENGTH}+ tokens` +
    (copying ? ` (longest ${Math.max(...spans)})` : "");
}

const MISSES_LISTED = 5;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function missSummary(report: BenchmarkReport): string {
  const misses = report.trials.flatMap((t) => t.misses.map((m) => ({ seed: t.seed, ...m })));
  if (misses.length === 0) return "Every planted prompt was credited to its owner by the combined attribution.";
  const total = report.trials[0].memorization.outputTokens;
  const listed = misses.slice(0, MISSES_LISTED).map((m) => `seed ${m.seed} passage ${m.passage} (${m.copied}/${total} tokens reproduced, ` +
    `longest Datanet span ${m.longestSpan}; top share ${METHODS.map((method) => `${method} ${f2(m.top[method].share)}${m.top[method].owner ? " owner" : " other"}`).join(", ")})`);
  const more = misses.length > MISSES_LISTED ? `; and ${misses.length - MISSES_LISTED} more` : "";
  return `Planted prompts the combined attribution missed (${misses.length}): ${listed.join("; ")}${more}.`;
}

function timeSummary(report: BenchmarkReport): string {
  const t = report.trials;
  return `${report.seconds.toFixed(0)} s for ${plural(t.length, "trial")}: training ${sum(t.map((x) => x.training.seconds)).toFixed(0)} s, generation ` +
    `${sum(t.map((x) => x.seconds.generation)).toFixed(1)} s, projected gradients ${sum(t.map((x) => x.seconds.gradients)).toFixed(0)} s, attribution ` +
    `${sum(t.map((x) => x.seconds.attribution)).toFixed(2)} s`;
}

export function renderConsoleReport(report: BenchmarkReport): string {
  return [
    "",
    table(TRIAL_HEADER, trialRows(report)),
    "",
    copyingSummary(report),
    missSummary(report),
    `pooled over ${plural(report.trials.length, "seed")}, threshold ${report.threshold}; goal precision >= ${GOAL.precision} at recall >= ${GOAL.recall}`,
    "",
    table(HEADLINE_HEADER, headlineRows(report)),
    "",
    table(SWEEP_HEADER, sweepRows(report)),
    "",
    `time: ${timeSummary(report)}`,
  ].join("\n");
}

/** One markdown paragraph from sentences, left unwrapped (renderers wrap; diffs stay per paragraph). */
const paragraph = (...sentences: string[]) => sentences.join(" ");

export function renderMarkdownReport(report: BenchmarkReport): string {
  const o = report.options;
  const first = report.trials[0];
  const { generated } = headline(report);
  const planted = o.contributors * o.uniquePerContributor;
  const outputTokens = o.passageTokens - o.promptTokens;
  return [
    "## Attribution quality with planted evidence",
    paragraph(`\`node bench/attribution-quality/run.ts\` (seeds ${o.seeds.join(", ")}), ${report.date.slice(0, 10)}, ${report.machine}.`),
    paragraph(
      `**Setup, per seed.** A Datanet of ${o.contributors} contributors (distinct accounts), each holding ${o.uniquePerContributor} unique passages, among ${o.filler} filler passages that every contributor contributed a copy of:`,
      `${first.datanet.contributions} contributions, one training example and one index document each (${first.datanet.indexTokens} indexed tokens).`,
      `Passages are ${o.passageTokens} tokens of real English from the corpus held-out split (project tokenizer, 4096 ids), cut at sentence starts; no two share a ${MIN_SPAN_LENGTH}-gram, so the planted evidence is unambiguous.`,
      `Base model: ${first.base.replace(/, seed \d+/, "")}${/^random/.test(first.base) ? ", seeded per trial (a random base keeps the measurement free of anything a pretrained model already knows; \`--base models/tributary-base-v0\` runs it on the project's base model)" : ""}.`,
      `Adapter: LoRA ${first.lora}, trained with the engine's Trainer (AdamW, lr ${o.learningRate} with warm-up and cosine decay to a tenth, batch ${o.batchSize} × ${o.passageTokens} tokens) for ${o.steps} steps.`,
      `TracIn checkpoints after steps ${first.training.checkpoints.map((c) => c.step).join(", ")}; per-example and output LoRA gradients projected to ${o.dims} dimensions by the ${o.projection} projection (\`buildGradientSketch\` / \`outputGradients\`, the node's own API).`,
    ),
    paragraph(
      `**Outputs.** The adapter is prompted with the first ${o.promptTokens} tokens of each unique passage (${planted} planted prompts per seed) and its greedy ${outputTokens}-token continuation is generated (KV-cached \`BatchedDecoder\`).`,
      `Unrelated outputs: ${o.unrelated} prompts per seed from the corpus control split (text outside the Datanet, no shared ${MIN_SPAN_LENGTH}-gram), with the model's greedy continuation ("generated") and with the text's own continuation ("text") as the output.`,
      `${copyingSummary(report)}.`,
    ),
    paragraph(
      `**Scoring.** Each output is attributed by span matching only, by TracIn only, and by both (\`attribute\`, mix ${o.mixPpm / 1e4} % span: the record a node publishes, checked with \`validateRecord\`).`,
      `Weights are summed per contributor account; a prediction is made when the top contributor's share is **≥ ${report.threshold}**.`,
      "Precision = correct predictions / predictions, recall = correct predictions / planted prompts; strict precision also counts every prediction on an unrelated generated output as wrong.",
    ),
    table(TRIAL_HEADER, trialRows(report)),
    `Pooled over ${plural(report.trials.length, "seed")} (${planted * report.trials.length} planted prompts, ${o.unrelated * report.trials.length} unrelated prompts):`,
    table(HEADLINE_HEADER, headlineRows(report)),
    missSummary(report),
    paragraph(
      `**Reading.** Goal (precision ≥ ${GOAL.precision} at recall ≥ ${GOAL.recall}) for the combined attribution: precision ${f3(generated.combined.precision)}, recall ${f3(generated.combined.recall)}, **${meets(generated.combined) ? "met" : "not met"}**.`,
      `Span evidence credits a planted passage's owner alone when the output copies it (median top share ${f2(generated.span.plantedTopShare.median)}) and finds nothing in unrelated outputs.`,
      `TracIn alone ranks the owner first on ${f3(generated.gradient.top1Accuracy)} of planted outputs but spreads its weight (median top share ${f2(generated.gradient.plantedTopShare.median)} on planted outputs against ${f2(generated.gradient.unrelatedTopShare.median)} on unrelated ones), because every other contribution with positive influence keeps a share: at this threshold it predicts on ${generated.gradient.predictions}/${generated.gradient.planted} planted outputs.`,
      `${unrelatedSpanFree(report) ? "Unrelated outputs have no span evidence, so only their gradients attribute them" : "Some unrelated outputs copy Datanet spans"}; their top share is at most ${f2(generated.combined.unrelatedTopShare.max)} (generated) and ${f2(headline(report).text.combined.unrelatedTopShare.max)} (text).`,
    ),
    "Threshold sweep (pooled):",
    table(SWEEP_HEADER, sweepRows(report)),
    `Time: ${timeSummary(report)}.`,
    "",
  ].join("\n\n");
}
