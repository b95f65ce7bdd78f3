/**
 * When the gradient part of a record is tried again. A record of a model with a gradient sketch whose gradient part
 * failed (the sketch not fetchable yet, the worker refusing an input...) is stored span-only and held out of
 * settlement (`serve_records.gradient_pending`); the AttributionService retries it (`retryPendingGradients`) with
 * exponential backoff: after the n-th failed attempt the next one is due `backoff × 2^(n−1)` later (capped at
 * `maxBackoffMs`), and after `maxAttempts` attempts in all (the first, at serving time, included) the record is given
 * up: it stays held, and the operator is told. Attempts and the next attempt's time are kept in sqlite, so a restarted
 * node resumes the schedule where it was.
 */
import type { AttributionService, GradientRetryReport } from "./attribution-service.ts";
import type { DeployedModel } from "./deployed-models.ts";
import type { ServeMetrics } from "./serve-metrics.ts";

export interface GradientRetryPolicy {
  /** Attempts in all, the one at serving time included; at least 1 (1: never retried). */
  maxAttempts: number;
  /** Delay after the first failure; each further failure doubles it. */
  backoffMs: number;
  /** The longest delay between two attempts. */
  maxBackoffMs: number;
}

/** 12 attempts a minute apart at first, doubling: the last one about 34 hours after serving. */
export const DEFAULT_GRADIENT_RETRY: GradientRetryPolicy = { maxAttempts: 12, backoffMs: 60_000, maxBackoffMs: 86_400_000 };

export class GradientRetryPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GradientRetryPolicyError";
  }
}

/** Checks a policy given in code (the node's config checks its own fields, `settle.gradient*`). */
export function checkRetryPolicy(policy: GradientRetryPolicy): GradientRetryPolicy {
  if (!Number.isSafeInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new GradientRetryPolicyError(`gradient retry maxAttempts must be an integer of at least 1, got ${policy.maxAttempts}`);
  }
  if (!(policy.backoffMs > 0) || !(policy.maxBackoffMs >= policy.backoffMs)) {
    throw new GradientRetryPolicyError(`gradient retry backoffMs must be positive and at most maxBackoffMs, got ${policy.backoffMs} and ${policy.maxBackoffMs}`);
  }
  return policy;
}

/**
 * When the attempt after `attempts` failed ones is due (epoch ms), or null when none is left: the record is given up.
 */
export function nextAttemptAt(policy: GradientRetryPolicy, attempts: number, failedAt: number): number | null {
  if (attempts >= policy.maxAttempts) return null;
  const delay = Math.min(policy.backoffMs * 2 ** Math.max(0, attempts - 1), policy.maxBackoffMs);
  return failedAt + delay;
}

/**
 * One retry pass as the node runs it: `retryPendingGradients` over the served models, its outcome logged (record ids
 * and errors) and counted in the node's metrics (`tributary_attribution_gradient_{completed,given_up}_total`).
 */
export function gradientRetryPass(init: {
  attribution: Pick<AttributionService, "retryPendingGradients">;
  models: { resolve(name: string): DeployedModel | undefined };
  metrics: Pick<ServeMetrics, "gradientCompleted" | "gradientGivenUp">;
  logger: { info(details: object, message: string): void; warn(details: object, message: string): void; error(details: object, message: string): void };
}): () => Promise<GradientRetryReport> {
  const { attribution, models, metrics, logger } = init;
  return async () => {
    const report = await attribution.retryPendingGradients((modelId) => models.resolve(modelId));
    metrics.gradientCompleted.inc(report.completed.length);
    metrics.gradientGivenUp.inc(report.givenUp.length);
    if (report.completed.length > 0) {
      logger.info({ records: report.completed.map((c) => ({ id: c.recordId, attempts: c.attempts, hash: c.hash, cid: c.cid, supersedes: c.supersedes })) },
        "gradient part of held-out records completed: they settle from now on (same ids, new hashes and CIDs)");
    }
    if (report.failed.length > 0) {
      logger.warn({ records: report.failed.map((f) => ({ id: f.recordId, attempts: f.attempts, error: f.error, nextAttemptAt: new Date(f.nextAttemptAt).toISOString() })) },
        "gradient part of held-out records failed again; retrying later");
    }
    if (report.givenUp.length > 0) {
      logger.error({ records: report.givenUp.map((g) => ({ id: g.recordId, attempts: g.attempts, error: g.error })) },
        "gave up the gradient part of records after their last attempt: they stay held out of settlement (their contributor pools uncredited); "
        + "fix the cause, then raise settle.gradientMaxAttempts and restart the node to try them again");
    }
    return report;
  };
}
