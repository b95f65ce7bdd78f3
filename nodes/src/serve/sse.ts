/** Server-sent events as OpenAI streams them: `data: <json>\n\n` per chunk, `data: [DONE]\n\n` at the end. */
import type { ServerResponse } from "node:http";

export class SseWriter {
  readonly #raw: ServerResponse;

  constructor(raw: ServerResponse) {
    this.#raw = raw;
  }

  open(headers: Record<string, string> = {}): void {
    this.#raw.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no", ...headers });
  }

  get closed(): boolean {
    return this.#raw.destroyed || this.#raw.writableEnded;
  }

  send(data: unknown): void {
    if (!this.closed) this.#raw.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  done(): void {
    if (this.closed) return;
    this.#raw.write("data: [DONE]\n\n");
    this.#raw.end();
  }
}
