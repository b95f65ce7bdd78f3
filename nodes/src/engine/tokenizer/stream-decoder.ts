/**
 * Incremental detokenization for streaming. Decoding tokens one at a time is wrong in two ways: a byte-level
 * token can hold half of a UTF-8 character (which decodes to U+FFFD), and decoders that strip or add spaces
 * depend on the neighbouring tokens. So, as Hugging Face's text-generation-inference does, the decoder keeps a
 * window of recent ids, decodes the window, and emits only the new text - and only once it no longer ends in
 * an incomplete character.
 */
export type DecodeIds = (ids: number[]) => string;

export class StreamDecoder {
  readonly #decode: DecodeIds;
  readonly #ids: number[] = [];
  /** Start of the window whose decoded text was last emitted in full: its text is the baseline for diffs. */
  #prefixOffset = 0;
  /** End of what has been emitted, as an index into #ids. */
  #readOffset = 0;

  constructor(decode: DecodeIds) {
    this.#decode = decode;
  }

  /** Adds one generated token; returns the text that is now final (possibly ""). */
  push(id: number): string {
    this.#ids.push(id);
    const prefixText = this.#decode(this.#ids.slice(this.#prefixOffset, this.#readOffset));
    const fullText = this.#decode(this.#ids.slice(this.#prefixOffset));
    // an incomplete UTF-8 sequence decodes to U+FFFD; wait for the bytes that complete it
    if (fullText.length <= prefixText.length || fullText.endsWith("\uFFFD")) return "";
    this.#prefixOffset = this.#readOffset;
    this.#readOffset = this.#ids.length;
    return fullText.slice(prefixText.length);
  }

  /** Ends the stream: returns whatever is still held back, with U+FFFD for bytes that never completed. */
  flush(): string {
    const prefixText = this.#decode(this.#ids.slice(this.#prefixOffset, this.#readOffset));
    const fullText = this.#decode(this.#ids.slice(this.#prefixOffset));
    this.#prefixOffset = this.#readOffset = this.#ids.length;
    return fullText.length > prefixText.length ? fullText.slice(prefixText.length) : "";
  }
}
