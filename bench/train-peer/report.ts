import { describeBreakdown, type StepBreakdown } from "./breakdown.ts";
import { describeConfig, type PeerConfig, type RoundResult, type RunSettings } from "./configs.ts";
import { median } from "./median.ts";
import type { TorchParity } from "./torch-side.ts";

/** Both sides' rounds for one configuration; `torch` is null when PyTorch was unavailable. */
export interface ConfigOutcome {
  config: PeerConfig;
  settings: RunSettings;
  ours: RoundResult[];
  torch: RoundResult[] | null;
}

export interface ReportContext {
  date: string;
  backend: string;
  /** What ran the PyTorch side, or why it did not run. */
  torch: string;
  threads: number;
  warmup: number;
  rounds: number;
  /** The peer checked against Hugging Face's golden outputs; null without PyTorch. */
  parity: TorchParity | null;
}

/** The issue's goal: our throughput at least half of PyTorch's. */
export const GOAL_RATIO = 0.5;

/** Tokens per second of one side: B·T over the median step time across every timed step of every round. */
export function tokensPerSecond(config: PeerConfig, rounds: readonly RoundResult[]): number {
  return (config.B * config.T) / median(rounds.flatMap((r) => r.stepSeconds));
}

/** Ours / PyTorch, or null without a PyTorch side. */
export function ratio(outcome: ConfigOutcome): number | null {
  return outcome.torch ? tokensPerSecond(outcome.config, outcome.ours) / tokensPerSecond(outcome.config, outcome.torch) : null;
}

/**
 * Ours / PyTorch from each side's fastest round: on a shared machine the least disturbed round is
 * the closest to what each side can do alone, so this bounds the noise in `ratio`.
 */
export function bestRoundRatio(outcome: ConfigOutcome): number | null {
  const best = (rounds: readonly RoundResult[]) => Math.max(...rounds.map((r) => (outcome.config.B * outcome.config.T) / median(r.stepSeconds)));
  return outcome.torch ? best(outcome.ours) / best(outcome.torch) : null;
}

/** Per-round tokens/s, in round order, for the console and the report ("1234 / 1180 / 1302"). */
export function perRound(config: PeerConfig, rounds: readonly RoundResult[]): string {
  return rounds.map((r) => ((config.B * config.T) / median(r.stepSeconds)).toFixed(0)).join(" / ");
}

export function markdownReport(context: ReportContext, outcomes: readonly ConfigOutcome[], breakdowns: readonly StepBreakdown[] = []): string {
  const lines = [
    "## Training: LoRA fine-tuning throughput against PyTorch on CPU",
    "",
    `Measured by \`node bench/train-peer/run.ts\` on ${context.date}: ours = the engine's Trainer on backend \`${context.backend}\`; ` +
      `PyTorch = ${context.torch}. Both with ${context.threads} threads, ` +
      "training only the LoRA factors (base frozen) with the same step: forward, mean cross-entropy, backward, global-norm clip 1, AdamW. " +
      "PyTorch runs with OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = threads and OMP_WAIT_POLICY=PASSIVE: Debian's build does element-wise ops " +
      "on OpenMP and matmuls on OpenBLAS's own threads, and with OpenMP's default spin-waiting the two pools fight for the cores (5-10× slower on 2 cores).",
    `Each round runs ${context.warmup} untimed steps and then the timed ones per side on random tokens, the sides alternating ` +
      `(ours, PyTorch, ours, PyTorch...) over ${context.rounds} rounds so machine noise hits both alike. ` +
      "Tokens/s = B·T / the median step time over all timed steps; the best-round ratio compares each side's fastest round " +
      "(the least disturbed by other processes on a shared machine).",
    ...(context.parity ? [
      `The PyTorch peer is checked first against Hugging Face's LlamaForCausalLM + PEFT golden outputs (the engine's parity fixture ` +
        `${context.parity.fixture.split("/").slice(-1)[0]}): ${context.parity.compared} tensors (logits, loss, every LoRA gradient) agree to ` +
        `${context.parity.worstRelativeError.toExponential(1)} relative error.`,
    ] : []),
    "",
    "| config | shapes | timed steps per round | ours tokens/s | PyTorch tokens/s | ours / PyTorch | best-round ratio | ours per round | PyTorch per round |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
  ];
  for (const outcome of outcomes) {
    const { config, ours, torch } = outcome;
    const r = ratio(outcome);
    const best = bestRoundRatio(outcome);
    lines.push(`| ${config.name} | ${describeConfig(config)} | ${outcome.settings.steps} | ${tokensPerSecond(config, ours).toFixed(0)} | ` +
      `${torch ? tokensPerSecond(config, torch).toFixed(0) : "n/a"} | ${r === null ? "n/a" : r.toFixed(2)} | ${best === null ? "n/a" : best.toFixed(2)} | ` +
      `${perRound(config, ours)} | ${torch ? perRound(config, torch) : "n/a"} |`);
  }
  lines.push("");
  const ratios = outcomes.map((o) => [o.config.name, ratio(o)] as const);
  lines.push(ratios.every(([, r]) => r === null)
    ? `Goal ours / PyTorch ≥ ${GOAL_RATIO}: not measured (PyTorch ${context.torch}).`
    : `Goal ours / PyTorch ≥ ${GOAL_RATIO}: ${ratios.map(([name, r]) => `${name} ${r === null ? "n/a" : `${r.toFixed(2)} ${r >= GOAL_RATIO ? "(met)" : "(not met)"}`}`).join(", ")}.`);
  lines.push("");
  if (breakdowns.length > 0) {
    lines.push("Our step broken down (a separate run of our side whose backend times every matmul; the rest is TypeScript on the calling thread):", "", "```");
    for (const breakdown of breakdowns) lines.push(...describeBreakdown(breakdown));
    lines.push("```", "");
  }
  return lines.join("\n");
}
