/** Server-sent events from a fetch body (EventSource cannot POST): `data:` payloads as they complete. */

/** Splits a growing text buffer into complete events' data, returning the data and the unfinished rest. */
export function takeSseData(buffer: string): { data: string[]; rest: string } {
  const normalized = buffer.replace(/\r\n/g, "\n");
  const events = normalized.split("\n\n");
  const rest = events.pop() ?? "";
  const data = events
    .map((event) =>
      event
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""))
        .join("\n"),
    )
    .filter((d) => d !== "");
  return { data, rest };
}

/** Every `data:` payload of a streamed response body, until `[DONE]` or the end of the body. */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value, { stream: !done });
      const { data, rest } = takeSseData(done ? `${buffer}\n\n` : buffer);
      buffer = rest;
      for (const d of data) {
        if (d === "[DONE]") return;
        yield d;
      }
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}
