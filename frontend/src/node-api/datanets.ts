/**
 * The node's Datanet document routes: `POST /v1/datanets/metadata` stores a Datanet's description (name and
 * description) on its IPFS and answers the CID `createDatanet` takes; `POST /v1/datanets/:id/manifest` builds and
 * pins the version manifest over the chain's accepted contributions and answers its CID and Merkle root, which the
 * page checks against the root it built itself before anything is signed.
 */
import type { Hex } from "viem";
import { NodeRejectedError, NodeUnreachableError } from "./contributions.ts";

export interface BuiltManifest {
  cid: string;
  root: Hex;
  contributionCount: number;
  lastContributionNumber: number;
}

async function postJson(nodeUrl: string, path: string, body: unknown, fetcher: typeof fetch): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetcher(new URL(path, nodeUrl), { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  } catch (error) {
    throw new NodeUnreachableError(nodeUrl, error);
  }
  const answer = (await response.json().catch(() => null)) as (Record<string, unknown> & { error?: { code?: string; message?: string; field?: string } }) | null;
  if (!response.ok) throw new NodeRejectedError(response.status, answer?.error?.code ?? "", answer?.error?.message ?? response.statusText, answer?.error?.field);
  if (typeof answer?.cid !== "string") throw new NodeRejectedError(response.status, "bad_response", "the answer has no cid; is this a Tributary node?");
  return answer;
}

/** Stores `{ name, description? }` on the node's IPFS; answers the metadata CID. */
export async function uploadDatanetMetadata(nodeUrl: string, metadata: { name: string; description?: string }, fetcher: typeof fetch = fetch): Promise<string> {
  const body = { name: metadata.name.trim(), ...(metadata.description?.trim() ? { description: metadata.description.trim() } : {}) };
  return (await postJson(nodeUrl, "/v1/datanets/metadata", body, fetcher)).cid as string;
}

/** Has the node build and pin the next version's manifest over Datanet `datanetId`'s accepted contributions. */
export async function buildVersionManifest(nodeUrl: string, datanetId: bigint, fetcher: typeof fetch = fetch): Promise<BuiltManifest> {
  const answer = await postJson(nodeUrl, `/v1/datanets/${datanetId}/manifest`, {}, fetcher);
  if (typeof answer.root !== "string" || typeof answer.contributionCount !== "number" || typeof answer.lastContributionNumber !== "number") {
    throw new NodeRejectedError(201, "bad_response", "the manifest answer lacks its root or counts; is this a Tributary node?");
  }
  return { cid: answer.cid as string, root: answer.root as Hex, contributionCount: answer.contributionCount, lastContributionNumber: answer.lastContributionNumber };
}
