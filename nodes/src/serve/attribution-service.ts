/**
 * Every call into nodes/src/attribution made by serving lives here, so a change of the record format
 * (tributary.attribution/1 → /2) is adapted in this one module.
 *
 * After a paid response's last token, the output token ids are attributed against the model's span index
 * (the Datanet version the adapter was trained on) and, when the model's attribution index document names a
 * gradient sketch, by gradient too (TracIn-CP: the output's projected gradients at the sketch's checkpoints,
 * computed on the engine's worker on a reproducible backend, mixed with the span weights exactly as
 * `attribute` does). The record, with its gradient evidence, is stored in the node's sqlite and on IPFS only
 * once complete, and the response's `tributary` field summarizes it: the top contributions with their shares,
 * the output spans found in the Datanet with their sources, the gradient part's cost, and the record's id and
 * CID. Tokens stream before this runs, so attribution never delays them; its cost is measured per response.
 *
 * A model with a gradient sketch must have the gradient part in every record (verifiers report a span-only one,
 * `gradient-missing`). When it fails, the record is still stored and returned (span-only, the error in the
 * response), but marked `gradient_pending`: the settlement scheduler keeps it out of every credit batch, with a
 * log line, so an honest node never settles a record a watcher would challenge (nodes/src/serve/README.md). Its
 * prompt and output tokens are kept, and `retryPendingGradients` tries the gradient part again by the same path,
 * with backoff (gradient-retry.ts): once it succeeds the complete record replaces the span-only one under the same
 * id (a new hash and CID; the span-only version's are kept as `superseded_*`) and becomes settleable.
 */
import { readFile } from "node:fs/promises";
import type { Address } from "viem";
import type { NullCalibration } from "../attribution/null-calibration.ts";
import type { Engine } from "../engine/worker/engine.ts";
import {
  attribute, decodeSpanIndex, recordHash, serializeRecord, type AttributionRecord, type SpanIndex,
} from "../attribution/index.ts";
import type { NodeDatabase } from "../state/database.ts";
import type { ContentStore } from "../storage/content-store.ts";
import { fetchGradientArtifacts, fetchSpanIndexBytes, type GradientArtifacts } from "./artifacts.ts";
import type { DeployedModel } from "./deployed-models.ts";
import { DEFAULT_GRADIENT_RETRY, checkRetryPolicy, nextAttemptAt, type GradientRetryPolicy } from "./gradient-retry.ts";

/** The `tributary` field of a paid response. */
export interface TributaryField {
  record: { id: string; hash: string; cid: string | null; schema: string };
  model: { id: string; adapter_cid: string; datanet: { id: string; version: number; root: string } };
  payment: { payer: Address; signer: Address; cumulative_amount: string; charged: string; terms_version: string };
  /** The contributions that weigh most, by share (ppm / 1e6), largest first. */
  contributions: Array<{ contribution_id: string; share: number; ppm: number }>;
  /** Output spans found in the Datanet: where in the output, the text, and which contributions hold them. */
  spans: Array<{ output_start: number; length: number; text: string; occurrences: number; sources: Array<{ contribution_id: string; count: number }> }>;
  /**
   * The gradient half (null: the model publishes no gradient sketch): the checkpoints the output's gradient was
   * taken at, the backend, the span share actually mixed in, and what it cost; `error` when it could not be
   * computed and the record is span-only. A span-only record is held out of settlement; `next_attempt_at` says when
   * the node tries its gradient part again (ISO time; null: it will not), after which a complete record replaces it
   * under the same id (`GET /v1/records/:id`).
   */
  gradient: { checkpoints: number; backend: string; effective_mix_ppm: number; ms: number } | { error: string; next_attempt_at: string | null } | null;
  /**
   * Whether the attribution is a confident prediction naming one contribution: its top share strictly above the
   * threshold the model's training job calibrated for the record's method (docs/attribution.md §7.6). Shown only;
   * payouts always split by the weights. Absent when the model published no calibration.
   */
  prediction?: { method: "combined"; threshold: number; contribution_id: string | null; share: number };
  attribution_ms: number;
}

export interface AttributionOutcome {
  field: TributaryField;
  seconds: number;
  /** Seconds of the gradient half (fetching nothing once cached, output gradients on the worker); undefined when span-only. */
  gradientSeconds?: number;
}

/** What one `retryPendingGradients` pass did, by record. */
export interface GradientRetryReport {
  /** Complete now (gradient evidence added): settleable from this round on, under the same id with a new hash and CID. */
  completed: Array<{ recordId: string; hash: string; cid: string | null; attempts: number; supersedes: { hash: string; cid: string | null } }>;
  /** Failed again; tried again at `nextAttemptAt` (epoch ms). */
  failed: Array<{ recordId: string; attempts: number; error: string; nextAttemptAt: number }>;
  /** Failed the last attempt the policy allows: held out of settlement until an operator acts. */
  givenUp: Array<{ recordId: string; attempts: number; error: string }>;
}

/** A record's gradient retry state, as `record()` reports it (`gradientPending` records only). */
export interface GradientRetryState {
  attempts: number;
  error: string | null;
  /** ISO time of the next attempt; null: given up (or never scheduled). */
  nextAttemptAt: string | null;
}

type GradientOutcome =
  | { evidence: NonNullable<Parameters<typeof attribute>[0]["gradients"]>; seconds: number; calibration?: NullCalibration }
  | { error: string; stage: "artifacts" | "gradient" }
  | undefined;

const TOP_CONTRIBUTIONS = 10;
const MAX_SPANS = 20;

export class AttributionService {
  readonly #database: NodeDatabase;
  readonly #store: ContentStore | undefined;
  readonly #engine: Pick<Engine, "outputGradients"> | undefined;
  readonly #indexes = new Map<string, Promise<SpanIndex>>();
  readonly #gradients = new Map<string, Promise<GradientArtifacts | undefined>>();
  readonly #retryPolicy: GradientRetryPolicy;
  readonly #now: () => number;
  #retrying: Promise<GradientRetryReport> | undefined;

  /**
   * Without `engine` (or a store), every record is span-only. `gradientRetry`: when a failed gradient part is tried
   * again (default DEFAULT_GRADIENT_RETRY); `now`: the clock those times are read from (epoch ms; tests inject one).
   */
  constructor(init: {
    database: NodeDatabase; store?: ContentStore; engine?: Pick<Engine, "outputGradients">; gradientRetry?: GradientRetryPolicy; now?: () => number;
  }) {
    this.#database = init.database;
    this.#store = init.store;
    this.#engine = init.engine;
    this.#retryPolicy = checkRetryPolicy(init.gradientRetry ?? DEFAULT_GRADIENT_RETRY);
    this.#now = init.now ?? Date.now;
    init.database.db.exec(`
      CREATE TABLE IF NOT EXISTS serve_records (
        record_id TEXT PRIMARY KEY,
        model_id TEXT NOT NULL,
        payer TEXT NOT NULL,
        cumulative_amount TEXT NOT NULL,
        record_hash TEXT NOT NULL,
        record TEXT NOT NULL,
        cid TEXT,
        created_at TEXT NOT NULL
      );
    `);
    // A record with gradient evidence is recomputed from its prompt and output tokens: the settlement document
    // publishes them beside it (NULL for span-only records). Added to databases made before gradient attribution.
    const columns = new Set((init.database.db.prepare("PRAGMA table_info(serve_records)").all() as { name: string }[]).map((c) => c.name));
    if (!columns.has("prompt_tokens")) init.database.db.exec("ALTER TABLE serve_records ADD COLUMN prompt_tokens TEXT");
    if (!columns.has("output_tokens")) init.database.db.exec("ALTER TABLE serve_records ADD COLUMN output_tokens TEXT");
    // 1: the model has a gradient sketch but this record's gradient part failed; it is never settled as it is.
    if (!columns.has("gradient_pending")) init.database.db.exec("ALTER TABLE serve_records ADD COLUMN gradient_pending INTEGER NOT NULL DEFAULT 0");
    // The retry schedule of a pending record (its tokens are kept too, in the columns above): attempts made (the one
    // at serving time included), the last error, and when the next attempt is due (epoch ms; NULL: none scheduled).
    // Kept here so a restarted node resumes the schedule. Pending rows of older databases have no tokens: given up.
    if (!columns.has("gradient_attempts")) init.database.db.exec("ALTER TABLE serve_records ADD COLUMN gradient_attempts INTEGER NOT NULL DEFAULT 0");
    if (!columns.has("gradient_error")) init.database.db.exec("ALTER TABLE serve_records ADD COLUMN gradient_error TEXT");
    if (!columns.has("gradient_next_attempt_at")) init.database.db.exec("ALTER TABLE serve_records ADD COLUMN gradient_next_attempt_at INTEGER");
    // The span-only version a completed record replaced: its hash and CID went out in the response.
    if (!columns.has("superseded_hash")) init.database.db.exec("ALTER TABLE serve_records ADD COLUMN superseded_hash TEXT");
    if (!columns.has("superseded_cid")) init.database.db.exec("ALTER TABLE serve_records ADD COLUMN superseded_cid TEXT");
  }

  /** The model's span index, loaded once (local file or IPFS). */
  spanIndex(model: DeployedModel): Promise<SpanIndex> {
    let index = this.#indexes.get(model.name);
    if (index === undefined) {
      index = (async () => {
        const bytes = model.spanIndexPath !== undefined
          ? new Uint8Array(await readFile(model.spanIndexPath))
          : this.#store !== undefined ? await fetchSpanIndexBytes(this.#store, model.attributionIndexCid) : undefined;
        if (bytes === undefined) throw new Error(`model ${model.modelId} has no local span index and the node has no content store`);
        return decodeSpanIndex(bytes);
      })();
      index.catch(() => this.#indexes.delete(model.name));
      this.#indexes.set(model.name, index);
    }
    return index;
  }

  /**
   * The model's gradient sketch and TracIn checkpoints, loaded once from IPFS (every file checked against the digest
   * its attribution index document names); undefined when the document names none or the node cannot compute.
   */
  gradientArtifacts(model: DeployedModel): Promise<GradientArtifacts | undefined> {
    if (this.#store === undefined || this.#engine === undefined) return Promise.resolve(undefined);
    let artifacts = this.#gradients.get(model.name);
    if (artifacts === undefined) {
      artifacts = fetchGradientArtifacts(this.#store, model.attributionIndexCid);
      artifacts.catch(() => this.#gradients.delete(model.name));
      this.#gradients.set(model.name, artifacts);
    }
    return artifacts;
  }

  /**
   * Attributes one response's output and stores its record. `decode` turns token ids back into text (the
   * model's tokenizer) for the spans shown to the user.
   */
  async attribute(input: {
    requestId: string;
    model: DeployedModel;
    outputTokens: readonly number[];
    /** The prompt's token ids as the model was fed them: the output's gradient is conditioned on them. */
    promptTokens?: readonly number[];
    payment: TributaryField["payment"];
    decode: (ids: readonly number[]) => Promise<string>;
  }): Promise<AttributionOutcome> {
    const started = performance.now();
    const { record, gradient } = await this.#attributeOutput(input);
    const hash = recordHash(record);
    const failed = gradient !== undefined && "error" in gradient ? gradient : undefined;
    // A failed gradient part is the record's first attempt; its tokens are kept so that it can be tried again.
    const nextAttempt = failed ? nextAttemptAt(this.#retryPolicy, 1, this.#now()) : null;
    const keepTokens = record.evidence.gradient !== null || failed !== undefined;
    this.#database.db.prepare(`
      INSERT OR REPLACE INTO serve_records (record_id, model_id, payer, cumulative_amount, record_hash, record, cid, created_at, prompt_tokens, output_tokens,
        gradient_pending, gradient_attempts, gradient_error, gradient_next_attempt_at)
      VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)
    `).run(record.requestId, record.model.id, input.payment.payer, input.payment.cumulative_amount, hash, serializeRecord(record), new Date().toISOString(),
      keepTokens ? JSON.stringify(input.promptTokens ?? []) : null, keepTokens ? JSON.stringify(input.outputTokens) : null,
      failed ? 1 : 0, gradient === undefined ? 0 : 1, failed?.error ?? null, nextAttempt);
    let cid: string | null = null;
    if (this.#store !== undefined) {
      cid = (await this.#store.addJson(record)).toString();
      this.#database.db.prepare("UPDATE serve_records SET cid = ? WHERE record_id = ?").run(cid, record.requestId);
    }
    const spans = await Promise.all(record.evidence.spans.slice(0, MAX_SPANS).map(async (span) => ({
      output_start: span.outputStart,
      length: span.length,
      text: await input.decode(span.tokens),
      occurrences: span.occurrences,
      sources: span.contributions.map((c) => ({ contribution_id: c.contributionId, count: c.count })),
    })));
    const seconds = (performance.now() - started) / 1000;
    return {
      seconds,
      ...(gradient !== undefined && "evidence" in gradient ? { gradientSeconds: gradient.seconds } : {}),
      field: {
        record: { id: record.requestId, hash, cid, schema: record.schema },
        model: { id: record.model.id, adapter_cid: record.model.cid, datanet: { id: record.datanet.id, version: record.datanet.version, root: record.datanet.root } },
        payment: input.payment,
        contributions: topContributions(record),
        spans,
        gradient: gradient === undefined ? null
          : "error" in gradient ? { error: gradient.error, next_attempt_at: nextAttempt === null ? null : new Date(nextAttempt).toISOString() }
            : { checkpoints: gradient.evidence.output.length, backend: gradient.evidence.backend, effective_mix_ppm: record.parameters.effectiveMixPpm, ms: Math.round(gradient.seconds * 1e6) / 1e3 },
        ...prediction(record, gradient !== undefined && "evidence" in gradient ? gradient.calibration : undefined),
        attribution_ms: Math.round(seconds * 1e6) / 1e3,
      },
    };
  }

  /** The record of one output (span part, and gradient part when the model has a sketch): the path every attempt takes. */
  async #attributeOutput(input: { requestId: string; model: DeployedModel; outputTokens: readonly number[]; promptTokens?: readonly number[] }): Promise<{ record: AttributionRecord; gradient: GradientOutcome }> {
    const index = await this.spanIndex(input.model);
    const gradient = await this.#outputGradients(input);
    const record = attribute({
      requestId: input.requestId,
      model: { id: input.model.modelId, cid: input.model.adapterCid },
      datanet: { id: input.model.datanet.id, version: input.model.datanet.version },
      outputTokens: input.outputTokens,
      index,
      ...(gradient !== undefined && "evidence" in gradient ? { gradients: gradient.evidence } : {}),
    });
    return { record, gradient };
  }

  /**
   * The gradient evidence of one output when the model has a sketch: its projected gradients at the sketch's
   * checkpoints, on the engine's worker (an output longer than the sketch's window takes several windows). A failure
   * (a base model loaded in half precision, a sketch or checkpoint not in the store...) leaves the record span-only and is reported in the response; it is never half-done.
   */
  async #outputGradients(input: { model: DeployedModel; outputTokens: readonly number[]; promptTokens?: readonly number[] }): Promise<GradientOutcome> {
    const started = performance.now();
    let artifacts: GradientArtifacts | undefined;
    try {
      artifacts = await this.gradientArtifacts(input.model);
    } catch (error) {
      return { error: `the gradient sketch could not be loaded: ${(error as Error).message}`, stage: "artifacts" };
    }
    if (artifacts === undefined || this.#engine === undefined) return undefined;
    if (input.promptTokens === undefined || input.promptTokens.length === 0 || input.outputTokens.length === 0) {
      return { error: "no prompt or output tokens to take the output's gradient on", stage: "gradient" };
    }
    try {
      const result = await this.#engine.outputGradients({
        modelId: input.model.engineModel, provenance: artifacts.sketch.provenance!, checkpoints: artifacts.checkpoints,
        prompt: [...input.promptTokens], output: [...input.outputTokens],
      });
      return {
        evidence: { sketch: artifacts.sketch, output: result.checkpoints, prompt: input.promptTokens, backend: result.backend },
        seconds: (performance.now() - started) / 1000,
        ...(artifacts.calibration !== undefined ? { calibration: artifacts.calibration } : {}),
      };
    } catch (error) {
      return { error: `the output's gradient could not be computed: ${(error as Error).message}`, stage: "gradient" };
    }
  }

  /**
   * Tries the gradient part of every held-out record whose next attempt is due, by the path the first attempt took
   * (the sketch and checkpoints fetched by CID, `Engine.outputGradients` on the worker, `attribute`), one record at a
   * time. A record that succeeds is rebuilt whole under the same id, pinned to IPFS and replaces the span-only one
   * in sqlite (`gradient_pending` cleared, the old hash and CID kept as `superseded_*`); one that fails is scheduled
   * again with backoff, or given up after the policy's last attempt (it stays held). `model` resolves a record's
   * model id to the served model; a model the node no longer serves counts as a failed attempt.
   *
   * One pass at a time: a call while a pass runs gets that pass's report. A pending row kept by a node older than
   * the retry has no tokens: it is given up at once (attempts then count as the policy's maximum).
   */
  retryPendingGradients(model: (modelId: string) => DeployedModel | undefined): Promise<GradientRetryReport> {
    this.#retrying ??= this.#retryDue(model).finally(() => { this.#retrying = undefined; });
    return this.#retrying;
  }

  async #retryDue(resolve: (modelId: string) => DeployedModel | undefined): Promise<GradientRetryReport> {
    const report: GradientRetryReport = { completed: [], failed: [], givenUp: [] };
    const due = this.#database.db.prepare(`
      SELECT record_id, model_id, record_hash, record, cid, prompt_tokens, output_tokens, gradient_attempts FROM serve_records
      WHERE gradient_pending = 1
        AND ((gradient_next_attempt_at IS NOT NULL AND gradient_next_attempt_at <= ?) OR (gradient_next_attempt_at IS NULL AND gradient_attempts < ?))
      ORDER BY gradient_next_attempt_at, record_id
    `).all(this.#now(), this.#retryPolicy.maxAttempts) as Array<{
      record_id: string; model_id: string; record_hash: string; record: string; cid: string | null; prompt_tokens: string | null; output_tokens: string | null; gradient_attempts: number;
    }>;
    // A model whose sketch could not be fetched in this pass is not fetched again for its other records: each would
    // wait out the store's timeout for the same answer.
    const unfetchable = new Map<string, string>();
    for (const row of due) {
      const attempts = row.gradient_attempts + 1;
      const fail = (error: string, attemptsMade = attempts): void => {
        const next = nextAttemptAt(this.#retryPolicy, attemptsMade, this.#now());
        this.#database.db.prepare("UPDATE serve_records SET gradient_attempts = ?, gradient_error = ?, gradient_next_attempt_at = ? WHERE record_id = ? AND gradient_pending = 1")
          .run(attemptsMade, error, next, row.record_id);
        if (next === null) report.givenUp.push({ recordId: row.record_id, attempts: attemptsMade, error });
        else report.failed.push({ recordId: row.record_id, attempts: attemptsMade, error, nextAttemptAt: next });
      };
      if (row.prompt_tokens === null || row.output_tokens === null) {
        fail("its prompt and output tokens were not kept (served by a node version without gradient retries), so its gradient part cannot be computed",
          Math.max(attempts, this.#retryPolicy.maxAttempts));
        continue;
      }
      const model = resolve(row.model_id);
      if (model === undefined) {
        fail(`model ${row.model_id} is not served by this node (serve.models), so its gradient part cannot be computed here`);
        continue;
      }
      const skipped = unfetchable.get(model.name);
      if (skipped !== undefined) {
        fail(skipped);
        continue;
      }
      const stored = JSON.parse(row.record) as AttributionRecord;
      let outcome: { record: AttributionRecord; gradient: GradientOutcome };
      try {
        outcome = await this.#attributeOutput({
          requestId: row.record_id, model, promptTokens: JSON.parse(row.prompt_tokens) as number[], outputTokens: JSON.parse(row.output_tokens) as number[],
        });
      } catch (error) {
        fail(`the record could not be attributed again: ${(error as Error).message}`);
        continue;
      }
      const { record, gradient } = outcome;
      if (gradient === undefined) {
        fail("this node cannot compute gradients now (no engine or content store)");
        continue;
      }
      if ("error" in gradient) {
        if (gradient.stage === "artifacts") unfetchable.set(model.name, gradient.error);
        fail(gradient.error);
        continue;
      }
      // The same response: same output, same adapter and Datanet version; only the gradient part (and the mix) is new.
      if (record.output.hash !== stored.output.hash || record.model.cid !== stored.model.cid || record.datanet.root !== stored.datanet.root) {
        fail(`the rebuilt record does not match the stored one (output ${record.output.hash} vs ${stored.output.hash}, adapter ${record.model.cid} vs ${stored.model.cid})`);
        continue;
      }
      const hash = recordHash(record);
      // On IPFS first, then one sqlite statement: the row is either still pending or complete, never half.
      let cid: string | null = null;
      try {
        if (this.#store !== undefined) cid = (await this.#store.addJson(record)).toString();
      } catch (error) {
        fail(`the completed record could not be stored on IPFS: ${(error as Error).message}`);
        continue;
      }
      this.#database.db.prepare(`
        UPDATE serve_records SET record_hash = ?, record = ?, cid = ?, gradient_pending = 0, gradient_attempts = ?, gradient_error = NULL,
          gradient_next_attempt_at = NULL, superseded_hash = ?, superseded_cid = ?
        WHERE record_id = ? AND gradient_pending = 1
      `).run(hash, serializeRecord(record), cid, attempts, row.record_hash, row.cid, row.record_id);
      report.completed.push({ recordId: row.record_id, hash, cid, attempts, supersedes: { hash: row.record_hash, cid: row.cid } });
    }
    return report;
  }

  /** How many records are held out of settlement for their gradient part: still retried, and given up. */
  pendingGradientCounts(): { retrying: number; givenUp: number } {
    const row = this.#database.db.prepare(`
      SELECT COALESCE(SUM(gradient_next_attempt_at IS NOT NULL OR gradient_attempts < ?), 0) AS retrying,
        COALESCE(SUM(gradient_next_attempt_at IS NULL AND gradient_attempts >= ?), 0) AS given_up
      FROM serve_records WHERE gradient_pending = 1
    `).get(this.#retryPolicy.maxAttempts, this.#retryPolicy.maxAttempts) as { retrying: number; given_up: number };
    return { retrying: Number(row.retrying), givenUp: Number(row.given_up) };
  }

  /**
   * A stored record by id (the request id), as the node keeps it; `gradientPending`: held out of settlement (its
   * gradient part failed), with its retry state; `supersedes`: the span-only version a completed record replaced
   * (the hash and CID its response carried).
   */
  record(recordId: string): {
    record: AttributionRecord; cid: string | null; gradientPending: boolean; gradientRetry?: GradientRetryState; supersedes?: { hash: string; cid: string | null };
  } | undefined {
    const row = this.#database.db.prepare(`
      SELECT record, cid, gradient_pending, gradient_attempts, gradient_error, gradient_next_attempt_at, superseded_hash, superseded_cid FROM serve_records WHERE record_id = ?
    `).get(recordId) as {
      record: string; cid: string | null; gradient_pending: number; gradient_attempts: number; gradient_error: string | null; gradient_next_attempt_at: number | null;
      superseded_hash: string | null; superseded_cid: string | null;
    } | undefined;
    if (row === undefined) return undefined;
    return {
      record: JSON.parse(row.record) as AttributionRecord, cid: row.cid, gradientPending: row.gradient_pending === 1,
      ...(row.gradient_pending === 1 ? {
        gradientRetry: {
          attempts: row.gradient_attempts, error: row.gradient_error,
          nextAttemptAt: row.gradient_next_attempt_at === null ? null : new Date(row.gradient_next_attempt_at).toISOString(),
        },
      } : {}),
      ...(row.superseded_hash !== null ? { supersedes: { hash: row.superseded_hash, cid: row.superseded_cid } } : {}),
    };
  }
}

/** The confident prediction of a combined record against the model's calibrated threshold (none without one). */
function prediction(record: AttributionRecord, calibration: NullCalibration | undefined): Pick<TributaryField, "prediction"> {
  if (calibration === undefined || record.evidence.gradient === null) return {};
  const threshold = calibration.methods.combined.threshold;
  const top = [...record.weights].sort((a, b) => b.ppm - a.ppm)[0];
  const share = top === undefined ? 0 : top.ppm / 1e6;
  return { prediction: { method: "combined", threshold, contribution_id: share > threshold ? top.contributionId : null, share } };
}

function topContributions(record: AttributionRecord): TributaryField["contributions"] {
  return [...record.weights]
    .sort((a, b) => b.ppm - a.ppm)
    .slice(0, TOP_CONTRIBUTIONS)
    .map((w) => ({ contribution_id: w.contributionId, share: w.ppm / 1e6, ppm: w.ppm }));
}
