import { describe, expect, it } from "vitest";
import { contributionType, uploadContribution } from "../src/node-api/contributions.ts";
import { NodeRejectedError, NodeUnreachableError } from "../src/node-api/node-request.ts";

const file = Object.assign(new Blob(["hello\n"], { type: "text/plain" }), { name: "hello.txt" });
const metadata = { title: "Hello", licence: "CC0-1.0", language: "en" };

describe("uploadContribution", () => {
  it("posts the file with its type and URI-encoded metadata and returns contribute's arguments", async () => {
    let seen: { url: string; init: RequestInit } | undefined;
    const fetcher = (async (url: URL, init: RequestInit) => {
      seen = { url: url.toString(), init };
      return new Response(JSON.stringify({ cid: "bafk", digest: `0x${"ab".repeat(32)}`, byteSize: 6, metadataCid: "bafm", metadata: {} }), { status: 201 });
    }) as unknown as typeof fetch;
    const uploaded = await uploadContribution("http://127.0.0.1:9/", file, metadata, fetcher);
    expect(uploaded).toEqual({ cid: "bafk", digest: `0x${"ab".repeat(32)}`, byteSize: 6, metadataCid: "bafm" });
    expect(seen!.url).toBe("http://127.0.0.1:9/v1/contributions");
    const headers = seen!.init.headers as Record<string, string>;
    expect(headers["Content-Type"]).toBe("text/plain");
    expect(JSON.parse(decodeURIComponent(headers["X-Contribution-Metadata"]))).toEqual(metadata);
  });

  it("says clearly when the node is not reachable", async () => {
    const fetcher = (async () => {
      throw new TypeError("Failed to fetch");
    }) as unknown as typeof fetch;
    await expect(uploadContribution("http://127.0.0.1:9", file, metadata, fetcher)).rejects.toThrow(NodeUnreachableError);
    await expect(uploadContribution("http://127.0.0.1:9", file, metadata, fetcher)).rejects.toThrow(/did not answer.*Settings/);
  });

  it("passes the node's own error message on", async () => {
    const fetcher = (async () =>
      new Response(JSON.stringify({ error: { code: "too_large", message: "over 16 MiB", field: "body" } }), { status: 413 })) as unknown as typeof fetch;
    const error = await uploadContribution("http://n", file, metadata, fetcher).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NodeRejectedError);
    expect((error as NodeRejectedError).message).toBe("The node refused the upload (413 too_large): over 16 MiB");
    expect((error as NodeRejectedError).field).toBe("body");
  });

  it("knows the media types the node accepts", () => {
    expect(contributionType({ name: "a.JSONL", type: "" })).toBe("application/jsonl");
    expect(contributionType({ name: "a.md", type: "" })).toBe("text/markdown");
    expect(contributionType({ name: "a.pdf", type: "application/pdf" })).toBeUndefined();
  });
});
