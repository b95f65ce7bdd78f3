/**
 * GPT-2's byte-level alphabet, shared by the BPE trainer and the tokenizer.json it writes: every byte maps to a
 * printable Unicode character (printable ASCII and Latin-1 map to themselves, the rest to U+0100 onwards, so
 * space becomes "Ġ"), which lets BPE run on text while covering every byte sequence.
 */

/** The split GPT-2 (and Hugging Face's ByteLevel pre-tokenizer with use_regex) applies before BPE. */
export const GPT2_SPLIT_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** BYTE_TO_CHAR[b] is the character that stands for byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

function buildByteToChar(): string[] {
  const isPrintable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const chars: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) chars[b] = String.fromCharCode(isPrintable(b) ? b : next++);
  return chars;
}

/** Splits text into the pieces BPE merges within (merges never cross a piece boundary). */
export function splitPieces(text: string): string[] {
  return text.match(GPT2_SPLIT_PATTERN) ?? [];
}
