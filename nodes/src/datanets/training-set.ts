/**
 * Rebuilds exactly the data a Datanet version committed to, from its manifest CID alone: the
 * manifest's root is recomputed (and compared with the chain's when given), every contribution's CID
 * must hash to its committed digest and id, and every byte is fetched through the verifying store.
 * Anything that does not match is refused with the contribution and field named, never skipped.
 */
import type { Hex } from "viem";
import type { CID } from "multiformats/cid";
import type { ContentStore, ContentStoreReadOptions } from "../storage/content-store.ts";
import { parseCid } from "../storage/helia-store.ts";
import { contributionDigest, contributionIdOf } from "./contribution-id.ts";
import { InvalidVersionManifestError, TamperedContributionError } from "./errors.ts";
import { parseVersionManifest, rootOf, type VersionManifest, type VersionManifestContribution } from "./version-manifest.ts";

export interface TrainingContribution extends VersionManifestContribution {
  text: string;
}

export interface TrainingSet {
  manifest: VersionManifest;
  root: Hex;
  contributions: TrainingContribution[];
  /** The contributions' texts, in manifest order. */
  texts: string[];
}

export interface RebuildOptions extends ContentStoreReadOptions {
  /** The version root read from the chain; the manifest must produce it. */
  expectedRoot?: Hex;
}

export async function rebuildTrainingSet(manifestCid: CID | string, store: ContentStore, options: RebuildOptions = {}): Promise<TrainingSet> {
  const cid = typeof manifestCid === "string" ? parseCid(manifestCid) : manifestCid;
  const manifest = parseVersionManifest(await store.getJson(cid, options), `manifest ${cid}`);
  const root = rootOf(manifest);
  if (root !== manifest.root) {
    throw new TamperedContributionError("root_mismatch", "root", `Manifest ${cid} states root ${manifest.root} but its contributions hash to ${root}.`, { stated: manifest.root, computed: root });
  }
  if (options.expectedRoot !== undefined && root !== options.expectedRoot.toLowerCase()) {
    throw new TamperedContributionError("root_mismatch", "root", `Manifest ${cid} hashes to root ${root}, not the version's on-chain root ${options.expectedRoot}.`, { computed: root, expected: options.expectedRoot });
  }
  const datanetId = BigInt(manifest.datanetId);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const contributions: TrainingContribution[] = [];
  for (const [i, entry] of manifest.contributions.entries()) {
    const field = `contributions[${i}]`;
    const contentCid = parseCid(entry.cid);
    if (contributionDigest(contentCid) !== entry.digest.toLowerCase()) {
      throw new TamperedContributionError("digest_mismatch", `${field}.cid`, `Contribution ${entry.contributionId}: CID ${entry.cid} does not have the committed digest ${entry.digest}.`, {
        contributionId: entry.contributionId,
      });
    }
    if (contributionIdOf({ datanetId, digest: entry.digest, contributor: entry.contributor }) !== BigInt(entry.contributionId)) {
      throw new InvalidVersionManifestError("id_mismatch", `${field}.contributionId`, `Contribution ${entry.contributionId} is not the registry's id of digest ${entry.digest} by ${entry.contributor} in Datanet ${datanetId}.`, {
        contributionId: entry.contributionId,
      });
    }
    const bytes = await store.get(contentCid, options);
    if (bytes.byteLength !== entry.byteSize) {
      throw new TamperedContributionError("size_mismatch", `${field}.byteSize`, `Contribution ${entry.contributionId} is ${bytes.byteLength} bytes, the manifest says ${entry.byteSize}.`, {
        contributionId: entry.contributionId,
      });
    }
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw new TamperedContributionError("invalid_utf8", field, `Contribution ${entry.contributionId} (${entry.cid}) is not UTF-8 text.`, { contributionId: entry.contributionId });
    }
    contributions.push({ ...entry, text });
  }
  return { manifest, root, contributions, texts: contributions.map((c) => c.text) };
}

/**
 * A content source keyed by digest, for the training job's `trainingExamplesFromManifest`
 * (nodes/src/attribution/training-examples.ts): the manifest maps each digest to its CID.
 */
export function contentSourceFromManifest(manifest: VersionManifest, store: ContentStore, options: ContentStoreReadOptions = {}) {
  const byDigest = new Map(manifest.contributions.map((c) => [c.digest.toLowerCase(), c.cid]));
  return {
    async content(digest: Hex): Promise<Uint8Array | undefined> {
      const cid = byDigest.get(digest.toLowerCase());
      if (cid === undefined) return undefined;
      const contentCid = parseCid(cid);
      if (contributionDigest(contentCid) !== digest.toLowerCase()) {
        throw new TamperedContributionError("digest_mismatch", "cid", `CID ${cid} does not have digest ${digest}.`, { cid, digest });
      }
      return store.get(contentCid, options);
    },
  };
}
