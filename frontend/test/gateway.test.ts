import { describe, expect, it } from "vitest";
import { fetchJson, readDatanetMetadata } from "../src/node-api/gateway.ts";

describe("gateway", () => {
  it("reads the JSON at a CID from the node's /ipfs/ path", async () => {
    let url = "";
    const fetcher = (async (u: URL) => {
      url = u.toString();
      return new Response(JSON.stringify({ name: "Jargon" }));
    }) as unknown as typeof fetch;
    expect(await fetchJson("http://127.0.0.1:8700", "bafy123", fetcher)).toEqual({ name: "Jargon" });
    expect(url).toBe("http://127.0.0.1:8700/ipfs/bafy123");
  });

  it("answers undefined when the node is down, lacks the content or serves something else", async () => {
    const down = (async () => {
      throw new TypeError("Failed to fetch");
    }) as unknown as typeof fetch;
    const missing = (async () => new Response("not found", { status: 404 })) as unknown as typeof fetch;
    const text = (async () => new Response("plain text")) as unknown as typeof fetch;
    for (const fetcher of [down, missing, text]) expect(await fetchJson("http://n", "bafy", fetcher)).toBeUndefined();
  });

  it("keeps only string names and descriptions", () => {
    expect(readDatanetMetadata({ name: " Jargon ", description: "Hacker slang", extra: 1 })).toEqual({ name: "Jargon", description: "Hacker slang" });
    expect(readDatanetMetadata({ name: 42, description: "" })).toEqual({ name: undefined, description: undefined });
    expect(readDatanetMetadata(["x"])).toEqual({});
    expect(readDatanetMetadata(undefined)).toEqual({});
  });
});
