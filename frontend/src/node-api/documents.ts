/** The node's `POST /v1/documents`: a small JSON document (with a `format`) stored on its IPFS; answers the CID. */
import { NodeRejectedError, NodeUnreachableError } from "./contributions.ts";

export async function uploadDocument(nodeUrl: string, document: { format: string } & Record<string, unknown>, fetcher: typeof fetch = fetch): Promise<string> {
  let response: Response;
  try {
    response = await fetcher(new URL("/v1/documents", nodeUrl), { method: "POST", body: JSON.stringify(document), headers: { "Content-Type": "application/json" } });
  } catch (error) {
    throw new NodeUnreachableError(nodeUrl, error);
  }
  const body = (await response.json().catch(() => null)) as { cid?: unknown; error?: { code?: string; message?: string; field?: string } } | null;
  if (!response.ok) throw new NodeRejectedError(response.status, body?.error?.code ?? "", body?.error?.message ?? response.statusText, body?.error?.field);
  if (typeof body?.cid !== "string") throw new NodeRejectedError(response.status, "bad_response", "the answer has no cid; is this a Tributary node?");
  return body.cid;
}

/** The evidence document of a job-result dispute, for the arbiter. */
export function jobDisputeDocument(jobId: bigint, modelId: bigint, reason: string): { format: string; jobId: string; modelId: string; reason: string } {
  return { format: "tributary.job-dispute/1", jobId: jobId.toString(), modelId: modelId.toString(), reason: reason.trim() };
}
