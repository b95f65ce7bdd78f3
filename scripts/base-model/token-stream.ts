/**
 * Turns corpus documents into the token stream the base model trains on: every document preceded by
 * <|endoftext|>, and one more at the end, so the model learns both where documents start and where they stop.
 * One long stream (rather than one sequence per document) is cut into full T+1 windows with no padding.
 */
import type { TextTokenizer } from "../../nodes/src/engine/tokenizer/text-tokenizer.ts";
import { BaseModelRunError } from "./errors.ts";

export function packDocuments(tokenizer: TextTokenizer, texts: readonly string[], separatorId: number): Int32Array {
  const parts = texts.map((text) => tokenizer.encode(text, { addSpecialTokens: false }));
  const stream = new Int32Array(parts.reduce((sum, ids) => sum + ids.length + 1, 0) + 1);
  let at = 0;
  for (const ids of parts) {
    stream[at++] = separatorId;
    stream.set(ids, at);
    at += ids.length;
  }
  stream[at] = separatorId;
  return stream;
}

/**
 * `count` windows spread evenly over all of them (first and last included): a cheap held-out estimate that
 * still covers every document kind, since the split's documents are grouped by source.
 */
export function evenlySpaced<T>(items: readonly T[], count: number): T[] {
  if (!Number.isInteger(count) || count < 1) throw new BaseModelRunError(`Cannot pick ${count} evaluation windows.`, { count });
  if (count >= items.length) return [...items];
  if (count === 1) return [items[0]];
  return Array.from({ length: count }, (_, i) => items[Math.round((i * (items.length - 1)) / (count - 1))]);
}
