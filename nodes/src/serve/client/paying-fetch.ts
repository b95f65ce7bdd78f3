/**
 * Pay-per-request for OpenAI clients: a `fetch` wrapper that signs a fresh voucher for every completion and
 * chat request with a session key the payer authorized on-chain (`Settlement.authorizeSessionKey`), so an
 * app pays per request with no wallet prompt:
 *
 *   const fetch = createPayingFetch({ sessionKey: privateKeyToAccount(key), payer: "0x…" });
 *   const openai = new OpenAI({ baseURL: "http://node:8080/v1", apiKey: "unused", fetch });
 *   await openai.chat.completions.create({ model: "tributary:7", messages: [...] });
 *
 * For each request it asks the node's `POST /tokenize` what the request costs (prompt tokens + max output
 * tokens at the model's current price) and which node, chain and terms version to sign for, then signs the
 * channel's cumulative amount plus that cost. Cumulative amounts are tracked per (node, model); requests on
 * one channel are signed one after another (each waits until the node answered the previous one, which is
 * when the node has stored its voucher), so concurrent requests never sign the same amount twice. If the
 * node answers 402 with the amount it requires (another client of the same payer used the channel, or the
 * terms changed), the request is signed again once with that amount.
 *
 * A request the node fails to serve is not charged: its error (a JSON 5xx, or the stream's error event, read as
 * the body passes through) says `voided: true`, `accepted` (the channel's amount: the next voucher is signed on
 * top of it) and `credit` (what the channel owes from failed requests a later voucher already paid, e.g. a stream
 * that failed after the next request was signed: it pays for the next requests, as the node counts it).
 */
import type { Address, LocalAccount } from "viem";
import { channelDiscount, requestCost } from "../pricing.ts";
import { VOUCHER_HEADER, signVoucher } from "../voucher.ts";

export interface PayingFetchOptions {
  /** The session key (or the payer's own key) that signs vouchers. */
  sessionKey: LocalAccount;
  /** The payer whose escrow pays. */
  payer: Address;
  /** The underlying fetch (default: the global one). */
  fetch?: typeof fetch;
  /** Called after each accepted payment (for an app's spending display). */
  onPayment?: (payment: { node: Address; modelId: bigint; cumulativeAmount: bigint; cost: bigint }) => void;
}

interface Quote {
  cost: bigint;
  termsVersion: bigint;
  modelId: bigint;
  node: Address;
  chainId: number;
  settlement: Address;
}

/** What a failure response says about the request's payment. */
interface FailedPayment {
  voided?: boolean;
  accepted?: string;
  credit?: string;
}

/** Passes a server-sent event stream through, reporting each `data: { error }` event. */
function watchStream(body: ReadableStream<Uint8Array>, onError: (error: FailedPayment) => void): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  let buffer = "";
  const readFrame = (frame: string) => {
    const data = frame.split("\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trim()).join("\n");
    if (!data.startsWith("{")) return;
    try {
      const event = JSON.parse(data) as { error?: FailedPayment };
      if (event.error) onError(event.error);
    } catch {
      // not JSON: not ours to read
    }
  };
  const scan = (final: boolean) => {
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      readFrame(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
    if (final && buffer.length > 0) readFrame(buffer);
  };
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done: finished } = await reader.read();
        if (finished) {
          buffer += decoder.decode();
          scan(true);
          controller.close();
          return;
        }
        buffer += decoder.decode(value, { stream: true });
        scan(false);
        controller.enqueue(value);
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel(reason) {
      await reader.cancel(reason);
    },
  });
}

const PAID_PATHS = /\/v1\/(chat\/)?completions$/;
const RETRYABLE = new Set(["payment_required", "voucher_stale", "terms_changed"]);

export function createPayingFetch(options: PayingFetchOptions): typeof fetch {
  const baseFetch = options.fetch ?? globalThis.fetch;
  /** Latest cumulative amount this client signed and the node accepted, per `${node}/${modelId}`. */
  const cumulative = new Map<string, bigint>();
  /** What the node says each channel owes from failed requests (lowers the next vouchers, as the node counts it). */
  const credits = new Map<string, bigint>();
  /** Per channel, the end of the last request's signing turn. */
  const turns = new Map<string, Promise<void>>();

  async function quote(url: URL, body: string, headers: Headers): Promise<Quote | undefined> {
    const tokenizeUrl = new URL(url.pathname.replace(PAID_PATHS, "/tokenize"), url);
    const response = await baseFetch(tokenizeUrl, { method: "POST", body, headers: { "content-type": "application/json", ...(headers.get("authorization") ? { authorization: headers.get("authorization")! } : {}) } });
    if (!response.ok) return undefined;
    const q = await response.json() as { cost: string; terms_version: string; payment: { model_id: string; node: Address; chain_id: number; settlement: Address } };
    return { cost: BigInt(q.cost), termsVersion: BigInt(q.terms_version), modelId: BigInt(q.payment.model_id), node: q.payment.node, chainId: q.payment.chain_id, settlement: q.payment.settlement };
  }

  /** After a failed request the node voided: the channel's amount and credit are where the node says. */
  function resync(channel: string, error: FailedPayment | undefined): void {
    if (error?.voided !== true || typeof error.accepted !== "string" || !/^\d+$/.test(error.accepted)) return;
    cumulative.set(channel, BigInt(error.accepted));
    if (typeof error.credit === "string" && /^\d+$/.test(error.credit)) credits.set(channel, BigInt(error.credit));
  }

  async function signed(init: RequestInit, q: Quote, amount: bigint): Promise<RequestInit> {
    const { header } = await signVoucher(options.sessionKey, { chainId: q.chainId, settlement: q.settlement }, q.node, {
      payer: options.payer, modelId: q.modelId, termsVersion: q.termsVersion, cumulativeAmount: amount,
    });
    const headers = new Headers(init.headers);
    headers.set(VOUCHER_HEADER, header);
    return { ...init, headers };
  }

  return async function payingFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    const body = init.body;
    if ((init.method ?? "GET").toUpperCase() !== "POST" || !PAID_PATHS.test(url.pathname) || typeof body !== "string") return baseFetch(input, init);

    let q = await quote(url, body, new Headers(init.headers));
    // A request the node would refuse anyway (bad field, unknown model) goes out unpaid, to get the node's own error.
    if (q === undefined) return baseFetch(input, init);
    const channel = `${q.node}/${q.modelId}`;
    const previousTurn = turns.get(channel) ?? Promise.resolve();
    let endTurn!: () => void;
    const turn = new Promise<void>((resolve) => { endTurn = resolve; });
    turns.set(channel, previousTurn.then(() => turn));
    await previousTurn;
    try {
      let discount = channelDiscount(credits.get(channel) ?? 0n, q.cost);
      let amount = (cumulative.get(channel) ?? 0n) + q.cost - discount;
      let response = await baseFetch(input, await signed(init, q, amount));
      if (response.status === 402) {
        const error = (await response.clone().json().catch(() => undefined) as { error?: { code?: string; required?: string; accepted?: string; cost?: string; credit?: string } } | undefined)?.error;
        if (error?.code !== undefined && RETRYABLE.has(error.code)) {
          if (error.code === "terms_changed") {
            q = (await quote(url, body, new Headers(init.headers))) ?? q;
            discount = channelDiscount(credits.get(channel) ?? 0n, q.cost);
            amount = (cumulative.get(channel) ?? 0n) + q.cost - discount;
          } else if (error.required !== undefined) {
            amount = BigInt(error.required);
            // What the node's credit covers of this request, as the node counts it (so both sides consume the same).
            if (error.credit !== undefined) credits.set(channel, BigInt(error.credit));
            const covered = error.accepted !== undefined && error.cost !== undefined ? BigInt(error.accepted) + BigInt(error.cost) - amount : 0n;
            discount = covered > 0n ? covered : 0n;
          }
          response = await baseFetch(input, await signed(init, q, amount));
        }
      }
      if (response.ok) {
        cumulative.set(channel, amount);
        credits.set(channel, (credits.get(channel) ?? 0n) - discount);
        options.onPayment?.({ node: q.node, modelId: q.modelId, cumulativeAmount: amount, cost: q.cost });
      } else if (response.status >= 500) {
        resync(channel, (await response.clone().json().catch(() => undefined) as { error?: FailedPayment } | undefined)?.error);
      }
      if (response.ok && response.body !== null && /text\/event-stream/.test(response.headers.get("content-type") ?? "")) {
        // A failure after the headers comes as an error event in the stream: resync from it as it passes.
        return new Response(watchStream(response.body, (error) => resync(channel, error)), { status: response.status, statusText: response.statusText, headers: response.headers });
      }
      return response;
    } finally {
      endTurn();
    }
  } as typeof fetch;
}

export { requestCost };
