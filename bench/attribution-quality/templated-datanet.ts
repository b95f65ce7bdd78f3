/**
 * A Datanet built to make attribution fail where real ones do:
 *
 * - **Boilerplate and templates.** Every contribution is `header + content + footer`: one of a few
 *   headers shared by many contributors, and one footer shared by all. Span matches on the template
 *   are held by everybody; only the content says who wrote what.
 * - **Near-duplicates.** Some contents are held by two contributors: the original, and a copy with
 *   every `editEvery`-th token changed (as a light paraphrase or a re-upload would be).
 * - **Outputs mixing two sources.** Half of one contributor's continuation followed by half of
 *   another's.
 * - **Unrelated outputs** that still end in the shared footer, as a model trained on the Datanet
 *   writes it: shared boilerplate must not credit anyone strongly.
 *
 * Contents come from the corpus held-out split and share no `distinctNgram`-gram with one another
 * (passages.ts), so the ground truth of a content is exactly its holders.
 */
import type { Address, Hex } from "viem";
import { manifestRoot, type DatanetManifest } from "../../nodes/src/attribution/datanet-manifest.ts";
import type { IndexDocument } from "../../nodes/src/attribution/span-index.ts";
import { BenchmarkInputError } from "./errors.ts";
import { extractPassages, NgramRegistry, type PassageSource, type PassageTokenizer } from "./passages.ts";
import { contributorAddress, tokenDigest } from "./planted-datanet.ts";
import { seededShuffle } from "./seeded-shuffle.ts";

/** Shared headers (contributor i uses HEADERS[i mod 3]) and the footer every contribution ends with. */
export const HEADERS = [
  "Record filed with the community archive under the open data terms of this collection.",
  "Entry submitted to the shared collection and reviewed by the curators before acceptance.",
  "Contributed passage, licensed for model training and attribution by its author.",
];
export const FOOTER = "End of entry. Attribution is requested under the terms of the Datanet.";

export interface TemplatedDatanetOptions {
  contributors: number;
  /** Distinct contents per contributor. */
  uniquePerContributor: number;
  /** Contents also held, lightly edited, by a second contributor (the next one, cyclically). */
  nearDuplicates: number;
  /** In a near-duplicate copy every editEvery-th content token is changed. */
  editEvery: number;
  /** Outputs made of half of one contributor's continuation and half of another's. */
  mixed: number;
  /** Held-out contents with the same templates (not trained on): the evaluation's held-out split. */
  heldOut: number;
  unrelated: number;
  /** Tokens of content per contribution. */
  contentTokens: number;
  /** Content tokens given in a prompt after the header (the user's cue). */
  promptContentTokens: number;
  distinctNgram: number;
  seed: number;
  /** At most this many contents from one corpus document (default: spread evenly, at least 2). */
  perSource?: number;
}

export interface TemplatedContribution {
  contributionId: bigint;
  contributor: Address;
  /** Index of its content among the drawn contents. */
  content: number;
  nearDuplicateCopy: boolean;
  tokens: Int32Array;
}

/** An output to attribute: the prompt, the reference continuation (the text's own), and who truly holds it. */
export interface ProbeOutput {
  kind: "unique" | "near-duplicate" | "mixed" | "unrelated";
  prompt: Int32Array;
  /** The text's own continuation (what a model that copies would write). */
  reference: Int32Array;
  /** The accounts that hold this text; empty for unrelated outputs. */
  truths: Address[];
}

/** What every benchmark Datanet has, besides its contributions and probes. */
export interface BenchmarkDatanet {
  contributors: Address[];
  /** Held-out sequences with the same templates, for the evaluation report. */
  heldOut: Int32Array[];
  /** Unrelated text (no template) for the evaluation's control split. */
  control: Int32Array[];
  manifest: DatanetManifest;
  root: Hex;
  indexDocuments: IndexDocument[];
  header: Int32Array[];
  footer: Int32Array;
}

export interface TemplatedDatanet extends BenchmarkDatanet {
  contributions: TemplatedContribution[];
  probes: ProbeOutput[];
}

/** The token runs one after another, as one sequence. */
export const concat = (...parts: ArrayLike<number>[]): Int32Array => {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p as ArrayLike<number>, at);
    at += p.length;
  }
  return out;
};

export function buildTemplatedDatanet(
  datanetSources: readonly PassageSource[], unrelatedSources: readonly PassageSource[], tokenizer: PassageTokenizer & { vocabSize: number }, o: TemplatedDatanetOptions,
): TemplatedDatanet {
  for (const [field, value] of Object.entries({ contributors: o.contributors, uniquePerContributor: o.uniquePerContributor, contentTokens: o.contentTokens, editEvery: o.editEvery })) {
    if (!Number.isInteger(value) || value < 1) throw new BenchmarkInputError(`${field} must be a positive integer, got ${value}.`, { field, value });
  }
  if (o.contributors < 2) throw new BenchmarkInputError(`Near-duplicates and mixed outputs need at least 2 contributors, got ${o.contributors}.`);
  if (o.nearDuplicates > o.contributors * o.uniquePerContributor) throw new BenchmarkInputError(`nearDuplicates ${o.nearDuplicates} exceeds the ${o.contributors * o.uniquePerContributor} contents.`);
  if (!(o.promptContentTokens >= 1 && o.promptContentTokens < o.contentTokens - 2)) {
    throw new BenchmarkInputError(`promptContentTokens must be in [1, ${o.contentTokens - 3}], got ${o.promptContentTokens}.`);
  }
  const header = HEADERS.map((h) => Int32Array.from(tokenizer.encode(h)));
  const footer = Int32Array.from(tokenizer.encode(` ${FOOTER}`));
  const registry = new NgramRegistry(o.distinctNgram);
  const wanted = o.contributors * o.uniquePerContributor + o.heldOut;
  const perSource = (count: number, sources: number) => o.perSource ?? Math.max(2, Math.ceil((1.5 * count) / Math.max(1, sources)));
  const contents = extractPassages(seededShuffle(datanetSources, o.seed), wanted, tokenizer, registry, {
    length: o.contentTokens, distinctNgram: o.distinctNgram, perSource: perSource(wanted, datanetSources.length),
  }).map((p) => p.tokens);
  const unrelated = o.unrelated > 0 ? extractPassages(seededShuffle(unrelatedSources, o.seed + 1), o.unrelated, tokenizer, registry, {
    length: o.contentTokens, distinctNgram: o.distinctNgram, perSource: perSource(o.unrelated, unrelatedSources.length),
  }).map((p) => p.tokens) : [];

  const contributors = Array.from({ length: o.contributors }, (_, i) => contributorAddress(i));
  const headerOf = (c: number) => header[c % header.length];
  const contributions: TemplatedContribution[] = [];
  const add = (c: number, content: number, tokens: Int32Array, nearDuplicateCopy: boolean) =>
    contributions.push({ contributionId: BigInt(contributions.length + 1), contributor: contributors[c], content, nearDuplicateCopy, tokens: concat(headerOf(c), tokens, footer) });
  const ownerOf = (content: number) => Math.floor(content / o.uniquePerContributor);
  // Near-duplicated contents: spread over the contributors (every k-th content), copied to the next contributor.
  const stride = Math.max(1, Math.floor((o.contributors * o.uniquePerContributor) / Math.max(1, o.nearDuplicates)));
  const duplicated = new Set(Array.from({ length: o.nearDuplicates }, (_, i) => i * stride));
  for (let c = 0; c < o.contributors; c++) {
    for (let j = 0; j < o.uniquePerContributor; j++) add(c, c * o.uniquePerContributor + j, contents[c * o.uniquePerContributor + j], false);
  }
  for (const content of duplicated) {
    const edited = contents[content].slice();
    for (let t = o.editEvery - 1; t < edited.length; t += o.editEvery) edited[t] = (edited[t] + 1) % tokenizer.vocabSize;
    add((ownerOf(content) + 1) % o.contributors, content, edited, true);
  }

  const probe = (c: number, content: Int32Array) => ({
    prompt: concat(headerOf(c), content.subarray(0, o.promptContentTokens)),
    reference: concat(content.subarray(o.promptContentTokens), footer),
  });
  const probes: ProbeOutput[] = [];
  for (let content = 0; content < o.contributors * o.uniquePerContributor; content++) {
    const owner = ownerOf(content);
    const p = probe(owner, contents[content]);
    if (duplicated.has(content)) probes.push({ kind: "near-duplicate", ...p, truths: [contributors[owner], contributors[(owner + 1) % o.contributors]] });
    else probes.push({ kind: "unique", ...p, truths: [contributors[owner]] });
  }
  const uniqueContents = [...Array(o.contributors * o.uniquePerContributor).keys()].filter((c) => !duplicated.has(c));
  const shuffled = seededShuffle(uniqueContents, o.seed + 2);
  for (let m = 0; m < o.mixed && uniqueContents.length >= 2; m++) {
    const a = shuffled[(2 * m) % shuffled.length];
    let b = shuffled[(2 * m + 1) % shuffled.length];
    if (ownerOf(a) === ownerOf(b)) b = uniqueContents.find((x) => ownerOf(x) !== ownerOf(a))!;
    const first = probe(ownerOf(a), contents[a]);
    const second = probe(ownerOf(b), contents[b]).reference;
    const half = first.reference.length >> 1;
    probes.push({
      kind: "mixed", prompt: first.prompt, reference: concat(first.reference.subarray(0, half), second.subarray(second.length - (first.reference.length - half))),
      truths: [contributors[ownerOf(a)], contributors[ownerOf(b)]],
    });
  }
  unrelated.forEach((content, u) => probes.push({ kind: "unrelated", ...probe(u, content), truths: [] }));

  const manifest: DatanetManifest = {
    contributions: contributions.map((c) => ({ contributionId: c.contributionId, contributor: c.contributor, digest: tokenDigest(c.tokens) })),
  };
  const heldOut = contents.slice(o.contributors * o.uniquePerContributor).map((content, i) => concat(headerOf(i), content, footer));
  return {
    contributors, contributions, probes, heldOut, control: unrelated, manifest, root: manifestRoot(manifest),
    indexDocuments: contributions.map((c) => ({ contributionId: c.contributionId, tokens: c.tokens })), header, footer,
  };
}
