/**
 * The node's upload API: POST /v1/contributions stores the file on the node's IPFS and answers the arguments of
 * DatanetRegistry.contribute ({ cid, digest, byteSize, metadataCid, metadata }).
 */
import type { Hex } from "viem";
import { NodeRejectedError, rejectionOf, requestNode } from "./node-request.ts";

export interface ContributionMetadata {
  title: string;
  licence: string;
  language: string;
  description?: string;
}

export interface UploadedContribution {
  cid: string;
  digest: Hex;
  byteSize: number;
  metadataCid: string;
}

/** Media types the node accepts for contributions. */
export const CONTRIBUTION_TYPES: Record<string, string> = {
  ".txt": "text/plain",
  ".md": "text/markdown",
  ".jsonl": "application/jsonl",
};

/** The media type the node wants for `file`: its own type when it has one, else from its extension. */
export function contributionType(file: { name: string; type: string }): string | undefined {
  if (file.type && Object.values(CONTRIBUTION_TYPES).includes(file.type)) return file.type;
  const extension = file.name.slice(file.name.lastIndexOf(".")).toLowerCase();
  return CONTRIBUTION_TYPES[extension];
}

export async function uploadContribution(nodeUrl: string, file: Blob & { name: string }, metadata: ContributionMetadata, fetcher: typeof fetch = fetch): Promise<UploadedContribution> {
  const type = contributionType(file);
  if (!type) throw new NodeRejectedError(415, "unsupported_media_type", `${file.name}: upload a .txt, .md or .jsonl file.`, "file");
  const response = await requestNode(nodeUrl, "/v1/contributions", {
    method: "POST",
    body: file,
    headers: { "Content-Type": type, "X-Contribution-Metadata": encodeURIComponent(JSON.stringify(metadata)) },
  }, fetcher);
  if (!response.ok) throw await rejectionOf(response);
  const body = (await response.json().catch(() => null)) as Partial<UploadedContribution> | null;
  if (!body || typeof body.digest !== "string" || typeof body.metadataCid !== "string" || typeof body.byteSize !== "number") {
    throw new NodeRejectedError(response.status, "bad_response", "the answer lacks digest, byteSize or metadataCid; is this a Tributary node?");
  }
  return { cid: String(body.cid), digest: body.digest as Hex, byteSize: body.byteSize, metadataCid: body.metadataCid };
}
