/**
 * A training job's live state as the node streams it (`GET /jobs/:jobId/events`: `job` events carry the job record,
 * `progress` events the step, loss and ETA), folded into one view the page renders. The event types are the node's
 * own, imported as types only: nothing of the node is bundled, and a change on its side fails the dApp's typecheck.
 */
import type { JobProgress, PIPELINE_PHASES as NODE_PIPELINE_PHASES } from "../../../nodes/src/jobs/pipeline.ts";
import type { JobRecord } from "../../../nodes/src/state/job-store.ts";

/** A value as the node's JSON carries it: big numbers as decimal strings. */
type AsJson<T> = T extends bigint ? string : T;

/** A job record as the node's API sends it (jobJson in nodes/src/jobs/routes.ts). */
export type NodeJobRecord = { [K in keyof JobRecord]: AsJson<JobRecord[K]> };

/** What the page reads of the train phase's output (EngineTrainOutput): `losses` is the run's loss curve, [step, loss] (a node that keeps it). */
type RecordedTraining = { steps?: number; losses?: unknown };

function recordedTraining(job: Partial<NodeJobRecord>): RecordedTraining | undefined {
  return job.outputs?.train as RecordedTraining | undefined;
}

/** The loss curve a job record carries, checked point by point (anything malformed is left out). */
function recordedLosses(job: Partial<NodeJobRecord>): { step: number; loss: number }[] {
  const losses = recordedTraining(job)?.losses;
  if (!Array.isArray(losses)) return [];
  return losses
    .filter((p): p is [number, number] => Array.isArray(p) && p.length === 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]))
    .map(([step, loss]) => ({ step, loss }));
}

/** The node's pipeline, in order: typed as the node's own list, so a list in another order does not compile. */
export const PIPELINE_PHASES: typeof NODE_PIPELINE_PHASES = ["fetch", "verify", "train", "sketch", "evaluate", "upload", "submit"];

/**
 * The phase a job is in: the node's record names the last phase it completed, so a running job is in the next one
 * (the first when none completed); otherwise the record's own.
 */
export function currentPhase(status: string | undefined, lastCompleted: string | null | undefined): string | null | undefined {
  if (status !== "running") return lastCompleted;
  const next = lastCompleted ? PIPELINE_PHASES.indexOf(lastCompleted as (typeof PIPELINE_PHASES)[number]) + 1 : 0;
  return PIPELINE_PHASES[next] ?? lastCompleted;
}

export interface LiveJob {
  status?: string;
  /** The phase the node is running (or, once it stopped, the last one it completed). */
  phase?: string | null;
  reason?: string | null;
  step?: number;
  totalSteps?: number;
  etaSeconds?: number;
  tokensPerSecond?: number;
  message?: string;
  /** (step, loss) in arrival order, one point per step (a repeated step replaces the earlier point). */
  losses: { step: number; loss: number }[];
}

export const EMPTY_LIVE_JOB: LiveJob = { losses: [] };

export function applyJobEvent(state: LiveJob, event: string, data: unknown): LiveJob {
  if (!data || typeof data !== "object") return state;
  if (event === "job") {
    const job = data as Partial<NodeJobRecord>;
    // A trained job's record holds its whole curve: a page opened after training (or that missed steps) shows it.
    const recorded = recordedLosses(job);
    const trained = recorded.length > state.losses.length ? { losses: recorded, step: recorded.at(-1)!.step, totalSteps: recordedTraining(job)?.steps ?? state.totalSteps } : {};
    const status = job.status ?? state.status;
    const phase = job.phase === undefined ? state.phase : currentPhase(status, job.phase);
    // A new phase: the last one's message and ETA no longer apply.
    const moved = phase !== state.phase || status !== state.status ? { message: undefined, etaSeconds: undefined } : {};
    return { ...state, ...trained, ...moved, status, phase, reason: job.reason ?? state.reason };
  }
  if (event !== "progress") return state;
  const p = data as JobProgress;
  let losses = state.losses;
  if (typeof p.loss === "number" && Number.isFinite(p.loss) && typeof p.step === "number") {
    losses = [...losses.filter((point) => point.step !== p.step), { step: p.step, loss: p.loss }].sort((a, b) => a.step - b.step);
  }
  return {
    ...state,
    status: state.status ?? "running",
    step: p.step ?? state.step,
    totalSteps: p.totalSteps ?? state.totalSteps,
    etaSeconds: p.etaSeconds ?? state.etaSeconds,
    tokensPerSecond: p.tokensPerSecond ?? state.tokensPerSecond,
    message: p.message ?? state.message,
    losses,
  };
}

/** The loss curve as an SVG polyline path inside a width × height box (y grows downwards), with its axis range. */
export function lossPath(points: readonly { step: number; loss: number }[], width: number, height: number): { d: string; minLoss: number; maxLoss: number; maxStep: number } | null {
  if (points.length === 0) return null;
  const minLoss = Math.min(...points.map((p) => p.loss));
  const maxLoss = Math.max(...points.map((p) => p.loss));
  const minStep = points[0].step;
  const maxStep = points[points.length - 1].step;
  const spanLoss = maxLoss - minLoss || 1;
  const spanStep = maxStep - minStep || 1;
  const d = points
    .map((p, i) => {
      const x = points.length === 1 ? width / 2 : ((p.step - minStep) / spanStep) * width;
      const y = maxLoss === minLoss ? height / 2 : (1 - (p.loss - minLoss) / spanLoss) * height;
      return `${i === 0 ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(" ");
  return { d, minLoss, maxLoss, maxStep };
}
