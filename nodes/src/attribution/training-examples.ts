/**
 * The training data of a Datanet version, as the node's training job needs it: every accepted
 * contribution of the manifest fetched by its content digest, decoded as UTF-8 text, tokenized, and
 * tagged with its contribution id and contributor (shared text is counted by account). The same list feeds the trainer (the tokens), the gradient
 * sketch (tokens, ids and contributors) and the span index (buildSpanIndex takes { contributionId, tokens }), so the
 * three agree on what each contribution is.
 */
import type { Hex } from "viem";
import type { DatanetManifest } from "./datanet-manifest.ts";
import { InvalidParameterError, MissingDataError } from "./errors.ts";
import type { TaggedTrainingExample } from "./build-gradient-sketch.ts";

/** Where contribution contents come from (IPFS in a node, a folder in tests). */
export interface ContributionContentSource {
  /**
   * The bytes of the contribution whose CID's sha2-256 digest is `digest` (the digest the Datanet
   * registry and manifest hold), verified against it by the source; undefined when not found.
   */
  content(digest: Hex): Promise<Uint8Array | undefined>;
}

/** The part of a tokenizer this needs (TextTokenizer fits). */
export interface ExampleTokenizer {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  readonly bosTokenId?: number | undefined;
  readonly eosTokenId?: number | undefined;
}

export interface TrainingExampleOptions {
  tokenizer: ExampleTokenizer;
  /** Start each example with the tokenizer's BOS id (when it has one). Default true. */
  addBos?: boolean;
  /** End each example with the tokenizer's EOS id (when it has one), so the model learns where text ends. Default true. */
  addEos?: boolean;
  /** Contributions larger than this many bytes are refused (the Datanet's policy cap). Default 16 MiB. */
  maxBytes?: number;
}

/** One example per contribution, in manifest order. */
export async function trainingExamplesFromManifest(
  manifest: DatanetManifest, source: ContributionContentSource, options: TrainingExampleOptions,
): Promise<TaggedTrainingExample[]> {
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const bos = options.addBos === false ? undefined : options.tokenizer.bosTokenId;
  const eos = options.addEos === false ? undefined : options.tokenizer.eosTokenId;
  const examples: TaggedTrainingExample[] = [];
  for (const { contributionId, contributor, digest } of manifest.contributions) {
    const bytes = await source.content(digest);
    if (!bytes) throw new MissingDataError(`Contribution ${contributionId}: no content found for digest ${digest}.`, { contributionId: contributionId.toString(), digest });
    if (bytes.length > maxBytes) {
      throw new InvalidParameterError(`Contribution ${contributionId} is ${bytes.length} bytes, over the ${maxBytes}-byte limit.`, { contributionId: contributionId.toString(), bytes: bytes.length });
    }
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw new InvalidParameterError(`Contribution ${contributionId} (${digest}) is not UTF-8 text.`, { contributionId: contributionId.toString(), digest });
    }
    const ids = options.tokenizer.encode(text, { addSpecialTokens: false });
    const tokens = new Int32Array(ids.length + (bos === undefined ? 0 : 1) + (eos === undefined ? 0 : 1));
    let at = 0;
    if (bos !== undefined) tokens[at++] = bos;
    tokens.set(ids, at);
    at += ids.length;
    if (eos !== undefined) tokens[at] = eos;
    if (tokens.length < 2) {
      throw new InvalidParameterError(`Contribution ${contributionId} (${digest}) tokenizes to ${tokens.length} token(s); training needs at least 2.`, { contributionId: contributionId.toString() });
    }
    examples.push({ contributionId, contributor, tokens });
  }
  return examples;
}
