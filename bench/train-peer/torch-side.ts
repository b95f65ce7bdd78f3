import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { PeerConfig, RoundResult, RunSettings } from "./configs.ts";

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL("./torch_lora.py", import.meta.url));
const PARITY_SCRIPT = fileURLToPath(new URL("./check_torch_parity.py", import.meta.url));

/** check_torch_parity.py's verdict: torch_lora.py against Hugging Face's golden outputs. */
export interface TorchParity {
  fixture: string;
  compared: number;
  worst: string;
  worstRelativeError: number;
  tolerance: number;
}

/** PyTorch cannot be imported by the given Python; `reason` says what happened and how to fix it. */
export class TorchUnavailableError extends Error {
  override name = "TorchUnavailableError";
  readonly details: { python: string; reason: string };

  constructor(python: string, reason: string) {
    super(`PyTorch is not available to ${python}: ${reason}. Install Debian's CPU build with \`apt-get install -y python3-torch\` (and use /usr/bin/python3, which sees Debian's packages).`);
    this.details = { python, reason };
  }
}

/** A PyTorch-side script failed, printed something that is not its result, or ran differently than asked. */
export class TorchRunError extends Error {
  override name = "TorchRunError";
  readonly details: { script: string; config: string; exitCode: number | null; stderr: string };

  constructor(script: string, config: string, message: string, exitCode: number | null, stderr: string) {
    super(`${script} (${config}) ${message}${stderr ? `; stderr: ${stderr.trim().split("\n").slice(-5).join(" | ")}` : ""}`);
    this.details = { script, config, exitCode, stderr };
  }
}

/**
 * The PyTorch peer: torch_lora.py in a child process, one process per round, with the same threads
 * as ours (the script sizes torch's thread pools itself, before importing torch).
 */
export class TorchTrainingSide {
  private readonly python: string;
  readonly version: string;

  private constructor(python: string, version: string) {
    this.python = python;
    this.version = version;
  }

  /** Checks that `python` imports torch; throws TorchUnavailableError saying why not. */
  static async open(python: string): Promise<TorchTrainingSide> {
    try {
      const { stdout } = await run(python, ["-c", "import torch; print(torch.__version__)"], { timeout: 120_000 });
      return new TorchTrainingSide(python, stdout.trim());
    } catch (error) {
      const failure = error as NodeJS.ErrnoException & { stderr?: string };
      const reason = failure.code === "ENOENT"
        ? "the interpreter does not exist"
        : (failure.stderr || failure.message).trim().split("\n").at(-1) || "import torch failed";
      throw new TorchUnavailableError(python, reason);
    }
  }

  /**
   * Runs check_torch_parity.py: the peer's logits, loss and LoRA gradients against HF's on the
   * engine's golden fixture. Throws TorchRunError when they differ: a peer that trains another
   * model would make the comparison meaningless.
   */
  async checkParity(): Promise<TorchParity> {
    let stdout: string;
    try {
      ({ stdout } = await run(this.python, [PARITY_SCRIPT], { timeout: 120_000 }));
    } catch (error) {
      const failure = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
      const verdict = failure.stdout?.trim() ? `differs from Hugging Face: ${failure.stdout.trim()}` : `failed (${failure.message.split("\n")[0]})`;
      throw new TorchRunError("check_torch_parity.py", "HF golden fixture", verdict, typeof failure.code === "number" ? failure.code : null, failure.stderr ?? "");
    }
    return JSON.parse(stdout) as TorchParity;
  }

  async train(config: PeerConfig, settings: RunSettings): Promise<RoundResult> {
    const { C, L, NH, NKV, F, V, T, B, r, alpha, targets, tied } = config;
    const json = JSON.stringify({
      C, L, NH, NKV, F, V, T, B, r, alpha, targets, tied,
      steps: settings.steps, warmup: settings.warmup, threads: settings.threads, lr: settings.learningRate,
    });
    let stdout: string;
    try {
      ({ stdout } = await run(this.python, [SCRIPT, json], { timeout: 600_000, maxBuffer: 1 << 20 }));
    } catch (error) {
      const failure = error as { code?: number | string; stderr?: string; message: string };
      throw new TorchRunError("torch_lora.py", config.name, `failed (${failure.message.split("\n")[0]})`, typeof failure.code === "number" ? failure.code : null, failure.stderr ?? "");
    }
    return parseResult(config.name, settings.threads, stdout);
  }
}

/** The script's JSON line, checked: the timed steps, the loss, and that torch really used `threads` threads. */
function parseResult(configName: string, threads: number, stdout: string): RoundResult {
  let result: unknown;
  try {
    result = JSON.parse(stdout.trim().split("\n").at(-1) ?? "");
  } catch {
    throw new TorchRunError("torch_lora.py", configName, `printed no JSON result: ${JSON.stringify(stdout.slice(-200))}`, 0, "");
  }
  const fields = (result ?? {}) as { stepSeconds?: unknown; loss?: unknown; threads?: unknown };
  const { stepSeconds, loss } = fields;
  if (!Array.isArray(stepSeconds) || stepSeconds.length === 0 || !stepSeconds.every((s) => typeof s === "number" && s > 0) || typeof loss !== "number") {
    throw new TorchRunError("torch_lora.py", configName, `printed a result without stepSeconds and loss: ${JSON.stringify(result).slice(0, 200)}`, 0, "");
  }
  if (fields.threads !== threads) {
    throw new TorchRunError("torch_lora.py", configName, `ran on ${JSON.stringify(fields.threads)} threads instead of ${threads}`, 0, "");
  }
  return { stepSeconds: stepSeconds as number[], loss };
}
