/**
 * The OpenAI-compatible API, as a route plugin:
 *
 *   GET  /v1/models             every deployed model this node serves (base model as `parent`, price, Datanet, node)
 *   POST /v1/completions        text completion; `stream: true` streams OpenAI chunks as server-sent events
 *   POST /v1/chat/completions   chat, rendered with the base model's chat template; streams likewise
 *   POST /tokenize              (vLLM's) prompt token count and the request's price: what a client signs for
 *   GET  /v1/records/:id        an attribution record this node stored
 *
 * A generation request is checked in this order, before any work for it starts: body fields (400 naming
 * the field, 413 for an oversized prompt), model (404), queue (429 with Retry-After), payment (401 / 402;
 * the voucher is stored durably before the response starts). Then the adapter loads if needed, tokens
 * stream from the engine's worker, and the attribution of the output ends the response in a `tributary`
 * field (the last SSE event before `[DONE]` when streaming).
 *
 * A request that fails on the node's side after its voucher was stored (the engine, the upstream server) is not
 * charged: the voucher is voided (PaymentGate.void) and the error (a JSON 5xx, or the SSE error event once the
 * stream started, even after some output) carries `voided: true` and `accepted`, the channel's amount the next
 * voucher builds on. A client that goes away mid-request is charged: it chose to stop what it paid for.
 */
import { hijackWithHeaders } from "../api/hijack.ts";
import { randomBytes } from "node:crypto";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Address } from "viem";
import { ApiError } from "../api/errors.ts";
import {
  AdapterLoadError, EngineClosedError, EngineWorkerExitedError, InvalidRequestError, ModelNotLoadedError, SchedulerClosedError,
  type Engine, type FinishReason, type GenerationEvent,
} from "../engine/worker/index.ts";
import { renderChatTemplate } from "../engine/tokenizer/chat-template.ts";
import type { AdapterTiers } from "./adapter-tiers.ts";
import type { AttributionService, TributaryField } from "./attribution-service.ts";
import type { DeployedModel, DeployedModels } from "./deployed-models.ts";
import { ServeError, badField } from "./errors.ts";
import { parseOpenAiRequest, type ParsedRequest } from "./openai-request.ts";
import type { PaymentChain, PaymentGate } from "./payment-gate.ts";
import { defaultMaxTokens, requestCost } from "./pricing.ts";
import type { ServeMetrics } from "./serve-metrics.ts";
import { SseWriter } from "./sse.ts";
import { VOUCHER_HEADER, parseVoucherHeader, type VoucherDomain } from "./voucher.ts";
import type { AcceptedVoucher } from "./voucher-store.ts";
import { localBackend, type GenerationBackend } from "./upstream.ts";

export interface OpenAiRouteDeps {
  engine: Engine;
  /** False: no attribution and no record (benchmarks measure its cost this way; nothing is settled for such responses). */
  attributionEnabled?: boolean;
  /** Where tokens are generated: the local engine (default) or an upstream OpenAI-compatible server. */
  backend?: GenerationBackend;
  models: DeployedModels;
  tiers: AdapterTiers;
  payments: PaymentGate;
  paymentChain: PaymentChain;
  attribution: AttributionService;
  metrics: ServeMetrics;
  node: Address;
  domain: VoucherDomain;
  /** Generations admitted (waiting or running) at most; beyond, requests get 429. */
  maxQueued: number;
  /** Seconds a refused client should wait (Retry-After). */
  retryAfterSeconds?: number;
}

/** The engine's field names, as the API spells them. */
const ENGINE_FIELDS: Record<string, string> = { maxTokens: "max_tokens", topP: "top_p", temperature: "temperature", stop: "stop", prompt: "prompt", seed: "seed" };

interface Prepared {
  parsed: ParsedRequest;
  model: DeployedModel;
  promptIds: number[];
  /** The prompt as text (the chat template applied): what an upstream server is given. */
  promptText: string;
  maxTokens: number;
}

/** The output's token ids: an upstream finish event carries them (encoded from its text), else the token events'. */
const outputIdsOf = (finish: GenerationEvent, streamed: number[]): number[] => (finish as { outputTokens?: number[] }).outputTokens ?? streamed;

export function openAiRoutes(deps: OpenAiRouteDeps) {
  let inFlight = 0;
  const queued = () => inFlight;
  const backend = deps.backend ?? localBackend(deps.engine);

  return Object.assign(async (app: FastifyInstance) => {
    app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
      const { status, body } = errorResponse(error, request);
      if (error instanceof ServeError && error.retryAfter !== undefined) reply.header("retry-after", String(error.retryAfter));
      if (status === 402 || status === 401) deps.metrics.paymentsRefused.inc({ code: body.error.code });
      deps.metrics.requests.inc({ endpoint: request.routeOptions.url ?? "unmatched", status: String(status) });
      return reply.status(status).send(body);
    });

    app.get("/v1/models", async () => {
      const data = await Promise.all(deps.models.list().map(async (model) => {
        const terms = await deps.paymentChain.modelTerms(model.modelId);
        return {
          id: model.name,
          object: "model",
          created: 0,
          owned_by: model.owner,
          root: `ipfs://${model.adapterCid}`,
          parent: model.baseModelName,
          max_model_len: model.base.contextLength,
          tributary: {
            model_id: model.modelId.toString(),
            base_model: { id: model.baseModelId.toString(), name: model.baseModelName },
            price_per_1k_tokens: terms.pricePer1kTokens.toString(),
            terms_version: terms.termsVersion.toString(),
            datanet: { id: model.datanet.id.toString(), version: model.datanet.version, root: model.datanet.root },
            adapter_cid: model.adapterCid,
            attribution_index_cid: model.attributionIndexCid,
            node: deps.node,
            chain_id: deps.domain.chainId,
            settlement: deps.domain.settlement,
          },
        };
      }));
      return { object: "list", data };
    });

    app.post("/tokenize", async (request) => {
      const body = request.body as Record<string, unknown> | null;
      const kind = body !== null && typeof body === "object" && "messages" in body ? "chat" : "completion";
      const prepared = await prepare(kind, body);
      const terms = await deps.paymentChain.modelTerms(prepared.model.modelId);
      return {
        model: prepared.model.name,
        count: prepared.promptIds.length,
        max_model_len: prepared.model.base.contextLength,
        max_tokens: prepared.maxTokens,
        tokens: prepared.promptIds,
        price_per_1k_tokens: terms.pricePer1kTokens.toString(),
        terms_version: terms.termsVersion.toString(),
        cost: requestCost(prepared.promptIds.length, prepared.maxTokens, terms.pricePer1kTokens).toString(),
        // What a voucher for this request signs besides the amount.
        payment: { model_id: prepared.model.modelId.toString(), node: deps.node, chain_id: deps.domain.chainId, settlement: deps.domain.settlement },
      };
    });

    app.get("/v1/records/:id", async (request) => {
      const { id } = request.params as { id: string };
      const stored = deps.attribution.record(id);
      if (stored === undefined) throw new ApiError(404, "record_not_found", `no attribution record ${id} on this node`, "id");
      return stored;
    });

    app.post("/v1/completions", (request, reply) => generate("completion", request, reply));
    app.post("/v1/chat/completions", (request, reply) => generate("chat", request, reply));
  }, { queued });

  async function prepare(kind: ParsedRequest["kind"], body: unknown): Promise<Prepared> {
    const parsed = parseOpenAiRequest(kind, body);
    const model = deps.models.resolve(parsed.model);
    if (model === undefined) {
      throw new ApiError(404, "model_not_found", `this node does not serve model "${parsed.model}"; GET /v1/models lists the models it serves`, "model");
    }
    let text: string;
    if (parsed.messages !== null) {
      if (model.base.chatTemplate === undefined) throw badField("messages", `cannot be rendered: ${model.baseModelName} has no chat template; use /v1/completions`);
      text = renderChatTemplate(model.base.chatTemplate, parsed.messages, { addGenerationPrompt: true, bosToken: model.base.bosToken, eosToken: model.base.eosToken });
    } else {
      text = parsed.prompt!;
    }
    const promptIds = await deps.engine.encode(model.engineModel, text);
    const field = kind === "chat" ? "messages" : "prompt";
    if (promptIds.length === 0) throw badField(field, "encodes to no tokens");
    const context = model.base.contextLength;
    if (promptIds.length >= context) {
      throw new ApiError(413, "prompt_too_large", `the prompt is ${promptIds.length} tokens; ${model.name} holds ${context} positions, prompt and output together`, field);
    }
    const maxTokens = parsed.maxTokens ?? defaultMaxTokens(kind, promptIds.length, context);
    if (promptIds.length + maxTokens > context) {
      throw badField(kind === "chat" && (body as Record<string, unknown>).max_completion_tokens != null ? "max_completion_tokens" : "max_tokens",
        `is ${maxTokens}, but the prompt's ${promptIds.length} tokens leave ${context - promptIds.length} of the model's ${context} positions`);
    }
    return { parsed, model, promptIds, promptText: text, maxTokens };
  }

  async function generate(kind: ParsedRequest["kind"], request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const endpoint = kind === "chat" ? "/v1/chat/completions" : "/v1/completions";
    const { parsed, model, promptIds, promptText, maxTokens } = await prepare(kind, request.body);
    if (inFlight >= deps.maxQueued) {
      const retryAfter = deps.retryAfterSeconds ?? 1;
      throw new ServeError(429, "queue_full", `the generation queue is full (${inFlight} of ${deps.maxQueued}); retry after ${retryAfter} s`, { retryAfter, details: { queued: inFlight } });
    }
    inFlight++;
    let released = false;
    const release = () => {
      if (!released) inFlight--;
      released = true;
    };
    try {
      const voucher = parseVoucherHeader(request.headers[VOUCHER_HEADER]);
      // Upstream, the adapter lives in the upstream server (vLLM/LoRAX load the PEFT folder themselves).
      if (backend.local) await deps.tiers.ensure({ baseModel: model.engineModel, adapterId: model.adapterId, dir: model.adapterDir, cid: model.adapterCid });
      // The span index and the gradient sketch with its checkpoints load (once) while the tokens are generated, not after them.
      deps.attribution.spanIndex(model).catch(() => undefined);
      deps.attribution.gradientArtifacts(model).catch(() => undefined);
      const id = `${kind === "chat" ? "chatcmpl" : "cmpl"}-${randomBytes(12).toString("hex")}`;
      const accepted = await deps.payments.authorize({ requestId: id, voucher, modelId: model.modelId, promptTokens: promptIds.length, maxTokens });
      deps.metrics.vouchersAccepted.inc({ model: model.name });

      const controller = new AbortController();
      let finished = false;
      reply.raw.on("close", () => {
        if (!finished) controller.abort();
      });
      const sampling = parsed.topP === 0 ? { temperature: 0 } : { temperature: parsed.temperature, topP: parsed.topP };
      const events = backend.generate({
        model, promptText, promptIds, maxTokens, sampling, stop: parsed.stop, ...(parsed.seed === undefined ? {} : { seed: parsed.seed }), signal: controller.signal,
      });
      const created = Math.floor(Date.now() / 1000);
      const chunkBase = { id, object: kind === "chat" ? "chat.completion.chunk" : "text_completion", created, model: model.name };
      const context: ResponseContext = { id, model, accepted, promptIds };
      /** After a failure on the node's side: the request's voucher is voided; what the error response adds. */
      const voidPayment = async (error: Error): Promise<Record<string, unknown>> => {
        if (controller.signal.aborted) return {}; // the client went away: it is charged
        const payment = await deps.payments.void(id, `${(error as { code?: string }).code ?? error.name}: ${error.message}`.slice(0, 500)).catch(() => undefined);
        return payment ?? {};
      };
      const cancelledByNode = () => new ServeError(503, "generation_cancelled", "the node stopped this generation before it finished (the model was unloaded or the engine is shutting down); retry");

      if (!parsed.stream) {
        let collected: Awaited<ReturnType<typeof collect>>;
        try {
          collected = await collect(events);
          if (collected.finish.reason === "cancelled" && !controller.signal.aborted) throw cancelledByNode();
        } catch (error) {
          finished = true;
          const { status, body } = errorResponse(error as Error, request);
          const payment = await voidPayment(error as Error);
          if (error instanceof ServeError && error.retryAfter !== undefined) reply.header("retry-after", String(error.retryAfter));
          deps.metrics.requests.inc({ endpoint, status: String(status) });
          return reply.status(status).send({ error: { ...body.error, ...payment } });
        }
        const { text, outputTokens, finish } = collected;
        finished = true;
        const tributary = deps.attributionEnabled === false ? undefined : await attributionOf(context, outputTokens);
        release();
        deps.metrics.requests.inc({ endpoint, status: "200" });
        const usage = { prompt_tokens: finish.promptTokens, completion_tokens: finish.completionTokens, total_tokens: finish.promptTokens + finish.completionTokens };
        const finishReason = finishReasonOf(finish.reason);
        return kind === "chat"
          ? { id, object: "chat.completion", created, model: model.name, choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason: finishReason }], usage, tributary }
          : { id, object: "text_completion", created, model: model.name, choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }], usage, tributary };
      }

      // Streaming: the voucher is stored; from here the response is ours to write.
      const sse = new SseWriter(hijackWithHeaders(reply));
      sse.open({ "x-request-id": id });
      const delta = (text: string | null, finishReason: string | null, role?: string) => kind === "chat"
        ? { ...chunkBase, choices: [{ index: 0, delta: role === undefined ? (text === null ? {} : { content: text }) : { role, content: text ?? "" }, logprobs: null, finish_reason: finishReason }] }
        : { ...chunkBase, choices: [{ index: 0, text: text ?? "", logprobs: null, finish_reason: finishReason }] };
      try {
        if (kind === "chat") sse.send(delta("", null, "assistant"));
        const outputTokens: number[] = [];
        let finish: Extract<GenerationEvent, { type: "finish" }> | undefined;
        for await (const event of events) {
          if (event.type === "token") {
            outputTokens.push(event.tokenId);
            if (event.text.length > 0) sse.send(delta(event.text, null));
          } else {
            finish = event;
            if (event.text.length > 0) sse.send(delta(event.text, null));
          }
        }
        finished = true;
        if (finish === undefined || finish.reason === "cancelled") {
          if (!controller.signal.aborted) throw finish === undefined ? new ServeError(503, "generation_ended", "the generation ended without finishing; retry") : cancelledByNode();
          sse.done();
          return reply;
        }
        sse.send(delta(null, finishReasonOf(finish.reason)));
        if (parsed.includeUsage) {
          sse.send({ ...chunkBase, choices: [], usage: { prompt_tokens: finish.promptTokens, completion_tokens: finish.completionTokens, total_tokens: finish.promptTokens + finish.completionTokens } });
        }
        release();
        if (deps.attributionEnabled !== false) sse.send({ ...chunkBase, choices: [], tributary: await attributionOf(context, outputIdsOf(finish, outputTokens)) });
        sse.done();
        deps.metrics.requests.inc({ endpoint, status: "200" });
      } catch (error) {
        // Headers are sent: the error goes out as an SSE event, which the openai client raises as an APIError.
        // Output may have gone out already: the node failed to finish it, so nothing is charged (README: failed requests).
        const { status, body } = errorResponse(error as Error, request);
        const payment = await voidPayment(error as Error);
        deps.metrics.requests.inc({ endpoint, status: String(status) });
        sse.send({ error: { ...body.error, ...payment } });
        sse.done();
      }
      return reply;
    } finally {
      release();
    }
  }

  async function collect(events: AsyncIterableIterator<GenerationEvent>) {
    let text = "";
    const outputTokens: number[] = [];
    for await (const event of events) {
      text += event.text;
      if (event.type === "token") outputTokens.push(event.tokenId);
      else return { text, outputTokens: outputIdsOf(event, outputTokens), finish: event };
    }
    throw new ServeError(503, "generation_ended", "the generation ended without finishing (the model was unloaded); retry");
  }

  async function attributionOf(context: ResponseContext, outputTokens: number[]): Promise<TributaryField | { error: string }> {
    const { model, accepted } = context;
    try {
      const outcome = await deps.attribution.attribute({
        requestId: context.id, model, outputTokens, promptTokens: context.promptIds,
        payment: {
          payer: accepted.payer, signer: accepted.signer, cumulative_amount: accepted.cumulativeAmount.toString(),
          charged: accepted.charged.toString(), terms_version: accepted.termsVersion.toString(),
        },
        decode: (ids) => deps.engine.decode(model.engineModel, ids),
      });
      deps.metrics.attributionSeconds.observe({ model: model.name }, outcome.seconds);
      if (outcome.gradientSeconds !== undefined) deps.metrics.attributionGradientSeconds.observe({ model: model.name }, outcome.gradientSeconds);
      return outcome.field;
    } catch (error) {
      return { error: `attribution failed: ${(error as Error).message}` };
    }
  }
}

interface ResponseContext {
  id: string;
  model: DeployedModel;
  accepted: AcceptedVoucher;
  /** The prompt as the model was fed it: a gradient attribution is conditioned on it. */
  promptIds: readonly number[];
}

const finishReasonOf = (reason: FinishReason): string => (reason === "length" ? "length" : "stop");

type ErrorJson = { error: { code: string; message: string; field?: string; [detail: string]: unknown } };

/** Every failure as a status and a JSON body; only the node's own failures are 5xx (and logged). */
function errorResponse(error: Error & { statusCode?: number; code?: string; validation?: unknown }, request: FastifyRequest): { status: number; body: ErrorJson } {
  const body = (code: string, message: string, field?: string, details: Record<string, unknown> = {}): ErrorJson =>
    ({ error: { code, message, ...(field === undefined ? {} : { field }), ...details } });
  if (error instanceof ServeError) return { status: error.statusCode, body: body(error.code, error.message, error.field, error.details) };
  if (error instanceof ApiError) return { status: error.statusCode, body: body(error.code, error.message, error.field) };
  if (error instanceof InvalidRequestError) {
    const field = String((error.details as { field?: unknown }).field ?? "");
    return { status: 400, body: body("invalid_request", error.message, ENGINE_FIELDS[field] ?? field) };
  }
  if (error instanceof ModelNotLoadedError) return { status: 404, body: body("model_not_found", error.message, "model") };
  if (error instanceof AdapterLoadError || error instanceof SchedulerClosedError || error instanceof EngineClosedError || error instanceof EngineWorkerExitedError) {
    request.log.error({ err: error }, "generation unavailable");
    return { status: 503, body: body("unavailable", `the node cannot generate now: ${error.message}`) };
  }
  if (error.name === "ChatTemplateError") return { status: 400, body: body("invalid_request", error.message, "messages") };
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return { status, body: body(error.code === undefined ? "bad_request" : error.code.toLowerCase(), error.message) };
  request.log.error({ err: error }, "request failed");
  return { status: 500, body: body("internal", "internal error; see the node's log") };
}
