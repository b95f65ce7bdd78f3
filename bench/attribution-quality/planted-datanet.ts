/**
 * A planted-evidence Datanet: several contributors, each holding passages nobody else holds, among
 * filler passages that every contributor contributed a copy of. Every passage is one contribution
 * (one training example, one index document), so the ground truth of each planted passage is
 * exactly one contributor account.
 *
 * Unrelated passages (from text outside the Datanet, sharing no n-gram with it) are drawn by the
 * same rules for the control measurement.
 */
import { keccak256, getAddress, toHex, type Address, type Hex } from "viem";
import { manifestRoot, type DatanetManifest } from "../../nodes/src/attribution/datanet-manifest.ts";
import type { IndexDocument } from "../../nodes/src/attribution/span-index.ts";
import { BenchmarkInputError } from "./errors.ts";
import { extractPassages, NgramRegistry, type Passage, type PassageSource, type PassageTokenizer } from "./passages.ts";
import { seededShuffle } from "./seeded-shuffle.ts";

export interface PlantedDatanetOptions {
  contributors: number;
  /** Unique passages per contributor. */
  uniquePerContributor: number;
  /** Filler passages; each is contributed by every contributor. */
  fillerPassages: number;
  /** Passages of unrelated text, for the control measurement. */
  unrelatedPassages: number;
  /** Tokens per passage. */
  passageLength: number;
  /** No two passages share an n-gram this long (the span matcher's minSpanLength). */
  distinctNgram: number;
  seed: number;
}

export type ContributionKind = "unique" | "filler";

export interface Contribution {
  contributionId: bigint;
  contributor: Address;
  kind: ContributionKind;
  /** Index of the passage among the unique or among the filler passages. */
  passage: number;
  sourceId: string;
  tokens: Int32Array;
}

export interface PlantedDatanet {
  contributors: Address[];
  /** Every contribution, in id order (ids 1, 2, ...). */
  contributions: Contribution[];
  /** The planted passages, each with the one account that holds it. */
  unique: { passage: Passage; owner: Address; contributionId: bigint }[];
  unrelated: Passage[];
  manifest: DatanetManifest;
  root: Hex;
  /** One index document per contribution. */
  indexDocuments: IndexDocument[];
}

/** A stable, obviously synthetic account per contributor: the last 20 bytes of keccak256("tributary/bench/contributor/<i>"). */
export function contributorAddress(i: number): Address {
  return getAddress(`0x${keccak256(toHex(`tributary/bench/contributor/${i}`)).slice(-40)}`);
}

/** Keccak-256 of a contribution's token ids as little-endian uint32, standing in for its content digest. */
export function tokenDigest(tokens: Int32Array): Hex {
  const bytes = new Uint8Array(tokens.length * 4);
  const view = new DataView(bytes.buffer);
  tokens.forEach((t, i) => view.setUint32(i * 4, t, true));
  return keccak256(bytes);
}

/**
 * Builds the Datanet from two disjoint pools of documents: `datanetSources` for the unique and
 * filler passages, `unrelatedSources` for the control passages. Both pools are shuffled with the
 * seed first, so a different seed plants different passages.
 */
export function buildPlantedDatanet(
  datanetSources: readonly PassageSource[], unrelatedSources: readonly PassageSource[], tokenizer: PassageTokenizer, options: PlantedDatanetOptions,
): PlantedDatanet {
  const { contributors: n, uniquePerContributor, fillerPassages, passageLength, distinctNgram } = options;
  for (const [field, value] of Object.entries({ contributors: n, uniquePerContributor, passageLength })) {
    if (!Number.isInteger(value) || value < 1) throw new BenchmarkInputError(`${field} must be a positive integer, got ${value}.`, { field, value });
  }
  if (passageLength <= distinctNgram) {
    throw new BenchmarkInputError(`passageLength ${passageLength} must exceed distinctNgram ${distinctNgram}.`, { passageLength, distinctNgram });
  }
  const registry = new NgramRegistry(distinctNgram);
  const wanted = n * uniquePerContributor + fillerPassages;
  // A few passages per document spread them over many; more only when the documents are too few.
  const perSource = (count: number, sources: number) => Math.max(2, Math.ceil((1.5 * count) / Math.max(1, sources)));
  const drawn = extractPassages(seededShuffle(datanetSources, options.seed), wanted, tokenizer, registry, {
    length: passageLength, distinctNgram, perSource: perSource(wanted, datanetSources.length),
  });
  const unrelated = extractPassages(seededShuffle(unrelatedSources, options.seed + 1), options.unrelatedPassages, tokenizer, registry, {
    length: passageLength, distinctNgram, perSource: perSource(options.unrelatedPassages, unrelatedSources.length),
  });
  const uniquePassages = drawn.slice(0, n * uniquePerContributor);
  const filler = drawn.slice(n * uniquePerContributor);

  const contributors = Array.from({ length: n }, (_, i) => contributorAddress(i));
  const contributions: Contribution[] = [];
  const add = (contributor: Address, kind: ContributionKind, passage: number, p: Passage): bigint => {
    const contributionId = BigInt(contributions.length + 1);
    contributions.push({ contributionId, contributor, kind, passage, sourceId: p.sourceId, tokens: p.tokens });
    return contributionId;
  };
  // Contributor by contributor, as a Datanet fills up; the order carries no signal (ids are only labels).
  const unique: PlantedDatanet["unique"] = [];
  contributors.forEach((owner, c) => {
    for (let j = 0; j < uniquePerContributor; j++) {
      const index = c * uniquePerContributor + j;
      const passage = uniquePassages[index];
      unique.push({ passage, owner, contributionId: add(owner, "unique", index, passage) });
    }
    filler.forEach((passage, f) => add(owner, "filler", f, passage));
  });

  const manifest: DatanetManifest = {
    contributions: contributions.map((c) => ({ contributionId: c.contributionId, contributor: c.contributor, digest: tokenDigest(c.tokens) })),
  };
  return {
    contributors,
    contributions,
    unique,
    unrelated,
    manifest,
    root: manifestRoot(manifest),
    indexDocuments: contributions.map((c) => ({ contributionId: c.contributionId, tokens: c.tokens })),
  };
}
