/**
 * On-chain inference: `Settlement.requestInference(modelId, node, promptCid, maxTokens, fee)` names this node;
 * the follower delivers `InferenceRequested` (confirmed, in order, maybe twice), the handler only records the
 * request in sqlite (`serve_onchain_requests`), and a worker serves the open ones one at a time: the prompt
 * document from IPFS, generation (local engine or upstream), attribution like any paid response, the result
 * document to IPFS, then `serveInference(requestId, resultCid)`, which splits the fee on-chain. A request is
 * marked served only after its transaction is mined; after a crash the worker finds it open again, and a
 * request the chain no longer holds open (served, refunded, expired) is closed with the chain's reason.
 * Each signed `serveInference` transaction's hash is written down before it is broadcast (`serve_txs`): the
 * settlement scheduler reads the contributor share of the fee from its receipt and credits the request's record
 * in a credit batch, like voucher revenue (nodes/src/settle/).
 *
 * Prompt document (`tributary.inference-prompt/1`): `{ "prompt": "..." }` or `{ "messages": [...] }`, with
 * optional `temperature`, `top_p`, `stop`, `seed`. Result document (`tributary.inference-result/1`):
 * `{ requestId, model, text, finishReason, usage, tributary }`, where `tributary` is the response's attribution.
 */
import type { Logger } from "pino";
import type { Address } from "viem";
import { renderChatTemplate } from "../engine/tokenizer/chat-template.ts";
import type { Engine } from "../engine/worker/index.ts";
import type { ChainEvent } from "../chain/events.ts";
import type { ProtocolChain } from "../chain/protocol.ts";
import type { NodeDatabase } from "../state/database.ts";
import { parseCid } from "../storage/index.ts";
import type { ContentStore } from "../storage/content-store.ts";
import type { AdapterTiers } from "./adapter-tiers.ts";
import type { AttributionService } from "./attribution-service.ts";
import type { DeployedModels } from "./deployed-models.ts";
import type { GenerationBackend } from "./upstream.ts";

export const INFERENCE_PROMPT_SCHEMA = "tributary.inference-prompt/1";
export const INFERENCE_RESULT_SCHEMA = "tributary.inference-result/1";

interface PromptDocument {
  prompt?: string;
  messages?: { role: string; content: string }[];
  temperature?: number;
  top_p?: number;
  stop?: string[];
  seed?: number;
}

interface RequestRow {
  request_id: string;
  requester: string;
  model_id: string;
  prompt_cid: string;
  max_tokens: number;
  status: string;
}

export interface OnchainInferenceInit {
  database: NodeDatabase;
  chain: ProtocolChain;
  engine: Engine;
  backend: GenerationBackend;
  models: DeployedModels;
  tiers: AdapterTiers;
  attribution: AttributionService;
  store: ContentStore;
  logger: Pick<Logger, "info" | "warn">;
}

export class OnchainInference {
  readonly #o: OnchainInferenceInit;
  #working: Promise<void> | undefined;
  #stopped = false;

  constructor(init: OnchainInferenceInit) {
    this.#o = init;
    init.database.db.exec(`
      CREATE TABLE IF NOT EXISTS serve_onchain_requests (
        request_id TEXT PRIMARY KEY,
        requester TEXT NOT NULL,
        model_id TEXT NOT NULL,
        prompt_cid TEXT NOT NULL,
        max_tokens INTEGER NOT NULL,
        status TEXT NOT NULL,
        result_cid TEXT,
        reason TEXT,
        updated_at TEXT NOT NULL
      );
    `);
    const columns = init.database.db.prepare("PRAGMA table_info(serve_onchain_requests)").all() as { name: string }[];
    if (!columns.some((c) => c.name === "serve_txs")) init.database.db.exec("ALTER TABLE serve_onchain_requests ADD COLUMN serve_txs TEXT");
  }

  get node(): Address {
    return this.#o.chain.account.address;
  }

  /** The follower's handler: records a request naming this node (idempotent) and wakes the worker. */
  handle(event: ChainEvent<"settlement">): void {
    const args = event.args as unknown as { requestId: bigint; requester: Address; node: Address; modelId: bigint; promptCid: string; maxTokens: bigint };
    if (args.node.toLowerCase() !== this.node.toLowerCase()) return;
    this.#o.database.db.prepare(`
      INSERT OR IGNORE INTO serve_onchain_requests (request_id, requester, model_id, prompt_cid, max_tokens, status, updated_at)
      VALUES (?, ?, ?, ?, ?, 'open', ?)
    `).run(args.requestId.toString(), args.requester, args.modelId.toString(), args.promptCid, Number(args.maxTokens), new Date().toISOString());
    this.kick();
  }

  /** Serves every open request (one worker at a time). */
  kick(): Promise<void> {
    this.#working ??= this.#work().finally(() => { this.#working = undefined; });
    return this.#working;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#working;
  }

  status(requestId: bigint): { status: string; resultCid: string | null; reason: string | null } | undefined {
    const row = this.#o.database.db.prepare("SELECT status, result_cid, reason FROM serve_onchain_requests WHERE request_id = ?").get(requestId.toString()) as
      { status: string; result_cid: string | null; reason: string | null } | undefined;
    return row === undefined ? undefined : { status: row.status, resultCid: row.result_cid, reason: row.reason };
  }

  async #work(): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      const row = this.#o.database.db.prepare("SELECT * FROM serve_onchain_requests WHERE status = 'open' ORDER BY CAST(request_id AS INTEGER) LIMIT 1").get() as RequestRow | undefined;
      if (row === undefined) return;
      try {
        await this.#serve(row);
      } catch (error) {
        // A transient failure (IPFS, RPC) leaves it open for the next wake-up; a bad request is closed by #serve.
        this.#o.logger.warn({ requestId: row.request_id, err: (error as Error).message.split("\n")[0] }, "on-chain inference failed; will retry");
        return;
      }
    }
  }

  #addServeTx(requestId: string, hash: string): void {
    this.#o.database.transaction(() => {
      const row = this.#o.database.db.prepare("SELECT serve_txs FROM serve_onchain_requests WHERE request_id = ?").get(requestId) as { serve_txs: string | null };
      const hashes = row.serve_txs === null ? [] : (JSON.parse(row.serve_txs) as string[]);
      if (!hashes.includes(hash)) hashes.push(hash);
      this.#o.database.db.prepare("UPDATE serve_onchain_requests SET serve_txs = ? WHERE request_id = ?").run(JSON.stringify(hashes), requestId);
    });
  }

  #close(requestId: string, status: "served" | "failed" | "closed", fields: { resultCid?: string; reason?: string }): void {
    this.#o.database.db.prepare("UPDATE serve_onchain_requests SET status = ?, result_cid = ?, reason = ?, updated_at = ? WHERE request_id = ?")
      .run(status, fields.resultCid ?? null, fields.reason ?? null, new Date().toISOString(), requestId);
  }

  async #serve(row: RequestRow): Promise<void> {
    const { chain, store, models, engine, backend, tiers, attribution, logger } = this.#o;
    const requestId = BigInt(row.request_id);
    const [, , , expiresAt, status] = (await chain.read("settlement", "inferenceRequestOf", [requestId])) as unknown as [Address, bigint, bigint, bigint, number, Address];
    if (status !== 1) return this.#close(row.request_id, "closed", { reason: `the request is no longer open on-chain (status ${status})` });
    const now = (await chain.client.getBlock()).timestamp;
    if (now >= expiresAt) return this.#close(row.request_id, "closed", { reason: "the request expired before it was served" });

    const model = models.resolve(row.model_id);
    if (model === undefined) return this.#close(row.request_id, "failed", { reason: `this node does not serve model ${row.model_id}` });
    let prompt: PromptDocument;
    try {
      prompt = await store.getJson<PromptDocument>(parseCid(row.prompt_cid));
    } catch (error) {
      return this.#close(row.request_id, "failed", { reason: `the prompt ${row.prompt_cid} cannot be read: ${(error as Error).message}` });
    }
    let text: string;
    if (typeof prompt?.prompt === "string") text = prompt.prompt;
    else if (Array.isArray(prompt?.messages) && model.base.chatTemplate !== undefined) {
      text = renderChatTemplate(model.base.chatTemplate, prompt.messages as never, { addGenerationPrompt: true, bosToken: model.base.bosToken, eosToken: model.base.eosToken });
    } else return this.#close(row.request_id, "failed", { reason: "the prompt document has neither a prompt string nor messages this model can render" });

    const promptIds = await engine.encode(model.engineModel, text);
    const maxTokens = Math.max(1, Math.min(row.max_tokens, model.base.contextLength - promptIds.length));
    if (promptIds.length === 0 || promptIds.length >= model.base.contextLength) {
      return this.#close(row.request_id, "failed", { reason: `the prompt is ${promptIds.length} tokens; the model holds ${model.base.contextLength}` });
    }
    if (backend.local) await tiers.ensure({ baseModel: model.engineModel, adapterId: model.adapterId, dir: model.adapterDir, cid: model.adapterCid });
    let output = "";
    const outputIds: number[] = [];
    let finish: { reason: string; promptTokens: number; completionTokens: number; outputTokens?: number[] } | undefined;
    for await (const event of backend.generate({
      model, promptText: text, promptIds, maxTokens, sampling: { temperature: prompt.temperature ?? 0, ...(prompt.top_p === undefined ? {} : { topP: prompt.top_p }) },
      stop: prompt.stop, ...(prompt.seed === undefined ? {} : { seed: prompt.seed }), signal: new AbortController().signal,
    })) {
      output += event.text;
      if (event.type === "token") outputIds.push(event.tokenId);
      else finish = event;
    }
    if (finish === undefined) throw new Error("the generation ended without finishing");
    const id = `onchain-${row.request_id}`;
    const outcome = await attribution.attribute({
      requestId: id, model, outputTokens: finish.outputTokens ?? outputIds, promptTokens: promptIds,
      payment: { payer: row.requester as Address, signer: row.requester as Address, cumulative_amount: "0", charged: "0", terms_version: "0" },
      decode: (ids) => engine.decode(model.engineModel, ids),
    });
    const result = {
      schema: INFERENCE_RESULT_SCHEMA, requestId: row.request_id, model: model.name, text: output, finishReason: finish.reason === "length" ? "length" : "stop",
      usage: { prompt_tokens: finish.promptTokens, completion_tokens: finish.completionTokens }, tributary: outcome.field,
    };
    const resultCid = (await store.addJson(result)).toString();
    await chain.sender.write({ contract: "settlement", functionName: "serveInference", args: [requestId, resultCid] }, {
      // Before broadcast: whichever version is mined, settlement finds its receipt (and the fee's contributor share).
      onSigned: (hash) => this.#addServeTx(row.request_id, hash),
    });
    this.#close(row.request_id, "served", { resultCid });
    logger.info({ requestId: row.request_id, resultCid }, "served an on-chain inference request");
  }
}
