/**
 * The manifest of a published Datanet version, stored on IPFS (json codec) and committed on-chain by
 * `publishVersion(root, manifestCid)`. It extends the attribution module's manifest
 * (`nodes/src/attribution/datanet-manifest.ts`: contributionId, contributor, digest per entry, whose
 * StandardMerkleTree root is the version root) with what is needed to rebuild the training set:
 * each contribution's content CID, size and metadata CID, plus the Datanet, licence and root.
 *
 * Built from the chain's accepted contributions (ids, contributors, digests, sizes, metadata CIDs
 * from the `ContributionSubmitted` events): the content CID comes from each metadata document and is
 * checked against the on-chain digest and id, so a manifest can only list what the chain accepted.
 */
import { getAddress, type Address, type Hex } from "viem";
import { manifestRoot, parseManifest } from "../attribution/datanet-manifest.ts";
import type { ContentStore } from "../storage/content-store.ts";
import { parseCid } from "../storage/helia-store.ts";
import type { CID } from "multiformats/cid";
import { contributionDigest, contributionIdOf } from "./contribution-id.ts";
import { validateContributionMetadata, type ContributionMediaType } from "./contribution-metadata.ts";
import { InvalidVersionManifestError, TamperedContributionError } from "./errors.ts";

export const VERSION_MANIFEST_FORMAT = "tributary.datanet-version/1";

export interface VersionManifestContribution {
  /** Decimal uint256, as in the attribution manifest. */
  contributionId: string;
  contributor: Address;
  digest: Hex;
  /** Content CID; its sha2-256 digest is `digest`. */
  cid: string;
  byteSize: number;
  mediaType: ContributionMediaType;
  metadataCid: string;
}

export interface VersionManifest {
  format: typeof VERSION_MANIFEST_FORMAT;
  /** Decimal uint256. */
  datanetId: string;
  licence: string;
  /** StandardMerkleTree root over (contributionId, contributor, digest): `publishVersion`'s `root`. */
  root: Hex;
  contributions: VersionManifestContribution[];
}

/** An accepted contribution as the chain reports it (ContributionSubmitted + ContributionAccepted). */
export interface AcceptedContribution {
  contributionId: bigint;
  contributor: Address;
  digest: Hex;
  byteSize: bigint | number;
  metadataCid: string;
}

export interface BuildVersionManifestInput {
  datanetId: bigint;
  licence: string;
  /** In contribution-number order; the root does not depend on the order (sorted leaves). */
  contributions: readonly AcceptedContribution[];
}

export async function buildVersionManifest(input: BuildVersionManifestInput, store: ContentStore): Promise<VersionManifest> {
  const contributions: VersionManifestContribution[] = [];
  for (const [i, accepted] of input.contributions.entries()) {
    const field = `contributions[${i}]`;
    const id = accepted.contributionId.toString();
    const metadata = await store.getJson(parseCid(accepted.metadataCid));
    try {
      validateContributionMetadata(metadata);
    } catch (err) {
      throw new InvalidVersionManifestError("invalid_metadata", `${field}.metadataCid`, `Contribution ${id}: its metadata ${accepted.metadataCid} is invalid: ${(err as Error).message}`, { contributionId: id });
    }
    const cid = parseCid(metadata.content);
    const digest = accepted.digest.toLowerCase() as Hex;
    if (contributionDigest(cid) !== digest) {
      throw new TamperedContributionError("digest_mismatch", `${field}.digest`, `Contribution ${id}: its metadata names content ${cid}, whose digest is not the on-chain digest ${digest}.`, { contributionId: id, cid: cid.toString() });
    }
    if (contributionIdOf({ datanetId: input.datanetId, digest, contributor: accepted.contributor }) !== accepted.contributionId) {
      throw new InvalidVersionManifestError("id_mismatch", `${field}.contributionId`, `Contribution ${id} is not the registry's id of digest ${digest} by ${accepted.contributor} in Datanet ${input.datanetId}.`, { contributionId: id });
    }
    if (BigInt(metadata.byteSize) !== BigInt(accepted.byteSize)) {
      throw new TamperedContributionError("size_mismatch", `${field}.byteSize`, `Contribution ${id}: metadata says ${metadata.byteSize} bytes, the chain ${accepted.byteSize}.`, { contributionId: id });
    }
    contributions.push({
      contributionId: id,
      contributor: getAddress(accepted.contributor),
      digest,
      cid: cid.toString(),
      byteSize: metadata.byteSize,
      mediaType: metadata.mediaType,
      metadataCid: accepted.metadataCid,
    });
  }
  const manifest = { format: VERSION_MANIFEST_FORMAT, datanetId: input.datanetId.toString(), licence: input.licence, root: "0x" as Hex, contributions } satisfies VersionManifest;
  manifest.root = rootOf(manifest);
  return manifest;
}

/** Builds, stores and pins a version manifest; `cid` and `root` are `publishVersion`'s arguments. */
export async function publishVersionManifest(input: BuildVersionManifestInput, store: ContentStore): Promise<{ manifest: VersionManifest; cid: CID; root: Hex }> {
  const manifest = await buildVersionManifest(input, store);
  const cid = await store.addJson(manifest);
  return { manifest, cid, root: manifest.root };
}

/** The Merkle root over the manifest's (contributionId, contributor, digest) leaves. */
export function rootOf(manifest: Pick<VersionManifest, "contributions">): Hex {
  if (manifest.contributions.length === 0) throw new InvalidVersionManifestError("empty", "contributions", "A Datanet version must include at least one contribution.");
  return manifestRoot(parseManifest(manifest, "version manifest"));
}

/** Checks a manifest's shape (not its contents against IPFS; see rebuildTrainingSet). */
export function parseVersionManifest(json: unknown, source = "version manifest"): VersionManifest {
  const fail = (field: string, problem: string): never => {
    throw new InvalidVersionManifestError("invalid_manifest", field, `Invalid version manifest (${source}): ${field} ${problem}.`);
  };
  const value = (json ?? {}) as Record<string, unknown>;
  if (value.format !== VERSION_MANIFEST_FORMAT) fail("format", `is not "${VERSION_MANIFEST_FORMAT}"`);
  if (typeof value.datanetId !== "string" || !/^(0|[1-9][0-9]{0,77})$/.test(value.datanetId)) fail("datanetId", "is not a uint256 decimal string");
  if (typeof value.licence !== "string" || value.licence === "") fail("licence", "is missing");
  if (typeof value.root !== "string" || !/^0x[0-9a-f]{64}$/.test(value.root)) fail("root", "is not 32 bytes of lowercase hex");
  try {
    parseManifest(value, source); // ids, contributors, digests, no repeats
  } catch (err) {
    fail("contributions", `is invalid: ${(err as Error).message}`);
  }
  (value.contributions as unknown[]).forEach((entry, i) => {
    const c = entry as Record<string, unknown>;
    if (typeof c.cid !== "string") fail(`contributions[${i}].cid`, "is missing");
    if (typeof c.metadataCid !== "string") fail(`contributions[${i}].metadataCid`, "is missing");
    if (!Number.isSafeInteger(c.byteSize) || (c.byteSize as number) < 1) fail(`contributions[${i}].byteSize`, "is not a positive integer");
    if (typeof c.mediaType !== "string") fail(`contributions[${i}].mediaType`, "is missing");
  });
  return value as unknown as VersionManifest;
}
