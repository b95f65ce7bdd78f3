/** The node's `POST /v1/documents`: a small JSON document (with a `format`) stored on its IPFS; answers the CID. */
import { postForCid } from "./node-request.ts";

export async function uploadDocument(nodeUrl: string, document: { format: string } & Record<string, unknown>, fetcher: typeof fetch = fetch): Promise<string> {
  return (await postForCid(nodeUrl, "/v1/documents", document, fetcher)).cid;
}

/** The evidence document of a job-result dispute, for the arbiter. */
export function jobDisputeDocument(jobId: bigint, modelId: bigint, reason: string): { format: string; jobId: string; modelId: string; reason: string } {
  return { format: "tributary.job-dispute/1", jobId: jobId.toString(), modelId: modelId.toString(), reason: reason.trim() };
}
