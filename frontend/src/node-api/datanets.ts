/**
 * The node's Datanet document routes: `POST /v1/datanets/metadata` stores a Datanet's description (name and
 * description) on its IPFS and answers the CID `createDatanet` takes; `POST /v1/datanets/:id/manifest` builds and
 * pins the version manifest over the chain's accepted contributions and answers its CID and Merkle root, which the
 * page checks against the root it built itself before anything is signed.
 */
import type { Hex } from "viem";
import { NodeRejectedError, postForCid } from "./node-request.ts";

export interface BuiltManifest {
  cid: string;
  root: Hex;
  contributionCount: number;
  lastContributionNumber: number;
}

/** Stores `{ name, description? }` on the node's IPFS; answers the metadata CID. */
export async function uploadDatanetMetadata(nodeUrl: string, metadata: { name: string; description?: string }, fetcher: typeof fetch = fetch): Promise<string> {
  const body = { name: metadata.name.trim(), ...(metadata.description?.trim() ? { description: metadata.description.trim() } : {}) };
  return (await postForCid(nodeUrl, "/v1/datanets/metadata", body, fetcher)).cid;
}

/** Has the node build and pin the next version's manifest over Datanet `datanetId`'s accepted contributions. */
export async function buildVersionManifest(nodeUrl: string, datanetId: bigint, fetcher: typeof fetch = fetch): Promise<BuiltManifest> {
  const answer = await postForCid(nodeUrl, `/v1/datanets/${datanetId}/manifest`, {}, fetcher);
  if (typeof answer.root !== "string" || typeof answer.contributionCount !== "number" || typeof answer.lastContributionNumber !== "number") {
    throw new NodeRejectedError(201, "bad_response", "the manifest answer lacks its root or counts; is this a Tributary node?");
  }
  return { cid: answer.cid, root: answer.root as Hex, contributionCount: answer.contributionCount, lastContributionNumber: answer.lastContributionNumber };
}
