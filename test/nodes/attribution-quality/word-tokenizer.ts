/** A test tokenizer: one id per distinct whitespace-separated word, in order of first sight. */
export function wordTokenizer(): { encode(text: string): number[] } {
  const ids = new Map<string, number>();
  return {
    encode: (text) => text.split(/\s+/).filter((w) => w.length > 0).map((word) => {
      if (!ids.has(word)) ids.set(word, ids.size + 1);
      return ids.get(word)!;
    }),
  };
}

/** n in base 26 with the letters a..z, so generated words stay letters only (as prose passes the passage filter). */
function letters(n: number): string {
  let out = "";
  do {
    out = String.fromCharCode(97 + (n % 26)) + out;
    n = Math.floor(n / 26);
  } while (n > 0);
  return out;
}

/**
 * Prose whose every word is unique to (document, sentence, position), so passages cut from it never
 * share an n-gram by accident. `document` must be letters only.
 */
export function uniqueProse(document: string, sentences: number, wordsPerSentence = 12): string {
  return Array.from({ length: sentences }, (_, s) => {
    const words = Array.from({ length: wordsPerSentence - 1 }, (_, w) => `${document}${letters(s)}q${letters(w)}`);
    return `The${document}${letters(s)} ${words.join(" ")}.`;
  }).join(" ");
}
