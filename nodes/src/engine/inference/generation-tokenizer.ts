/**
 * What generation needs from a tokenizer: text to ids for prompts, ids to text for the stream
 * (through tokenizer/stream-decoder.ts). tokenizer/text-tokenizer.ts's Hugging Face tokenizer
 * satisfies it, and so does a test fake, so the engine is not tied to one implementation.
 */
export interface GenerationTokenizer {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}
