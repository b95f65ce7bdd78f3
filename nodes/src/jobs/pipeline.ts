/**
 * The training-job pipeline: fetch → verify → train → sketch → evaluate → upload → submit (evaluate measures
 * attribution quality with the sketch's span index and gradient sketch, so it comes after sketch). Each phase but
 * `submit` is a function another module registers (storage fetches and uploads, the engine trains and evaluates,
 * attribution sketches); `submit` is the runner's own and sends the result on-chain. A phase returns a
 * JSON-serialisable output, persisted with the phase's completion, and later phases read earlier outputs.
 */
import type { Logger } from "pino";
import type { JobRecord } from "../state/job-store.ts";

export const PIPELINE_PHASES = ["fetch", "verify", "train", "sketch", "evaluate", "upload", "submit"] as const;
export type PhaseName = (typeof PIPELINE_PHASES)[number];
/** Phases other modules provide. */
export type RegistrablePhase = Exclude<PhaseName, "submit">;
export const REGISTRABLE_PHASES = PIPELINE_PHASES.filter((p): p is RegistrablePhase => p !== "submit");

/** What the `upload` phase must return: the CIDs `submitResult` puts on-chain. */
export interface UploadOutput {
  adapterCid: string;
  evaluationCid: string;
  attributionIndexCid: string;
}

/**
 * What the phases before `upload` return, for `upload` to read (paths absolute or relative to the job's workDir):
 * `train` the PEFT adapter folder and, optionally, the TracIn checkpoints; `sketch` the attribution files by name,
 * "span-index" (the encoded span index serving loads) among them; `evaluate` the report.
 */
export interface TrainOutput {
  adapterDir: string;
  checkpointFiles?: Record<string, string>;
}
export interface EvaluateOutput {
  reportPath: string;
}
export interface SketchOutput {
  files: Record<string, string>;
}

/** Training progress a phase reports; shown by the API (SSE) and the CLI. */
export interface JobProgress {
  step?: number;
  totalSteps?: number;
  loss?: number;
  tokensPerSecond?: number;
  etaSeconds?: number;
  message?: string;
}

export interface PhaseContext {
  /** The job: on-chain facts (datanet, version, base model, hyper-parameters CID, fee, deadline) and its state. */
  readonly job: Readonly<JobRecord>;
  /** Outputs of the phases completed so far, by phase name. */
  readonly outputs: Readonly<Record<string, unknown>>;
  /** Local folder of the base model the job fine-tunes (from the node's config), if held. */
  readonly baseModelDir: string | undefined;
  /** A folder of this job's own under the data dir (kept across restarts). */
  readonly workDir: string;
  /** Aborted when the node shuts down: stop soon; the phase runs again on restart. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  progress(update: JobProgress): void;
  /** Records an artifact (CID and kind) the job produced, so the node knows what to keep pinned. */
  recordArtifact(artifact: { cid: string; kind: string }): void;
}

/** A phase: resolves to its output (JSON-serialisable; bigints are stored as strings) or throws to fail the job. */
export type PhaseHandler = (context: PhaseContext) => unknown | Promise<unknown>;

export class PhaseRegistry {
  readonly #handlers = new Map<RegistrablePhase, PhaseHandler>();

  /** Registers the function that runs `phase`; each phase has exactly one. */
  register(phase: RegistrablePhase, handler: PhaseHandler): void {
    if (!(REGISTRABLE_PHASES as readonly string[]).includes(phase)) {
      throw new Error(`"${phase}" is not a registrable phase; phases are ${REGISTRABLE_PHASES.join(", ")} (submit is built in)`);
    }
    if (this.#handlers.has(phase)) throw new Error(`phase "${phase}" already has a handler`);
    this.#handlers.set(phase, handler);
  }

  get(phase: RegistrablePhase): PhaseHandler | undefined {
    return this.#handlers.get(phase);
  }

  /** Phases with no handler yet: the node takes no job until there are none. */
  missing(): RegistrablePhase[] {
    return REGISTRABLE_PHASES.filter((p) => !this.#handlers.has(p));
  }
}

/** The phases still to run after `lastCompleted` (null: none completed). */
export function remainingPhases(lastCompleted: string | null): PhaseName[] {
  const index = lastCompleted === null ? -1 : PIPELINE_PHASES.indexOf(lastCompleted as PhaseName);
  return PIPELINE_PHASES.slice(index + 1);
}

/** Checks the upload phase's output has the three CIDs submitResult needs. */
export function uploadOutputOf(outputs: Readonly<Record<string, unknown>>): UploadOutput {
  const upload = outputs.upload as Partial<UploadOutput> | null | undefined;
  for (const key of ["adapterCid", "evaluationCid", "attributionIndexCid"] as const) {
    if (typeof upload?.[key] !== "string" || upload[key] === "") {
      throw new Error(`the upload phase must return { adapterCid, evaluationCid, attributionIndexCid }; ${key} is missing`);
    }
  }
  return upload as UploadOutput;
}
