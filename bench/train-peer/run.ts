/**
 * LoRA training peer benchmark: `node bench/train-peer/run.ts [--rounds N] [--steps N (default: per config)] [--warmup N]
 * [--threads N] [--configs small,tiny] [--python /usr/bin/python3] [--out bench/out/train-peer.md] [--no-breakdown]`.
 *
 * Trains the same LoRA configuration with our engine (Trainer on the fast backend) and with PyTorch
 * on CPU (torch_lora.py, Debian's python3-torch), same threads, alternating the two sides round by
 * round in one run, and reports tokens/s of each and the ratio ours / PyTorch (goal ≥ 0.5).
 * Without PyTorch it says so and still reports our side. Then, unless --no-breakdown, one more run
 * of our side through a timing backend splits our step into matmul time by shape and the rest.
 * Results are printed and written to --out.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../../nodes/src/engine/backend/create-backend.ts";
import { describeBreakdown, measureBreakdown, type StepBreakdown } from "./breakdown.ts";
import { describeConfig, PEER_CONFIGS, type PeerConfig, type RoundResult, type RunSettings } from "./configs.ts";
import { OurTrainingSide } from "./ours.ts";
import { bestRoundRatio, markdownReport, perRound, ratio, tokensPerSecond, type ConfigOutcome } from "./report.ts";
import { TorchTrainingSide, TorchUnavailableError, type TorchParity } from "./torch-side.ts";

/** A command-line option that cannot work, naming it. */
class BenchArgumentError extends Error {
  override name = "BenchArgumentError";
  readonly details: { option: string; value: string };

  constructor(option: string, value: string, reason: string) {
    super(`--${option}=${value}: ${reason}`);
    this.details = { option, value };
  }
}

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    steps: { type: "string" },
    warmup: { type: "string", default: "2" },
    threads: { type: "string", default: "2" },
    configs: { type: "string", default: PEER_CONFIGS.map((c) => c.name).join(",") },
    python: { type: "string", default: "/usr/bin/python3" },
    out: { type: "string", default: "bench/out/train-peer.md" },
    breakdown: { type: "boolean", default: true },
  },
  allowNegative: true,
});

function parseInteger(option: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new BenchArgumentError(option, text, `must be an integer ≥ ${min}`);
  return value;
}

function selectedConfigs(): PeerConfig[] {
  return args.configs.split(",").map((name) => {
    const config = PEER_CONFIGS.find((c) => c.name === name.trim());
    if (!config) throw new BenchArgumentError("configs", args.configs, `"${name}" is not one of ${PEER_CONFIGS.map((c) => c.name).join(", ")}`);
    return config;
  });
}

function summary(config: PeerConfig, side: string, rounds: readonly RoundResult[]): string {
  return `  ${side.padEnd(8)} ${tokensPerSecond(config, rounds).toFixed(0).padStart(6)} tokens/s  (per round ${perRound(config, rounds)}; last loss ${rounds.at(-1)!.loss.toFixed(3)})`;
}

async function main(): Promise<void> {
  const rounds = parseInteger("rounds", args.rounds, 1);
  const stepsOverride = args.steps === undefined ? null : parseInteger("steps", args.steps, 1);
  const warmup = parseInteger("warmup", args.warmup, 0);
  const threads = parseInteger("threads", args.threads, 1);
  const configs = selectedConfigs();

  let torch: TorchTrainingSide | null = null;
  let torchLabel: string;
  let parity: TorchParity | null = null;
  try {
    torch = await TorchTrainingSide.open(args.python);
    torchLabel = `torch_lora.py on PyTorch ${torch.version} (${args.python})`;
    parity = await torch.checkParity();
    console.log(`PyTorch peer matches Hugging Face on ${parity.fixture}: ${parity.compared} tensors, worst relative error ${parity.worstRelativeError.toExponential(1)} (${parity.worst})`);
  } catch (error) {
    if (!(error instanceof TorchUnavailableError)) throw error;
    console.log(`NOTE: ${error.message}\nReporting our side only.`);
    torchLabel = `not run (${error.details.reason})`;
  }
  const backend = await createBackend({ threads });
  console.log(`ours: backend ${backend.name}; peer: ${torchLabel}; ${threads} threads; ${rounds} rounds of ${warmup} warm-up + the timed steps`);

  const outcomes: ConfigOutcome[] = [];
  const breakdowns: StepBreakdown[] = [];
  try {
    for (const config of configs) {
      const settings: RunSettings = { steps: stepsOverride ?? config.steps, warmup, threads, learningRate: 1e-3 };
      console.log(`${config.name}: ${describeConfig(config)}; ${settings.steps} timed steps per round`);
      const ours = new OurTrainingSide(config, backend);
      const outcome: ConfigOutcome = { config, settings, ours: [], torch: torch ? [] : null };
      for (let round = 0; round < rounds; round++) {
        outcome.ours.push(await ours.train(settings));
        if (torch) outcome.torch!.push(await torch.train(config, settings));
      }
      console.log(summary(config, "ours", outcome.ours));
      if (outcome.torch) console.log(summary(config, "PyTorch", outcome.torch));
      const r = ratio(outcome);
      const best = bestRoundRatio(outcome);
      console.log(`  ours / PyTorch ${r === null || best === null ? "n/a (no PyTorch)" : `${r.toFixed(2)} (best rounds ${best.toFixed(2)})`}`);
      outcomes.push(outcome);
    }
    if (args.breakdown) {
      console.log("our step, broken down (one more run through a timing backend):");
      for (const { config, settings } of outcomes) {
        const breakdown = await measureBreakdown(config, backend, settings);
        for (const line of describeBreakdown(breakdown)) console.log(`  ${line}`);
        breakdowns.push(breakdown);
      }
    }
  } finally {
    await backend.dispose();
  }

  const markdown = markdownReport({ date: new Date().toISOString().slice(0, 10), backend: backend.name, torch: torchLabel, threads, warmup, rounds, parity }, outcomes, breakdowns);
  const out = resolve(args.out);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, markdown);
  console.log(`wrote ${args.out}`);
}

await main();
