/**
 * A plain generation loop over LlamaModel.forward, for sample text and the checkpoint's regression test
 * (serving uses the KV-cached inference module). Each step runs the whole window again; the window has a
 * fixed length so the model's activation buffers are allocated once, and positions after the current token
 * cannot change its logits because attention is causal.
 */
import type { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import type { TextTokenizer } from "../../nodes/src/engine/tokenizer/text-tokenizer.ts";
import { sampleToken, GREEDY, type SamplingParams } from "../../nodes/src/engine/inference/sampler.ts";
import { Rng } from "../../nodes/src/engine/train/rng.ts";
import { BaseModelRunError } from "./errors.ts";
import { END_OF_TEXT_ID } from "./recipe.ts";

export interface GenerateOptions {
  maxNewTokens: number;
  /** Greedy unless given. */
  sampling?: SamplingParams;
  /** Seeds sampling (ignored when greedy). */
  seed?: number;
  /** Stop after generating this token (it is included in the output). */
  stopTokenId?: number;
}

export function generateTokens(model: LlamaModel, prompt: readonly number[], options: GenerateOptions): number[] {
  const { maxNewTokens } = options;
  const V = model.config.vocabSize;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new BaseModelRunError(`maxNewTokens must be a positive integer, got ${maxNewTokens}.`, { maxNewTokens });
  if (prompt.length === 0) throw new BaseModelRunError("The prompt must hold at least one token.");
  // The last generated token is never fed back, so the window needs one position less than prompt + new tokens.
  const T = Math.min(model.config.maxPositionEmbeddings, prompt.length + maxNewTokens - 1);
  if (prompt.length > T) {
    throw new BaseModelRunError(`A prompt of ${prompt.length} tokens does not fit the model's ${model.config.maxPositionEmbeddings}-token context.`, {
      promptTokens: prompt.length, context: model.config.maxPositionEmbeddings,
    });
  }
  const sampling = options.sampling ?? GREEDY;
  const rng = new Rng(options.seed ?? 0);
  const window = new Int32Array(T);
  window.set(prompt);
  let length = prompt.length;
  const out: number[] = [];
  for (;;) {
    const { logits } = model.forward(window, 1, T);
    const next = sampleToken(logits, (length - 1) * V, V, sampling, rng);
    out.push(next);
    if (next === options.stopTokenId || out.length === maxNewTokens || length === T) return out;
    window[length++] = next;
  }
}

/** Continues `prompt` as the start of a new document (after <|endoftext|>, as in training) and decodes the new text. */
export function continueText(model: LlamaModel, tokenizer: TextTokenizer, prompt: string, options: GenerateOptions): string {
  const ids = [END_OF_TEXT_ID, ...tokenizer.encode(prompt, { addSpecialTokens: false })];
  const generated = generateTokens(model, ids, { stopTokenId: END_OF_TEXT_ID, ...options });
  return tokenizer.decode(generated, { skipSpecialTokens: true });
}
