/**
 * Every call into nodes/src/attribution made by serving lives here, so a change of the record format
 * (tributary.attribution/1 → /2) is adapted in this one module.
 *
 * After a paid response's last token, the output token ids are attributed against the model's span index
 * (the Datanet version the adapter was trained on), the record is stored in the node's sqlite and on IPFS,
 * and the response's `tributary` field summarizes it: the top contributions with their shares, the output
 * spans found in the Datanet with their sources, and the record's id and CID. Tokens stream before this
 * runs, so attribution never delays them; its cost is measured per response.
 */
import { readFile } from "node:fs/promises";
import type { Address } from "viem";
import {
  attribute, decodeSpanIndex, recordHash, serializeRecord, type AttributionRecord, type SpanIndex,
} from "../attribution/index.ts";
import type { NodeDatabase } from "../state/database.ts";
import type { ContentStore } from "../storage/content-store.ts";
import { fetchSpanIndexBytes } from "./artifacts.ts";
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
  attribution_ms: number;
}

export interface AttributionOutcome {
  field: TributaryField;
  seconds: number;
}

const TOP_CONTRIBUTIONS = 10;
const MAX_SPANS = 20;

export class AttributionService {
  readonly #database: NodeDatabase;
  readonly #store: ContentStore | undefined;
  readonly #indexes = new Map<string, Promise<SpanIndex>>();

  constructor(init: { database: NodeDatabase; store?: ContentStore }) {
    this.#database = init.database;
    this.#store = init.store;
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
   * Attributes one response's output and stores its record. `decode` turns token ids back into text (the
   * model's tokenizer) for the spans shown to the user.
   */
  async attribute(input: {
    requestId: string;
    model: DeployedModel;
    outputTokens: readonly number[];
    payment: TributaryField["payment"];
    decode: (ids: readonly number[]) => Promise<string>;
  }): Promise<AttributionOutcome> {
    const started = performance.now();
    const index = await this.spanIndex(input.model);
    const record = attribute({
      requestId: input.requestId,
      model: { id: input.model.modelId, cid: input.model.adapterCid },
      datanet: { id: input.model.datanet.id, version: input.model.datanet.version },
      outputTokens: input.outputTokens,
      index,
    });
    const hash = recordHash(record);
    this.#database.db.prepare(`
      INSERT OR REPLACE INTO serve_records (record_id, model_id, payer, cumulative_amount, record_hash, record, cid, created_at)
      VALUES (?, ?, ?, ?, ?, ?, NULL, ?)
    `).run(record.requestId, record.model.id, input.payment.payer, input.payment.cumulative_amount, hash, serializeRecord(record), new Date().toISOString());
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
      field: {
        record: { id: record.requestId, hash, cid, schema: record.schema },
        model: { id: record.model.id, adapter_cid: record.model.cid, datanet: { id: record.datanet.id, version: record.datanet.version, root: record.datanet.root } },
        payment: input.payment,
        contributions: topContributions(record),
        spans,
        attribution_ms: Math.round(seconds * 1e6) / 1e3,
      },
    };
  }

  /** A stored record by id (the request id), as the node keeps it. */
  record(recordId: string): { record: AttributionRecord; cid: string | null } | undefined {
    const row = this.#database.db.prepare("SELECT record, cid FROM serve_records WHERE record_id = ?").get(recordId) as { record: string; cid: string | null } | undefined;
    return row === undefined ? undefined : { record: JSON.parse(row.record) as AttributionRecord, cid: row.cid };
  }
}

function topContributions(record: AttributionRecord): TributaryField["contributions"] {
  return [...record.weights]
    .sort((a, b) => b.ppm - a.ppm)
    .slice(0, TOP_CONTRIBUTIONS)
    .map((w) => ({ contribution_id: w.contributionId, share: w.ppm / 1e6, ppm: w.ppm }));
}
