/**
 * Runs training jobs for this node. The follower delivers ModelRegistry's job events to `subscription`, whose
 * handlers only record facts (idempotently, keyed by job id). The work loop then decides (policy), claims through
 * the transaction sender, and runs the phase pipeline one job at a time, persisting after every phase, so a
 * killed node resumes at the last completed phase. `submit` checks the job on-chain first and remembers its
 * transaction hash before broadcasting, so a result is submitted exactly once. The fee of a submitted result is
 * held by the ModelRegistry for the dispute window: the loop releases it (`releaseJobPayment`) once chain time
 * passes `payableAt`, after checking on-chain that it is still held, so a restart or a release by anyone else
 * sends nothing twice; a disputed result is left to the arbiter, and logged.
 */
import { EventEmitter } from "node:events";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import type { Logger } from "pino";
import type { Address } from "viem";
import { sleep } from "../chain/backoff.ts";
import { ContractRevertError } from "../chain/errors.ts";
import { JOB_EVENTS, type ChainEvent } from "../chain/events.ts";
import type { EventSubscription } from "../chain/follower.ts";
import type { ProtocolChain } from "../chain/protocol.ts";
import type { JobRecord, JobStatus, NodeState } from "../state/index.ts";
import { remainingPhases, uploadOutputOf, type JobProgress, type PhaseContext, type PhaseRegistry, type RegistrablePhase } from "./pipeline.ts";
import { evaluateJob, type JobPolicy } from "./policy.ts";

/** ModelRegistry.JobStatus. */
export const ONCHAIN_JOB_STATUS = ["None", "Open", "Completed", "Refunded", "Cancelled", "Submitted", "Disputed"] as const;

/** On-chain states in which a node's result is recorded (its fee is paid after the dispute window or a ruling). */
const RESULT_RECORDED: readonly string[] = ["Submitted", "Disputed", "Completed"];

export interface JobUpdate {
  jobId: bigint;
  status: JobStatus;
  phase: string | null;
  progress?: JobProgress;
  reason?: string | null;
}

export interface JobRunnerOptions {
  state: NodeState;
  chain: ProtocolChain;
  phases: PhaseRegistry;
  policy: JobPolicy;
  dataDir: string;
  logger: Logger;
  /** How often the loop looks for work when no event wakes it. */
  pollIntervalMs: number;
  /** How long to wait for a remembered submit transaction before sending again. */
  pendingSubmitWaitMs?: number;
  /** How often the lease is checked (and extended when a third or less is left) while a phase runs. */
  leaseCheckIntervalMs?: number;
}

/** Emits "update" (JobUpdate) on every status, phase or progress change. */
export class JobRunner extends EventEmitter {
  readonly #o: JobRunnerOptions;
  readonly #me: Address;
  #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #warned = new Set<string>();
  #extending = false;
  readonly #latestProgress = new Map<string, JobProgress>();

  constructor(options: JobRunnerOptions) {
    super();
    this.#o = options;
    this.#me = options.chain.account.address;
  }

  /** The follower subscription for ModelRegistry's job events. */
  get subscription(): EventSubscription<"models"> {
    return {
      contract: "models",
      events: JOB_EVENTS,
      handle: (event) => this.#onEvent(event),
      rewind: (fork) => {
        // Jobs first seen above the fork may not exist on the new chain; nothing was done for them yet.
        const { db } = this.#o.state.database;
        db.prepare("DELETE FROM jobs WHERE status IN ('discovered', 'skipped') AND created_block > ?").run(fork ?? -1n);
      },
    };
  }

  latestProgress(jobId: bigint): JobProgress | undefined {
    return this.#latestProgress.get(String(jobId));
  }

  start(): void {
    if (this.#loop) return;
    this.#abort = new AbortController();
    this.#loop = this.#run();
  }

  /** Stops: aborts the running phase (it resumes on restart) and waits for the loop to end. */
  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
  }

  #emitUpdate(jobId: bigint, extra: Partial<JobUpdate> = {}): void {
    const job = this.#o.state.jobs.get(jobId);
    if (job) this.emit("update", { jobId, status: job.status, phase: job.phase, reason: job.reason, ...extra } satisfies JobUpdate);
  }

  #setStatus(jobId: bigint, status: JobStatus, changes: Parameters<NodeState["jobs"]["update"]>[1] = {}): void {
    this.#o.state.jobs.update(jobId, { status, ...changes });
    this.#emitUpdate(jobId);
  }

  #onEvent(event: ChainEvent<"models">): void {
    const jobs = this.#o.state.jobs;
    const args = event.args as Record<string, unknown>;
    const jobId = args.jobId as bigint;
    switch (event.eventName) {
      case "JobCreated":
        if (jobs.insert({
          jobId, requester: args.requester as string, datanetId: args.datanetId as bigint, datanetVersion: Number(args.datanetVersion),
          baseModelId: args.baseModelId as bigint, hyperParamsCid: args.hyperParamsCid as string, fee: args.fee as bigint,
          deadline: args.deadline as bigint, createdBlock: event.blockNumber, createdTx: event.transactionHash,
        })) {
          this.#o.logger.info({ jobId: String(jobId), fee: String(args.fee), baseModelId: String(args.baseModelId) }, "training job seen");
          this.#emitUpdate(jobId);
        }
        break;
      case "JobClaimed":
      case "LeaseExtended": {
        const job = jobs.get(jobId);
        if (!job) break;
        const mine = (args.node as string).toLowerCase() === this.#me.toLowerCase();
        if (mine) jobs.update(jobId, { leaseExpiresAt: args.leaseExpiresAt as bigint });
        else if (!["completed", "failed", "lost", "skipped"].includes(job.status)) {
          this.#setStatus(jobId, "lost", { reason: `claimed by ${args.node as string}` });
        }
        break;
      }
      case "JobResultSubmitted": {
        const job = jobs.get(jobId);
        if (!job) break;
        const mine = (args.node as string).toLowerCase() === this.#me.toLowerCase();
        if (mine) {
          this.#setStatus(jobId, "completed", { modelId: args.modelId as bigint, phase: "submit" });
          if (job.payment === null) jobs.update(jobId, { payment: "held", payableAt: args.payableAt as bigint });
        } else if (job.status !== "completed") this.#setStatus(jobId, "lost", { reason: `completed by ${args.node as string}` });
        break;
      }
      case "JobResultDisputed": {
        const job = jobs.get(jobId);
        if (job?.payment === "held") {
          jobs.update(jobId, { payment: "disputed" });
          this.#o.logger.warn({ jobId: String(jobId), requester: args.requester as string, reasonCid: args.reasonCid as string }, "the requester disputed this node's result: the fee stays held until the arbiter rules");
        }
        break;
      }
      case "JobCompleted": {
        const job = jobs.get(jobId);
        if (job && job.payment !== null && job.payment !== "released" && (args.node as string).toLowerCase() === this.#me.toLowerCase()) {
          jobs.update(jobId, { payment: "released" });
          this.#o.logger.info({ jobId: String(jobId), fee: String(args.fee) }, "training fee paid to this node");
        }
        break;
      }
      case "JobRefunded":
      case "JobCancelled": {
        const job = jobs.get(jobId);
        if (job && job.status !== "completed") this.#setStatus(jobId, "lost", { reason: event.eventName === "JobRefunded" ? "refunded after its deadline" : "cancelled by the requester" });
        break;
      }
    }
    this.#wake?.();
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        await this.#tick();
      } catch (error) {
        this.#o.logger.warn({ err: (error as Error).message.split("\n")[0] }, "job runner step failed; retrying");
      }
      if (signal.aborted) break;
      await new Promise<void>((wake) => {
        this.#wake = wake;
        sleep(this.#o.pollIntervalMs, signal).then(wake);
      });
      this.#wake = undefined;
    }
  }

  #warnOnce(key: string, obj: object, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#o.logger.warn(obj, message);
  }

  async #tick(): Promise<void> {
    const { state, phases } = this.#o;
    // Resume first: a job this node holds comes before new ones.
    for (const job of state.jobs.list(["claiming", "running"])) {
      if (this.#abort.signal.aborted) return;
      if (job.status === "claiming") await this.#claim(job);
      const current = state.jobs.get(job.jobId)!;
      if (current.status === "running") await this.#runPipeline(current);
    }
    await this.#releasePayments();
    const waiting = state.jobs.list(["discovered"]);
    if (waiting.length === 0) return;
    const missing = phases.missing();
    if (missing.length > 0) {
      this.#warnOnce(`phases:${missing.join(",")}`, { waiting: waiting.length, missing }, "jobs are waiting but no module provides these phases; load an extension that registers them");
      return;
    }
    if (!(await this.#o.chain.read("nodes", "isActive", [this.#me]))) {
      this.#warnOnce("inactive", { operator: this.#me }, "jobs are waiting but this operator is not active: run `tributary-node operator register`");
      return;
    }
    this.#warned.delete("inactive");
    const now = (await this.#o.chain.client.getBlock()).timestamp;
    for (const job of waiting) {
      if (this.#abort.signal.aborted) return;
      const decision = evaluateJob(job, this.#o.policy, now);
      if (!decision.accept) {
        this.#o.logger.info({ jobId: String(job.jobId), reason: decision.reason }, "job skipped");
        this.#setStatus(job.jobId, "skipped", { reason: decision.reason });
        continue;
      }
      this.#setStatus(job.jobId, "claiming");
      await this.#claim(state.jobs.get(job.jobId)!);
      const claimed = state.jobs.get(job.jobId)!;
      if (claimed.status === "running") await this.#runPipeline(claimed);
    }
  }

  /** Claims a job, after checking on-chain whether an earlier attempt (before a crash) already did. */
  async #claim(job: JobRecord): Promise<void> {
    const { chain, logger } = this.#o;
    const onChain = await chain.read("models", "getJob", [job.jobId]);
    const now = (await chain.client.getBlock()).timestamp;
    if (ONCHAIN_JOB_STATUS[onChain.status] !== "Open") {
      this.#setStatus(job.jobId, "lost", { reason: `job is ${ONCHAIN_JOB_STATUS[onChain.status]} on-chain` });
      return;
    }
    const leaseLive = now < onChain.leaseExpiresAt;
    if (leaseLive && onChain.leaseHolder.toLowerCase() === this.#me.toLowerCase()) {
      this.#setStatus(job.jobId, "running", { leaseExpiresAt: onChain.leaseExpiresAt });
      return;
    }
    if (leaseLive) {
      this.#setStatus(job.jobId, "lost", { reason: `leased by ${onChain.leaseHolder}` });
      return;
    }
    try {
      const { hash } = await chain.sender.write({ contract: "models", functionName: "claimJob", args: [job.jobId] }, {
        onSigned: (txHash) => this.#o.state.jobs.update(job.jobId, { claimTx: txHash }),
      });
      const claimed = await chain.read("models", "getJob", [job.jobId]);
      logger.info({ jobId: String(job.jobId), tx: hash, leaseExpiresAt: String(claimed.leaseExpiresAt) }, "job claimed");
      // The phase is kept: a job re-claimed after its lease expired resumes where it was.
      this.#setStatus(job.jobId, "running", { leaseExpiresAt: claimed.leaseExpiresAt });
    } catch (error) {
      if (error instanceof ContractRevertError) {
        logger.warn({ jobId: String(job.jobId), err: error.message }, "claim refused");
        this.#setStatus(job.jobId, "lost", { reason: error.message });
        return;
      }
      throw error; // transient: still "claiming", tried again next tick
    }
  }

  async #runPipeline(job: JobRecord): Promise<void> {
    const { state, phases, logger } = this.#o;
    const workDir = resolve(this.#o.dataDir, "jobs", String(job.jobId));
    await mkdir(workDir, { recursive: true });
    for (const phase of remainingPhases(job.phase)) {
      if (this.#abort.signal.aborted) return;
      const current = state.jobs.get(job.jobId)!;
      if (current.status !== "running") return; // lost or completed meanwhile (events)
      await this.#keepLease(current);
      if (state.jobs.get(job.jobId)!.status !== "running") return;
      if (phase === "submit") {
        await this.#submit(current);
        return;
      }
      const handler = phases.get(phase as RegistrablePhase);
      if (!handler) {
        this.#warnOnce(`phase:${phase}`, { jobId: String(job.jobId), phase }, "no handler for this phase; the job waits");
        return;
      }
      const log = logger.child({ jobId: String(job.jobId), phase });
      const context: PhaseContext = {
        job: current,
        outputs: current.outputs,
        baseModelDir: this.#o.policy.baseModels.get(current.baseModelId),
        workDir,
        signal: this.#abort.signal,
        logger: log,
        progress: (update) => {
          this.#latestProgress.set(String(job.jobId), { ...update });
          this.emit("update", { jobId: job.jobId, status: "running", phase: current.phase, progress: update } satisfies JobUpdate);
        },
        recordArtifact: (artifact) => state.artifacts.record({ ...artifact, jobId: job.jobId }),
      };
      log.info({}, "phase started");
      let output: unknown;
      // A phase may outlast the lease (training does): keep renewing it while the phase runs.
      const heartbeat = setInterval(() => {
        const latest = state.jobs.get(job.jobId);
        if (latest?.status === "running") {
          this.#keepLease(latest).catch((error: unknown) => log.warn({ err: (error as Error).message.split("\n")[0] }, "lease check failed; retrying"));
        }
      }, this.#o.leaseCheckIntervalMs ?? 60_000);
      try {
        output = await handler(context);
      } catch (error) {
        if (this.#abort.signal.aborted) return; // shutting down: the phase runs again on restart
        const reason = `${phase} failed: ${(error as Error).message}`;
        log.error({ err: (error as Error).message }, "phase failed; the job is failed");
        this.#setStatus(job.jobId, "failed", { reason });
        return;
      } finally {
        clearInterval(heartbeat);
      }
      if (this.#abort.signal.aborted) return;
      state.jobs.completePhase(job.jobId, phase, output);
      log.info({}, "phase completed");
      this.#emitUpdate(job.jobId);
    }
  }

  /** Extends the lease when less than a third of it is left, so a long phase keeps the job. */
  async #keepLease(job: JobRecord): Promise<void> {
    if (this.#extending) return;
    this.#extending = true;
    try {
      await this.#extendIfDue(job);
    } finally {
      this.#extending = false;
    }
  }

  async #extendIfDue(job: JobRecord): Promise<void> {
    const { chain } = this.#o;
    const now = (await chain.client.getBlock()).timestamp;
    const leaseDuration = await chain.read("models", "leaseDuration", []);
    if (job.leaseExpiresAt !== null && job.leaseExpiresAt - now > leaseDuration / 3n) return;
    if (job.leaseExpiresAt !== null && job.leaseExpiresAt >= job.deadline) return; // capped at the deadline already
    try {
      await chain.sender.write({ contract: "models", functionName: "extendLease", args: [job.jobId] });
      const onChain = await chain.read("models", "getJob", [job.jobId]);
      this.#o.state.jobs.update(job.jobId, { leaseExpiresAt: onChain.leaseExpiresAt });
    } catch (error) {
      if (!(error instanceof ContractRevertError)) throw error;
      // An expired lease can still be claimed again if no other node took the job: the claim path checks.
      if (error.errorName === "LeaseExpired") this.#setStatus(job.jobId, "claiming");
      else this.#setStatus(job.jobId, "lost", { reason: `lease could not be extended: ${error.message}` });
    }
  }

  /** Submits the result exactly once: the chain is asked first, and a remembered submit transaction is waited for. */
  async #submit(job: JobRecord): Promise<void> {
    const { chain, state, logger } = this.#o;
    const settle = async (): Promise<boolean> => {
      const onChain = await chain.read("models", "getJob", [job.jobId]);
      const status = ONCHAIN_JOB_STATUS[onChain.status];
      if (status === "Open") return false;
      if (RESULT_RECORDED.includes(status) && onChain.leaseHolder.toLowerCase() === this.#me.toLowerCase()) {
        state.jobs.completePhase(job.jobId, "submit", { modelId: onChain.modelId.toString(), tx: state.jobs.get(job.jobId)!.submitTx });
        this.#setStatus(job.jobId, "completed", { modelId: onChain.modelId });
        if (state.jobs.get(job.jobId)!.payment === null) {
          state.jobs.update(job.jobId, { payableAt: onChain.payableAt, payment: status === "Submitted" ? "held" : status === "Disputed" ? "disputed" : "released" });
        }
      } else {
        this.#setStatus(job.jobId, "lost", { reason: `job is ${status} on-chain` });
      }
      return true;
    };
    if (await settle()) return;
    if (job.submitTx !== null) {
      // Sent before a crash: give it time to be mined rather than send a second one.
      const deadline = Date.now() + (this.#o.pendingSubmitWaitMs ?? 60_000);
      while (Date.now() < deadline && !this.#abort.signal.aborted) {
        if (await chain.sender.receiptOf(job.submitTx as `0x${string}`)) break;
        await sleep(500, this.#abort.signal);
      }
      if (await settle()) return;
    }
    let artifacts;
    try {
      artifacts = uploadOutputOf(job.outputs);
    } catch (error) {
      this.#setStatus(job.jobId, "failed", { reason: (error as Error).message });
      return;
    }
    try {
      const { hash } = await chain.sender.write({ contract: "models", functionName: "submitResult", args: [job.jobId, artifacts] }, {
        onSigned: (txHash) => state.jobs.update(job.jobId, { submitTx: txHash }),
      });
      logger.info({ jobId: String(job.jobId), tx: hash }, "result submitted");
      await settle();
    } catch (error) {
      if (!(error instanceof ContractRevertError)) throw error;
      if (await settle()) return;
      this.#setStatus(job.jobId, "failed", { reason: `submit refused: ${error.message}` });
    }
  }

  /**
   * Releases the held fee of each of this node's results whose dispute window has passed. The chain is asked first:
   * a fee already paid (by anyone) or disputed is only recorded, so the release is sent at most once per state.
   */
  async #releasePayments(): Promise<void> {
    const { chain, state, logger } = this.#o;
    const held = state.jobs.heldPayments();
    if (held.length === 0) return;
    const now = (await chain.client.getBlock()).timestamp;
    for (const job of held) {
      if (this.#abort.signal.aborted) return;
      if (job.payableAt !== null && now < job.payableAt) continue;
      const log = logger.child({ jobId: String(job.jobId) });
      const record = async (): Promise<boolean> => {
        const onChain = await chain.read("models", "getJob", [job.jobId]);
        const status = ONCHAIN_JOB_STATUS[onChain.status];
        if (status === "Submitted") {
          if (onChain.payableAt !== job.payableAt) state.jobs.update(job.jobId, { payableAt: onChain.payableAt });
          return now < onChain.payableAt; // not yet payable: nothing to do now
        }
        if (status === "Disputed") {
          state.jobs.update(job.jobId, { payment: "disputed" });
          log.warn({}, "the result is disputed: its fee is left to the arbiter's ruling");
        } else if (status === "Completed") {
          state.jobs.update(job.jobId, { payment: "released" });
        } else {
          state.jobs.update(job.jobId, { payment: "disputed", reason: `fee not paid: the job is ${status} on-chain` });
          log.warn({ status }, "the held fee went elsewhere (the job is no longer Submitted or Completed on-chain)");
        }
        return true;
      };
      if (await record()) continue;
      try {
        const { hash } = await chain.sender.write({ contract: "models", functionName: "releaseJobPayment", args: [job.jobId] }, {
          onSigned: (txHash) => state.jobs.update(job.jobId, { releaseTx: txHash }),
        });
        state.jobs.update(job.jobId, { payment: "released" });
        log.info({ tx: hash, fee: String(job.fee) }, "training fee released to this node");
        this.#emitUpdate(job.jobId);
      } catch (error) {
        if (!(error instanceof ContractRevertError)) throw error;
        // Someone else released it, or the requester disputed it, in the meantime: the chain says which.
        log.info({ err: error.message }, "release refused; reading the job's state");
        await record();
      }
    }
  }
}
