/**
 * A Datanet where "learning, not copying" has a ground truth: every contributor brings material of
 * their own. Contributor i holds several passages of ONE corpus document (a State of the Union
 * address, a Moby-Dick chapter: documents differ in names, years, issues, vocabulary), and the
 * outputs to attribute continue OTHER passages of the same documents, passages that are not in the
 * Datanet and share no n-gram (n = the span matcher's minimum, 8) with any contribution. A model
 * that learned a contributor's material continues such a prompt better; span attribution has no
 * evidence to go on (by construction, asserted); the document's holder is the output's true account.
 *
 * The shared template of templated-datanet.ts is kept (one of 3 headers + content + a footer shared
 * by all), so shared boilerplate stays in play as in real Datanets. Unlike there, a header says
 * nothing about who wrote the content: contribution j of every contributor (and prompt j) carries
 * header j mod 3, so each contributor has the same mix of headers and the header in a prompt cannot
 * point at its contributor.
 */
import type { Address, Hex } from "viem";
import { manifestRoot, type DatanetManifest } from "../../nodes/src/attribution/datanet-manifest.ts";
import type { IndexDocument } from "../../nodes/src/attribution/span-index.ts";
import { BenchmarkInputError } from "./errors.ts";
import { extractPassages, NgramRegistry, type PassageSource, type PassageTokenizer } from "./passages.ts";
import { contributorAddress, tokenDigest } from "./planted-datanet.ts";
import { seededShuffle } from "./seeded-shuffle.ts";
import { FOOTER, HEADERS, concat, type BenchmarkDatanet } from "./templated-datanet.ts";

export interface TopicalDatanetOptions {
  contributors: number;
  /** Passages of its document each contributor holds (its contributions). */
  passagesPerContributor: number;
  /** Held-out passages of the same document each contributor's prompts are cut from. */
  promptsPerContributor: number;
  /** Tokens of content per passage (contributions and held-out passages alike). */
  contentTokens: number;
  /** Content tokens of a held-out passage given in its prompt (after the header). */
  promptContentTokens: number;
  /** Passages of unrelated text (the control split) for the evaluation's control loss. */
  control: number;
  /** No two passages share an n-gram of this length. */
  distinctNgram: number;
  /** Wrap contents in the shared header and footer (templated-datanet.ts). */
  template: boolean;
  seed: number;
}

export interface TopicalContribution {
  contributionId: bigint;
  contributor: Address;
  tokens: Int32Array;
  /** The passage alone, without the template. */
  content: Int32Array;
}

/** One output to attribute: a prompt cut from a held-out passage of the contributor's document. */
export interface TopicalProbe {
  prompt: Int32Array;
  /** The passage's own continuation (the rest of its content, then the footer when templated). */
  reference: Int32Array;
  /** The holder of the passage's document. */
  truth: Address;
  document: string;
}

/** heldOut: the held-out passages of each contributor's document, templated like contributions. */
export interface TopicalDatanet extends BenchmarkDatanet {
  /** Contributor i's document (corpus id). */
  documents: string[];
  contributions: TopicalContribution[];
  probes: TopicalProbe[];
}

/** A document's own n-grams on top of those already taken: a document that falls short leaves the shared registry untouched. */
class LayeredNgramRegistry extends NgramRegistry {
  private readonly below: NgramRegistry;
  constructor(below: NgramRegistry) {
    super(below.n);
    this.below = below;
  }
  override overlaps(tokens: ArrayLike<number>): boolean {
    return this.below.overlaps(tokens) || super.overlaps(tokens);
  }
}

const ngramKey = (tokens: ArrayLike<number>, i: number, n: number) => Array.prototype.slice.call(tokens, i, i + n).join(",");

/** How many n-grams of `texts` (counted with repetition) occur anywhere in `against`. */
export function sharedNgrams(texts: readonly ArrayLike<number>[], against: readonly ArrayLike<number>[], n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new BenchmarkInputError(`An n-gram length must be a positive integer, got ${n}.`, { n });
  const seen = new Set<string>();
  for (const t of against) for (let i = 0; i + n <= t.length; i++) seen.add(ngramKey(t, i, n));
  let shared = 0;
  for (const t of texts) for (let i = 0; i + n <= t.length; i++) if (seen.has(ngramKey(t, i, n))) shared++;
  return shared;
}

export function buildTopicalDatanet(
  documents: readonly PassageSource[], controlSources: readonly PassageSource[], tokenizer: PassageTokenizer, o: TopicalDatanetOptions,
): TopicalDatanet {
  for (const [field, value] of Object.entries({
    contributors: o.contributors, passagesPerContributor: o.passagesPerContributor, promptsPerContributor: o.promptsPerContributor, contentTokens: o.contentTokens,
  })) {
    if (!Number.isInteger(value) || value < 1) throw new BenchmarkInputError(`${field} must be a positive integer, got ${value}.`, { field, value });
  }
  if (o.contributors < 2) throw new BenchmarkInputError(`A ranking needs at least 2 contributors, got ${o.contributors}.`);
  if (!(Number.isInteger(o.promptContentTokens) && o.promptContentTokens >= 1 && o.promptContentTokens < o.contentTokens - 2)) {
    throw new BenchmarkInputError(`promptContentTokens must be in [1, ${o.contentTokens - 3}], got ${o.promptContentTokens}.`);
  }
  const header = HEADERS.map((h) => Int32Array.from(tokenizer.encode(h)));
  const footer = Int32Array.from(tokenizer.encode(` ${FOOTER}`));
  const wrap = (j: number, content: ArrayLike<number>): Int32Array => (o.template ? concat(header[j % header.length], content, footer) : Int32Array.from(content));
  const registry = new NgramRegistry(o.distinctNgram);
  const perDocument = o.passagesPerContributor + o.promptsPerContributor;

  // Documents in a seeded order; one contributor per document that yields enough passages distinct from all taken before.
  const chosen: { id: string; passages: Int32Array[] }[] = [];
  for (const document of seededShuffle(documents, o.seed)) {
    if (chosen.length === o.contributors) break;
    const taken = new LayeredNgramRegistry(registry);
    let passages: Int32Array[];
    try {
      passages = extractPassages([document], perDocument, tokenizer, taken, { length: o.contentTokens, distinctNgram: o.distinctNgram, perSource: perDocument }).map((p) => p.tokens);
    } catch (error) {
      if (error instanceof BenchmarkInputError) continue; // too short for its share: the next document
      throw error;
    }
    passages.forEach((p) => registry.add(p));
    chosen.push({ id: document.id, passages });
  }
  if (chosen.length < o.contributors) {
    throw new BenchmarkInputError(`Only ${chosen.length} of ${documents.length} documents yield ${perDocument} distinct ${o.contentTokens}-token passages; ${o.contributors} contributors asked for.`, {
      found: chosen.length, wanted: o.contributors,
    });
  }
  const control = o.control > 0
    ? extractPassages(seededShuffle(controlSources, o.seed + 1), o.control, tokenizer, registry, {
      length: o.contentTokens, distinctNgram: o.distinctNgram, perSource: Math.max(2, Math.ceil((1.5 * o.control) / Math.max(1, controlSources.length))),
    }).map((p) => p.tokens)
    : [];

  const contributors = chosen.map((_, i) => contributorAddress(i));
  const contributions: TopicalContribution[] = [];
  const probes: TopicalProbe[] = [];
  const heldOut: Int32Array[] = [];
  const heldOutContents: Int32Array[] = [];
  chosen.forEach(({ id, passages }, c) => {
    // Which of the document's passages are contributed and which are held out: seeded, so both spread over the document.
    const order = seededShuffle([...passages.keys()], o.seed + 2 + c);
    order.slice(0, o.passagesPerContributor).forEach((p, j) => {
      contributions.push({ contributionId: BigInt(contributions.length + 1), contributor: contributors[c], tokens: wrap(j, passages[p]), content: passages[p] });
    });
    order.slice(o.passagesPerContributor).forEach((p, j) => {
      const content = passages[p];
      heldOutContents.push(content);
      heldOut.push(wrap(j, content));
      probes.push({
        prompt: o.template ? concat(header[j % header.length], content.subarray(0, o.promptContentTokens)) : content.slice(0, o.promptContentTokens),
        reference: o.template ? concat(content.subarray(o.promptContentTokens), footer) : content.slice(o.promptContentTokens),
        truth: contributors[c], document: id,
      });
    });
  });
  // The point of the regime: nothing of a held-out passage is in the Datanet, template or not, so span attribution has nothing to match.
  const shared = sharedNgrams(heldOutContents, contributions.map((c) => c.tokens), o.distinctNgram);
  if (shared > 0) throw new BenchmarkInputError(`${shared} ${o.distinctNgram}-grams of the held-out passages occur in the Datanet's contributions.`, { shared });

  const manifest: DatanetManifest = {
    contributions: contributions.map((c) => ({ contributionId: c.contributionId, contributor: c.contributor, digest: tokenDigest(c.tokens) })),
  };
  return {
    contributors, documents: chosen.map((d) => d.id), contributions, probes, heldOut, control, manifest, root: manifestRoot(manifest),
    indexDocuments: contributions.map((c) => ({ contributionId: c.contributionId, tokens: c.tokens })), header, footer,
  };
}
