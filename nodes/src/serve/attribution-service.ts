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
 * log line, so an honest node never settles a record a watcher would challenge (nodes/src/serve/README.md).
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
   * computed and the record is span-only.
   */
  gradient: { checkpoints: number; backend: string; effective_mix_ppm: number; ms: number } | { error: string } | null;
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

const TOP_CONTRIBUTIONS = 10;
const MAX_SPANS = 20;

export class AttributionService {
  readonly #database: NodeDatabase;
  readonly #store: ContentStore | undefined;
  readonly #engine: Pick<Engine, "outputGradients"> | undefined;
  readonly #indexes = new Map<string, Promise<SpanIndex>>();
  readonly #gradients = new Map<string, Promise<GradientArtifacts | undefined>>();

  /** Without `engine` (or a store), every record is span-only. */
  constructor(init: { database: NodeDatabase; store?: ContentStore; engine?: Pick<Engine, "outputGradients"> }) {
    this.#database = init.database;
    this.#store = init.store;
    this.#engine = init.engine;
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
    const hash = recordHash(record);
    const gradientPending = gradient !== undefined && "error" in gradient;
    this.#database.db.prepare(`
      INSERT OR REPLACE INTO serve_records (record_id, model_id, payer, cumulative_amount, record_hash, record, cid, created_at, prompt_tokens, output_tokens, gradient_pending)
      VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)
    `).run(record.requestId, record.model.id, input.payment.payer, input.payment.cumulative_amount, hash, serializeRecord(record), new Date().toISOString(),
      record.evidence.gradient ? JSON.stringify(input.promptTokens) : null, record.evidence.gradient ? JSON.stringify(input.outputTokens) : null, gradientPending ? 1 : 0);
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
          : "error" in gradient ? { error: gradient.error }
            : { checkpoints: gradient.evidence.output.length, backend: gradient.evidence.backend, effective_mix_ppm: record.parameters.effectiveMixPpm, ms: Math.round(gradient.seconds * 1e6) / 1e3 },
        ...prediction(record, gradient !== undefined && "evidence" in gradient ? gradient.calibration : undefined),
        attribution_ms: Math.round(seconds * 1e6) / 1e3,
      },
    };
  }

  /**
   * The gradient evidence of one output when the model has a sketch: its projected gradients at the sketch's
   * checkpoints, on the engine's worker. A failure (a base model loaded in half precision, an output past the
   * sketch's window...) leaves the record span-only and is reported in the response; it is never half-done.
   */
  async #outputGradients(input: { model: DeployedModel; outputTokens: readonly number[]; promptTokens?: readonly number[] }): Promise<
    { evidence: NonNullable<Parameters<typeof attribute>[0]["gradients"]>; seconds: number; calibration?: NullCalibration } | { error: string } | undefined
  > {
    const started = performance.now();
    let artifacts: GradientArtifacts | undefined;
    try {
      artifacts = await this.gradientArtifacts(input.model);
    } catch (error) {
      return { error: `the gradient sketch could not be loaded: ${(error as Error).message}` };
    }
    if (artifacts === undefined || this.#engine === undefined) return undefined;
    if (input.promptTokens === undefined || input.promptTokens.length === 0 || input.outputTokens.length === 0) {
      return { error: "no prompt or output tokens to take the output's gradient on" };
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
      return { error: `the output's gradient could not be computed: ${(error as Error).message}` };
    }
  }

  /** A stored record by id (the request id), as the node keeps it; `gradientPending`: held out of settlement (its gradient part failed). */
  record(recordId: string): { record: AttributionRecord; cid: string | null; gradientPending: boolean } | undefined {
    const row = this.#database.db.prepare("SELECT record, cid, gradient_pending FROM serve_records WHERE record_id = ?").get(recordId) as
      { record: string; cid: string | null; gradient_pending: number } | undefined;
    return row === undefined ? undefined : { record: JSON.parse(row.record) as AttributionRecord, cid: row.cid, gradientPending: row.gradient_pending === 1 };
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
