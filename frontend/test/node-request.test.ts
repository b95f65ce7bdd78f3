import { describe, expect, it } from "vitest";
import { buildVersionManifest, uploadDatanetMetadata } from "../src/node-api/datanets.ts";
import { uploadDocument } from "../src/node-api/documents.ts";
import { NodeRejectedError, NodeUnreachableError } from "../src/node-api/node-request.ts";

/** A node that answers every request with `status` and `body` as JSON, and records what it was sent. */
function node(status: number, body: unknown) {
  const requests: { url: string; method: string | undefined; body: string }[] = [];
  const fetcher = (async (url: URL, init: RequestInit) => {
    requests.push({ url: url.toString(), method: init.method, body: String(init.body) });
    return new Response(JSON.stringify(body), { status });
  }) as unknown as typeof fetch;
  return { requests, fetcher };
}

describe("the node's document routes", () => {
  it("post the document as JSON and answer its CID", async () => {
    const { requests, fetcher } = node(201, { cid: "bafydoc" });
    const document = { format: "tributary.job-dispute/1", reason: "off topic" };
    expect(await uploadDocument("http://127.0.0.1:8700", document, fetcher)).toBe("bafydoc");
    expect(requests).toEqual([{ url: "http://127.0.0.1:8700/v1/documents", method: "POST", body: JSON.stringify(document) }]);
  });

  it("keep what the route answers beside the CID", async () => {
    const root = `0x${"ab".repeat(32)}`;
    const { requests, fetcher } = node(201, { cid: "bafyman", root, contributionCount: 3, lastContributionNumber: 7 });
    expect(await buildVersionManifest("http://n", 2n, fetcher)).toEqual({ cid: "bafyman", root, contributionCount: 3, lastContributionNumber: 7 });
    expect(requests[0].url).toBe("http://n/v1/datanets/2/manifest");
  });

  it("pass on the node's JSON error with its code and field", async () => {
    const { fetcher } = node(400, { error: { code: "invalid_metadata", message: "name is empty", field: "name" } });
    const error = await uploadDatanetMetadata("http://n", { name: " " }, fetcher).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NodeRejectedError);
    expect(error).toMatchObject({ code: "invalid_metadata", field: "name", message: "The node refused the upload (400 invalid_metadata): name is empty" });
  });

  it("say the answer is not a Tributary node's when it has no CID", async () => {
    const { fetcher } = node(200, { ok: true });
    await expect(uploadDocument("http://n", { format: "x" }, fetcher)).rejects.toMatchObject({ code: "bad_response" });
  });

  it("say when the node does not answer", async () => {
    const down = (async () => { throw new TypeError("Failed to fetch"); }) as unknown as typeof fetch;
    await expect(uploadDocument("http://n", { format: "x" }, down)).rejects.toThrow(NodeUnreachableError);
  });
});
