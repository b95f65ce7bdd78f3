/**
 * The node's OpenAI-compatible serving API: `GET /v1/models` (what it serves, at what price, paid to which node
 * and Settlement) and a streaming `POST /v1/chat/completions` paid per request through `createPayingFetch`
 * (nodes/src/serve/client/paying-fetch.ts, the same voucher logic every client uses).
 */
import type { Address, LocalAccount } from "viem";
import { createPayingFetch } from "../../../nodes/src/serve/client/paying-fetch.ts";
import { attributionOf, type TributaryAttribution } from "../lib/attribution.ts";
import { readSse } from "../lib/sse.ts";
import { NodeRejectedError, NodeUnreachableError, rejectionOf, requestNode } from "./node-request.ts";

export interface ServedModel {
  /** `tributary:<modelId>` */
  id: string;
  modelId: bigint;
  baseModel: string;
  pricePer1kTokens: bigint;
  termsVersion: bigint;
  node: Address;
  datanet?: { id: string; version: number; root: string };
}

export async function listServedModels(nodeUrl: string, fetcher: typeof fetch = fetch): Promise<ServedModel[]> {
  const response = await requestNode(nodeUrl, "/v1/models", undefined, fetcher);
  if (!response.ok) throw new NodeRejectedError(response.status, "", `GET /v1/models answered ${response.status}: this node does not serve models`);
  const body = (await response.json()) as { data?: { id: string; parent?: string; tributary?: { model_id: string; base_model?: { id: string; name: string }; price_per_1k_tokens: string; terms_version: string; node: Address; datanet?: ServedModel["datanet"] } }[] };
  return (body.data ?? [])
    .filter((m) => m.tributary)
    .map((m) => ({
      id: m.id,
      modelId: BigInt(m.tributary!.model_id),
      baseModel: m.tributary!.base_model?.name ?? m.parent ?? "",
      pricePer1kTokens: BigInt(m.tributary!.price_per_1k_tokens),
      termsVersion: BigInt(m.tributary!.terms_version),
      node: m.tributary!.node,
      datanet: m.tributary!.datanet,
    }));
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface Payment {
  node: Address;
  modelId: bigint;
  cumulativeAmount: bigint;
  cost: bigint;
}

/** A paying fetch for one payer and session key; keep one per key so cumulative amounts carry over. */
export function payingFetchFor(sessionKey: LocalAccount, payer: Address, onPayment: (payment: Payment) => void): typeof fetch {
  return createPayingFetch({ sessionKey, payer, onPayment, fetch: (...args) => globalThis.fetch(...args) });
}

/**
 * Streams one chat completion (the base model's chat template applied by the node): `onText` gets the answer so far after every token; resolves with the answer and its
 * attribution (the stream's last event). Throws NodeRejectedError with the node's code (402 payment problems
 * included) or an error event from the stream.
 */
export async function streamChat(
  nodeUrl: string,
  fetcher: typeof fetch,
  request: { model: string; messages: ChatMessage[]; maxTokens: number; temperature?: number },
  onText: (text: string) => void,
  signal?: AbortSignal,
): Promise<{ text: string; attribution?: TributaryAttribution }> {
  return streamGeneration(nodeUrl, fetcher, "/v1/chat/completions", { model: request.model, messages: request.messages, max_tokens: request.maxTokens, temperature: request.temperature, stream: true }, onText, signal);
}

/** The same as a plain text completion (`/v1/completions`, no chat template): the model continues `prompt`. */
export async function streamCompletion(
  nodeUrl: string,
  fetcher: typeof fetch,
  request: { model: string; prompt: string; maxTokens: number; temperature?: number },
  onText: (text: string) => void,
  signal?: AbortSignal,
): Promise<{ text: string; attribution?: TributaryAttribution }> {
  return streamGeneration(nodeUrl, fetcher, "/v1/completions", { model: request.model, prompt: request.prompt, max_tokens: request.maxTokens, temperature: request.temperature, stream: true }, onText, signal);
}

async function streamGeneration(
  nodeUrl: string,
  fetcher: typeof fetch,
  path: string,
  body: Record<string, unknown>,
  onText: (text: string) => void,
  signal?: AbortSignal,
): Promise<{ text: string; attribution?: TributaryAttribution }> {
  let response: Response;
  try {
    response = await fetcher(new URL(path, nodeUrl).toString(), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new NodeUnreachableError(nodeUrl, error);
  }
  if (!response.ok || !response.body) throw await rejectionOf(response);
  let text = "";
  let attribution: TributaryAttribution | undefined;
  for await (const data of readSse(response.body)) {
    const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string }; text?: string }[]; error?: { code?: string; message?: string } };
    if (chunk.error) throw new NodeRejectedError(500, chunk.error.code ?? "", chunk.error.message ?? "the node stopped the answer");
    const delta = chunk.choices?.[0]?.delta?.content ?? chunk.choices?.[0]?.text;
    if (delta) {
      text += delta;
      onText(text);
    }
    attribution = attributionOf(chunk) ?? attribution;
  }
  return { text, attribution };
}
