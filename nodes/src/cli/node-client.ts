/**
 * The CLI's client of a running node's HTTP API (`--node http://...`): uploads, document storage, job state and
 * the job's server-sent progress. A refused request becomes a NodeApiError carrying the node's JSON error
 * (code, field, message); an unreachable node says which URL was tried and how to start one.
 */
import { CONTRIBUTION_METADATA_HEADER } from "../api/storage-routes.ts";
import type { ContributionDescription, PreparedContribution } from "../datanets/prepare-contribution.ts";

export class NodeApiError extends Error {
  override name = "NodeApiError";
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly field: string | undefined;

  constructor(message: string, init: { status?: number; code?: string; field?: string } = {}) {
    super(message);
    this.status = init.status;
    this.code = init.code;
    this.field = init.field;
  }
}

export class NodeClient {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
  }

  async #request(path: string, init: RequestInit = {}): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, init);
    } catch (error) {
      throw new NodeApiError(`cannot reach the node at ${this.baseUrl} (${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}); start one with \`tributary-node start\` or pass --node <url>`);
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => "");
    let body: { error?: { code?: string; message?: string; field?: string } } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // not JSON: the status line says enough
    }
    const detail = body.error?.message ?? (text || response.statusText);
    throw new NodeApiError(`the node refused ${init.method ?? "GET"} ${path} (${response.status}${body.error?.field ? `, field ${body.error.field}` : ""}): ${detail}`, {
      status: response.status, code: body.error?.code, field: body.error?.field,
    });
  }

  async getJson<T>(path: string): Promise<T> {
    return (await (await this.#request(path)).json()) as T;
  }

  async postJson<T>(path: string, body: unknown = {}): Promise<T> {
    const response = await this.#request(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return (await response.json()) as T;
  }

  /** Uploads a contribution's bytes; the node validates, stores and pins them with their metadata. */
  async uploadContribution(bytes: Uint8Array, mediaType: string, description: ContributionDescription): Promise<PreparedContribution> {
    const response = await this.#request("/v1/contributions", {
      method: "POST",
      headers: { "content-type": mediaType, [CONTRIBUTION_METADATA_HEADER]: encodeURIComponent(JSON.stringify(description)) },
      body: bytes,
    });
    return (await response.json()) as PreparedContribution;
  }

  /** Reads `/ipfs/<cid>` as JSON through the node's verified gateway. */
  async ipfsJson<T>(cid: string): Promise<T> {
    return (await (await this.#request(`/ipfs/${cid}`, { headers: { accept: "application/json" } })).json()) as T;
  }

  /** Yields the server-sent events of `path` ({ event, data }) until the stream ends or `signal` aborts. */
  async *events(path: string, signal?: AbortSignal): AsyncGenerator<{ event: string; data: unknown }> {
    const response = await this.#request(path, { headers: { accept: "text/event-stream" }, signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = "message";
          let data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (data !== "") yield { event, data: JSON.parse(data) as unknown };
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }
}
