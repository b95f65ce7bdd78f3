import { StreamDecoder } from "../tokenizer/stream-decoder.ts";
import { EventStream } from "./event-stream.ts";
import type { GenerationTokenizer } from "./generation-tokenizer.ts";
import type { NormalizedRequest } from "./generation-request.ts";
import { Rng } from "../train/rng.ts";
import { sampleToken } from "./sampler.ts";
import { StopMatcher } from "./stop-matcher.ts";

export type FinishReason = "stop" | "length" | "cancelled";

/**
 * What a request's stream yields: one "token" event per generated token, whose `text` is the text
 * that token made final ("" while held back: half a character, or what may be the start of a stop
 * string), then one "finish" event with any text released at the end and the token counts.
 * A stop token ends generation without a "token" event.
 */
export type GenerationEvent =
  | { type: "token"; tokenId: number; text: string }
  | { type: "finish"; reason: FinishReason; text: string; promptTokens: number; completionTokens: number };

/**
 * One request's generation state, apart from its place in a batch: the tokens to feed to the next
 * forward step, its own random generator, the streaming detokenizer and the stop checks.
 */
export class GenerationSequence {
  readonly request: NormalizedRequest;
  readonly stream: EventStream<GenerationEvent>;
  completionTokens = 0;
  finished = false;
  readonly #random: Rng;
  readonly #decoder: StreamDecoder;
  readonly #stop: StopMatcher;
  /** Prompt tokens already in the KV cache; the prompt may be fed over several steps (chunked prefill). */
  #prefilled = 0;
  #lastToken = -1;

  constructor(request: NormalizedRequest, tokenizer: GenerationTokenizer, onCancel: () => void) {
    this.request = request;
    this.stream = new EventStream(onCancel);
    this.#random = new Rng(request.seed);
    this.#decoder = new StreamDecoder((ids) => tokenizer.decode(ids));
    this.#stop = new StopMatcher(request.stop);
  }

  /** Prompt plus generated tokens at most: the KV cache positions this sequence may take. */
  get reservedTokens(): number {
    return this.request.promptIds.length + this.request.maxTokens;
  }

  /** Prompt tokens not yet fed to the model. */
  get promptRemaining(): number {
    return this.request.promptIds.length - this.#prefilled;
  }

  /**
   * The tokens the next forward step appends: up to `prefillLimit` more prompt tokens while the
   * prompt is not all in the cache, then the last sampled token. After a step that fed the last of
   * the prompt, or a decode step, the sequence samples (`step`); after a partial prefill it does not.
   */
  takeInput(prefillLimit: number): number[] {
    if (this.#prefilled < this.request.promptIds.length) {
      const end = Math.min(this.request.promptIds.length, this.#prefilled + Math.max(1, prefillLimit));
      const chunk = this.request.promptIds.slice(this.#prefilled, end);
      this.#prefilled = end;
      return chunk;
    }
    return [this.#lastToken];
  }

  /**
   * Samples the next token from this sequence's row of logits, streams it, and says whether the
   * sequence has finished (a stop token or string, or maxTokens reached).
   */
  step(logits: Float32Array, offset: number, V: number): FinishReason | null {
    const tokenId = sampleToken(logits, offset, V, this.request.sampling, this.#random);
    this.completionTokens++;
    if (this.request.stopTokenIds.has(tokenId)) return "stop";
    const { text, stopped } = this.#stop.push(this.#decoder.push(tokenId));
    this.stream.push({ type: "token", tokenId, text });
    if (stopped) return "stop";
    if (this.completionTokens >= this.request.maxTokens) return "length";
    this.#lastToken = tokenId;
    return null;
  }

  /** Ends the stream with a "finish" event, releasing text held back unless a stop string ended it. */
  finish(reason: FinishReason): void {
    if (this.finished) return;
    this.finished = true;
    const text = this.#stop.stopped ? "" : this.#stop.push(this.#decoder.flush()).text + this.#stop.flush();
    this.stream.push({
      type: "finish", reason, text: reason === "cancelled" ? "" : text,
      promptTokens: this.request.promptIds.length, completionTokens: this.completionTokens,
    });
    this.stream.end();
  }

  fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.stream.fail(error);
  }
}
