/**
 * `job ...`: the model builder's commands (the dApp's ModelFactory page, scriptable).
 *   create  check the hyper-parameters (a JSON file or a preset) before anything is paid, store them on IPFS through
 *           the node, approve the fee and create the training job on-chain
 *   watch   follow a node's server-sent progress for a job: phase, step, loss, tokens/s, ETA, until it ends
 */
import { readFile } from "node:fs/promises";
import { MultiBar, Presets, type SingleBar } from "cli-progress";
import { parseEventLogs } from "viem";
import { hyperparameterPreset, validateHyperparameters, type Hyperparameters } from "../jobs/hyperparameters.ts";
import { remainingPhases, type JobProgress } from "../jobs/pipeline.ts";
import type { ChainSession } from "./chain-session.ts";
import { parseId } from "./datanet.ts";
import { UsageError } from "./errors.ts";
import { NodeApiError, type NodeClient } from "./node-client.ts";
import { ensureFunds, formatTokens, parseTokens } from "./tokens.ts";

export interface JobCreateOptions {
  baseModel?: string;
  datanet?: string;
  version?: string;
  hyperparameters?: string;
  preset?: string;
  fee?: string;
  deadline?: string;
}

/** The document from `--hyperparameters <file>` or `--preset <name>` (default preset: standard), checked. */
export async function loadHyperparameters(options: { hyperparameters?: string; preset?: string }): Promise<Hyperparameters> {
  if (options.hyperparameters && options.preset) throw new UsageError("pass either --hyperparameters <file> or --preset <name>, not both");
  if (!options.hyperparameters) return hyperparameterPreset(options.preset ?? "standard");
  const text = await readFile(options.hyperparameters, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${options.hyperparameters} (${error.code ?? error.message})`);
  });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${options.hyperparameters} is not JSON: ${(error as Error).message}`);
  }
  return validateHyperparameters(value, `hyper-parameters in ${options.hyperparameters}`);
}

/** "2h", "30m", "3d", "600s" from the chain's current time, or a Unix timestamp. */
export function parseDeadline(text: string, now: bigint): bigint {
  const relative = /^(\d+)([smhd])$/.exec(text);
  if (relative) return now + BigInt(relative[1]) * { s: 1n, m: 60n, h: 3_600n, d: 86_400n }[relative[2] as "s"];
  if (/^\d{9,12}$/.test(text)) return BigInt(text);
  throw new UsageError(`--deadline must be a duration like 2h, 30m or 3d, or a Unix timestamp, got "${text}"`);
}

export async function jobCreate(session: ChainSession, node: NodeClient, options: JobCreateOptions): Promise<void> {
  const { chain } = session;
  // Everything that can be checked is checked before any fee is spent.
  const hyperparameters = await loadHyperparameters(options);
  if (!options.baseModel) throw new UsageError("--base-model is required: the on-chain base model id");
  if (!options.datanet) throw new UsageError("--datanet is required: the Datanet id");
  if (!options.fee) throw new UsageError("--fee is required: the job's fee in tokens");
  const baseModelId = parseId(options.baseModel, "--base-model");
  const datanetId = parseId(options.datanet, "--datanet");
  const fee = parseTokens(options.fee, "--fee");
  if (fee === 0n) throw new UsageError("--fee must be more than 0");
  const versionCount = await chain.read("datanets", "versionCount", [datanetId]);
  const version = options.version === undefined ? versionCount : Number(parseId(options.version, "--version"));
  if (versionCount === 0) throw new UsageError(`Datanet ${datanetId} has no published version yet; publish one first (tributary-node datanet publish ${datanetId})`);
  if (version > versionCount) throw new UsageError(`Datanet ${datanetId} has ${versionCount} published version${versionCount === 1 ? "" : "s"}; --version ${version} does not exist`);
  const now = (await chain.client.getBlock()).timestamp;
  const deadline = parseDeadline(options.deadline ?? "1d", now);
  if (deadline <= now) throw new UsageError(`--deadline ${options.deadline} is not in the future (chain time ${now})`);

  const { cid } = await node.postJson<{ cid: string }>("/v1/hyperparameters", hyperparameters);
  await ensureFunds(chain, chain.addresses.models, fee, "the job fee");
  const { hash, receipt } = await chain.sender.write({
    contract: "models", functionName: "createJob",
    args: [{ datanetId, datanetVersion: version, baseModelId, hyperParamsCid: cid, fee, deadline }],
  });
  const [log] = parseEventLogs({ abi: chain.abis.models, logs: receipt.logs, eventName: "JobCreated" });
  const jobId = (log as unknown as { args: { jobId: bigint } }).args.jobId;
  console.log(`Created job ${jobId}: base model ${baseModelId}, Datanet ${datanetId} version ${version}, fee ${formatTokens(fee)}, ` +
    `deadline ${new Date(Number(deadline) * 1000).toISOString()}, hyper-parameters ${cid}; tx ${hash}`);
}

const FINAL = new Set(["completed", "failed", "lost", "skipped"]);

function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "-";
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

/** Follows a job until it ends; the exit code is 0 when it completed. */
export async function jobWatch(node: NodeClient, jobIdText: string, options: { waitSeconds?: number } = {}): Promise<number> {
  const jobId = parseId(jobIdText, "<jobId>");
  const waitMs = (options.waitSeconds ?? 120) * 1000;
  // How long to keep trying without hearing from the node (it has not seen the job yet, or it is restarting).
  let waitUntil = Date.now() + waitMs;
  const tty = process.stderr.isTTY === true;
  const bars = tty ? new MultiBar({ format: " {phase} |{bar}| {value}/{total} loss {loss} {tps} tok/s ETA {eta} {note}", stream: process.stderr, hideCursor: true }, Presets.shades_classic) : undefined;
  let bar: SingleBar | undefined;
  let phase = "";
  let status = "";
  for (;;) {
    try {
      for await (const { event, data } of node.events(`/jobs/${jobId}/events`)) {
        waitUntil = Date.now() + waitMs;
        if (event === "job") {
          const job = data as { status: string; phase: string | null; reason: string | null; modelId: string | null };
          status = job.status;
          phase = job.status === "running" ? (remainingPhases(job.phase)[0] ?? "submit") : job.status;
          if (bar) bar.update({ phase, note: "" });
          else if (!tty || FINAL.has(job.status)) console.error(`job ${jobId}: ${job.status}${job.status === "running" ? `, phase ${phase}` : ""}${job.reason ? ` (${job.reason})` : ""}`);
          if (FINAL.has(job.status)) {
            bars?.stop();
            if (job.status === "completed") console.log(`Job ${jobId} completed: model ${job.modelId}`);
            else console.log(`Job ${jobId} ${job.status}${job.reason ? `: ${job.reason}` : ""}`);
            return job.status === "completed" ? 0 : 1;
          }
        } else if (event === "progress") {
          const p = data as JobProgress;
          const values = { phase, loss: p.loss?.toFixed(4) ?? "-", tps: p.tokensPerSecond?.toFixed(0) ?? "-", eta: formatEta(p.etaSeconds), note: p.message ?? "" };
          if (bars) {
            bar ??= bars.create(p.totalSteps ?? 0, 0, values);
            if (p.totalSteps !== undefined) bar.setTotal(p.totalSteps);
            bar.update(p.step ?? 0, values);
          } else {
            console.error(`job ${jobId} ${phase}: step ${p.step ?? "-"}/${p.totalSteps ?? "-"} loss ${values.loss} ${values.tps} tok/s ETA ${values.eta}${p.message ? ` ${p.message}` : ""}`);
          }
        }
      }
      // The stream ended (the node stopped): reconnect while allowed.
      if (Date.now() > waitUntil) break;
    } catch (error) {
      // The node may not have seen the job yet (confirmations), or be restarting: wait for it.
      const retryable = error instanceof NodeApiError && (error.status === 404 || error.status === undefined);
      if (!(retryable && Date.now() < waitUntil)) {
        bars?.stop();
        throw error;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  bars?.stop();
  console.log(`Job ${jobId}: no word from the node for ${waitMs / 1000} s (last status ${status || "unknown"}); run job watch again`);
  return 1;
}
