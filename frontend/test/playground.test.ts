import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { parseVoucherHeader, recoverVoucherSigner } from "../../nodes/src/serve/voucher.ts";
import { attributionOf, segmentOutput, sharesByContributor } from "../src/lib/attribution.ts";
import { loadSessionKey, replaceSessionKey, sessionKeyStatus } from "../src/lib/session-key.ts";
import { readSse, takeSseData } from "../src/lib/sse.ts";
import { listServedModels, payingFetchFor, streamChat, type Payment } from "../src/node-api/serving.ts";

const PAYER = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d").address;
const NODE = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const SETTLEMENT = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

function memoryStorage() {
  const map = new Map<string, string>();
  return { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) };
}

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({ start(controller) { for (const c of chunks) controller.enqueue(encoder.encode(c)); controller.close(); } });
}

describe("server-sent events from fetch", () => {
  it("takes complete events and keeps the unfinished rest", () => {
    expect(takeSseData("data: a\n\ndata: b\r\n\r\ndata: par")).toEqual({ data: ["a", "b"], rest: "data: par" });
    expect(takeSseData(": comment\n\nevent: x\ndata: 1\ndata: 2\n\n")).toEqual({ data: ["1\n2"], rest: "" });
  });

  it("reassembles events split across chunks and stops at [DONE]", async () => {
    const seen: string[] = [];
    for await (const d of readSse(streamOf(["data: {\"a\"", ":1}\n\nda", "ta: 2\n\ndata: [DONE]\n\ndata: after\n\n"]))) seen.push(d);
    expect(seen).toEqual(['{"a":1}', "2"]);
  });
});

describe("attribution display", () => {
  const output = "The hacker said foo bar baz, then foo again.";
  it("highlights each span once, longest first, leaving the rest plain", () => {
    const segments = segmentOutput(output, [{ text: "foo" }, { text: "foo bar baz" }, { text: "not there" }, { text: " " }]);
    expect(segments.map((s) => s.text).join("")).toBe(output);
    expect(segments.filter((s) => s.span !== undefined)).toEqual([{ text: "foo bar baz", span: 1 }, { text: "foo", span: 0 }]);
  });

  it("sums shares per contributor, largest first", () => {
    const owners: Record<string, string> = { "1": "0xA", "2": "0xB", "3": "0xA" };
    expect(sharesByContributor([{ contribution_id: "1", share: 0.2, ppm: 200000 }, { contribution_id: "2", share: 0.5, ppm: 500000 }, { contribution_id: "3", share: 0.2, ppm: 200000 }, { contribution_id: "9", share: 0.1, ppm: 100000 }], (id) => owners[id])).toEqual([
      { contributor: "0xB", share: 0.5, contributionIds: ["2"] },
      { contributor: "0xA", share: 0.4, contributionIds: ["1", "3"] },
      { contributor: "unknown", share: 0.1, contributionIds: ["9"] },
    ]);
  });

  it("finds the tributary field only in the chunk that has one", () => {
    expect(attributionOf({ choices: [{ delta: { content: "x" } }] })).toBeUndefined();
    expect(attributionOf({ choices: [], tributary: { contributions: [], spans: [] } })).toBeTruthy();
  });
});

describe("session key", () => {
  it("is generated once per payer and tab, and can be replaced", () => {
    const storage = memoryStorage();
    const first = loadSessionKey(PAYER, storage);
    expect(loadSessionKey(PAYER, storage).address).toBe(first.address);
    expect(loadSessionKey(NODE, storage).address).not.toBe(first.address);
    const next = replaceSessionKey(PAYER, storage);
    expect(next.address).not.toBe(first.address);
    expect(loadSessionKey(PAYER, storage).address).toBe(next.address);
  });

  it("says whether it can pay", () => {
    expect(sessionKeyStatus({ cap: 0n, spent: 0n, expiresAt: 0n }, 100n)).toBe("unauthorized");
    expect(sessionKeyStatus({ cap: 10n, spent: 0n, expiresAt: 100n }, 100n)).toBe("expired");
    expect(sessionKeyStatus({ cap: 10n, spent: 10n, expiresAt: 200n }, 100n)).toBe("exhausted");
    expect(sessionKeyStatus({ cap: 10n, spent: 3n, expiresAt: 200n }, 100n)).toBe("active");
  });
});

describe("paid streaming chat", () => {
  it("lists the node's priced models", async () => {
    const fetcher = (async () => new Response(JSON.stringify({ data: [
      { id: "tributary:1", parent: "tributary-base", tributary: { model_id: "1", base_model: { id: "1", name: "tributary-base" }, price_per_1k_tokens: "1000", terms_version: "2", node: NODE, datanet: { id: "1", version: 1, root: "0x" } } },
      { id: "plain" },
    ] }))) as unknown as typeof fetch;
    expect(await listServedModels("http://n", fetcher)).toEqual([{ id: "tributary:1", modelId: 1n, baseModel: "tributary-base", pricePer1kTokens: 1000n, termsVersion: 2n, node: NODE, datanet: { id: "1", version: 1, root: "0x" } }]);
  });

  it("signs each message's voucher with the session key, cumulatively, and returns the streamed answer with its attribution", async () => {
    const sessionKey = loadSessionKey(PAYER, memoryStorage());
    const vouchers: { signer: string | null; amount: bigint }[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: string | URL, init: RequestInit = {}) => {
      const url = new URL(input.toString());
      if (url.pathname === "/tokenize") return new Response(JSON.stringify({ cost: "150", terms_version: "2", payment: { model_id: "1", node: NODE, chain_id: 31337, settlement: SETTLEMENT } }));
      const header = new Headers(init.headers).get("x-tributary-voucher")!;
      const voucher = parseVoucherHeader(header);
      vouchers.push({ signer: await recoverVoucherSigner({ chainId: 31337, settlement: SETTLEMENT }, NODE, voucher), amount: voucher.cumulativeAmount });
      const tributary = { record: { id: "r", hash: "0x1234", cid: null, schema: "s" }, model: { id: "1", adapter_cid: "b", datanet: { id: "1", version: 1, root: "0x" } }, payment: { payer: PAYER, signer: sessionKey.address, cumulative_amount: String(voucher.cumulativeAmount), charged: "150", terms_version: "2" }, contributions: [{ contribution_id: "1", share: 1, ppm: 1e6 }], spans: [] };
      return new Response(streamOf([`data: ${JSON.stringify({ choices: [{ delta: { content: "Hel" } }] })}\n\n`, `data: ${JSON.stringify({ choices: [{ delta: { content: "lo" } }] })}\n\n`, `data: ${JSON.stringify({ choices: [], tributary })}\n\ndata: [DONE]\n\n`]), { headers: { "content-type": "text/event-stream" } });
    }) as typeof fetch;
    try {
      const payments: Payment[] = [];
      const paying = payingFetchFor(sessionKey, PAYER, (p) => payments.push(p));
      const partial: string[] = [];
      const first = await streamChat("http://127.0.0.1:8700", paying, { model: "tributary:1", messages: [{ role: "user", content: "hi" }], maxTokens: 8 }, (t) => partial.push(t));
      const second = await streamChat("http://127.0.0.1:8700", paying, { model: "tributary:1", messages: [{ role: "user", content: "again" }], maxTokens: 8 }, () => {});
      expect(partial).toEqual(["Hel", "Hello"]);
      expect(first.text).toBe("Hello");
      expect(first.attribution?.contributions[0].contribution_id).toBe("1");
      expect(second.attribution?.payment.cumulative_amount).toBe("300");
      expect(vouchers).toEqual([{ signer: sessionKey.address, amount: 150n }, { signer: sessionKey.address, amount: 300n }]);
      expect(payments.map((p) => p.cumulativeAmount)).toEqual([150n, 300n]);
    } finally {
      globalThis.fetch = realFetch;
    }
  });

  it("reports the node's payment refusal with its code", async () => {
    const fetcher = (async () => new Response(JSON.stringify({ error: { code: "session_key_cap", message: "the session key's cap is spent" } }), { status: 402 })) as unknown as typeof fetch;
    await expect(streamChat("http://n", fetcher, { model: "m", messages: [], maxTokens: 1 }, () => {})).rejects.toMatchObject({ code: "session_key_cap" });
  });
});
