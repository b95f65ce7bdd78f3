/**
 * Turns uploaded bytes into what `DatanetRegistry.contribute` takes: validates the content, stores
 * and pins it, builds and stores its metadata document, and returns the content CID, its digest,
 * the byte size and the metadata CID. Nothing is stored when validation fails.
 */
import type { Hex } from "viem";
import type { ContentStore } from "../storage/content-store.ts";
import { contributionDigest } from "./contribution-id.ts";
import { validateContributionContent, DEFAULT_MAX_CONTRIBUTION_BYTES } from "./contribution-content.ts";
import { CONTRIBUTION_METADATA_FORMAT, validateContributionMetadata, type ContributionMediaType, type ContributionMetadata } from "./contribution-metadata.ts";

/** The metadata a contributor supplies; the node fills in the content CID, media type and size. */
export interface ContributionDescription {
  title: string;
  licence: string;
  language: string;
  description?: string;
}

export interface PreparedContribution {
  cid: string;
  /** `digest` argument of `contribute`. */
  digest: Hex;
  byteSize: number;
  /** `metadataCid` argument of `contribute`. */
  metadataCid: string;
  metadata: ContributionMetadata;
}

export async function prepareContribution(
  store: ContentStore,
  bytes: Uint8Array,
  mediaType: ContributionMediaType,
  description: ContributionDescription,
  maxBytes = DEFAULT_MAX_CONTRIBUTION_BYTES,
): Promise<PreparedContribution> {
  validateContributionContent(bytes, mediaType, maxBytes);
  // Validate the metadata before storing anything (with a placeholder CID of the right shape).
  const draft = { format: CONTRIBUTION_METADATA_FORMAT, content: "pending", ...description, mediaType, byteSize: bytes.byteLength };
  validateContributionMetadata(draft);
  const cid = await store.addBytes(bytes);
  const metadata: ContributionMetadata = { ...draft, content: cid.toString() };
  const metadataCid = await store.addJson(metadata);
  return { cid: cid.toString(), digest: contributionDigest(cid), byteSize: bytes.byteLength, metadataCid: metadataCid.toString(), metadata };
}
