/**
 * The span index of one Datanet version: every accepted contribution's token ids concatenated,
 * each followed by a separator, and the suffix array over that text (the infini-gram idea). Any
 * token sequence that occurs in the Datanet is then a contiguous range of the suffix array.
 *
 * The separator is the one token id no tokenizer can produce (0xFFFFFFFF). Queries reject it, so
 * a match can never run across the end of a document.
 */
import { InvalidTokenError, InvalidSpanIndexError } from "./errors.ts";
import { buildSuffixArray } from "./suffix-array.ts";

/** Reserved token id that ends every document in the index text. */
export const DOCUMENT_SEPARATOR = 0xffffffff;

/** One indexed document: the token ids of (one example of) an accepted contribution. */
export interface IndexDocument {
  contributionId: bigint;
  tokens: ArrayLike<number>;
}

export interface SpanIndex {
  /** Keccak-256 Merkle root of the Datanet version this index was built from (0x + 64 hex). */
  datanetRoot: `0x${string}`;
  /** Documents' tokens, each followed by DOCUMENT_SEPARATOR. Length N. */
  tokens: Uint32Array;
  /** Suffix array over `tokens`: start positions in lexicographic order of their suffixes. Length N. */
  suffixArray: Uint32Array;
  /** documentStarts[d] is where document d begins in `tokens`; documentStarts[D] = N. Length D + 1. */
  documentStarts: Uint32Array;
  /** Contribution id of each document. Length D; several documents may share a contribution. */
  contributionIds: readonly bigint[];
}

export function checkTokenId(token: number, where: string): void {
  if (!Number.isInteger(token) || token < 0 || token >= DOCUMENT_SEPARATOR) {
    throw new InvalidTokenError(
      `Token id ${token} at ${where} is not an integer in [0, ${DOCUMENT_SEPARATOR - 1}] (${DOCUMENT_SEPARATOR} is the reserved document separator).`,
      { token, where },
    );
  }
}

/** Concatenates the documents and builds the suffix array in linear time (SA-IS). */
export function buildSpanIndex(datanetRoot: `0x${string}`, documents: readonly IndexDocument[]): SpanIndex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(datanetRoot)) {
    throw new InvalidSpanIndexError(`Datanet root "${datanetRoot}" is not 32 bytes of hex.`, { datanetRoot });
  }
  let length = 0;
  for (const doc of documents) length += doc.tokens.length + 1;
  if (length > 0xfffffffe) {
    throw new InvalidSpanIndexError(`The documents hold ${length} tokens; a span index holds at most ${0xfffffffe}.`, { length });
  }

  const tokens = new Uint32Array(length);
  const documentStarts = new Uint32Array(documents.length + 1);
  let at = 0;
  let maxToken = 0;
  documents.forEach((doc, d) => {
    documentStarts[d] = at;
    for (let i = 0; i < doc.tokens.length; i++) {
      const token = doc.tokens[i];
      checkTokenId(token, `document ${d} (contribution ${doc.contributionId}) position ${i}`);
      if (token > maxToken) maxToken = token;
      tokens[at++] = token;
    }
    tokens[at++] = DOCUMENT_SEPARATOR;
  });
  documentStarts[documents.length] = at;

  const { text, upper } = denseAlphabet(tokens, maxToken);
  const suffixArray = new Uint32Array(buildSuffixArray(text, upper).buffer);
  return {
    datanetRoot: datanetRoot.toLowerCase() as `0x${string}`,
    tokens,
    suffixArray,
    documentStarts,
    contributionIds: documents.map((d) => d.contributionId),
  };
}

/**
 * SA-IS needs bucket arrays as large as the alphabet. Token ids are usually dense (a vocabulary),
 * so the ids are used as they are with the separator mapped to maxToken + 1; sparse ids (far more
 * distinct values than positions) are replaced by their ranks, which keeps the same order.
 */
function denseAlphabet(tokens: Uint32Array, maxToken: number): { text: Uint32Array; upper: number } {
  const upper = maxToken + 1;
  if (upper <= tokens.length + (1 << 20)) {
    const text = new Uint32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) text[i] = tokens[i] === DOCUMENT_SEPARATOR ? upper : tokens[i];
    return { text, upper };
  }
  const distinct = Uint32Array.from(new Set(tokens)).sort();
  const rank = new Map<number, number>();
  distinct.forEach((v, r) => rank.set(v, r));
  const text = new Uint32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) text[i] = rank.get(tokens[i])!;
  return { text, upper: distinct.length - 1 };
}

/** Index of the document that holds text position `position` (binary search over documentStarts). */
export function documentAt(index: SpanIndex, position: number): number {
  const starts = index.documentStarts;
  let lo = 0;
  let hi = starts.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid] <= position) lo = mid;
    else hi = mid;
  }
  return lo;
}
