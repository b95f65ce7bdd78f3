import { randomInt } from "node:crypto";
import { InvalidRequestError } from "./errors.ts";
import type { GenerationTokenizer } from "./generation-tokenizer.ts";
import { validateSamplingParams, type SamplingParams } from "./sampler.ts";

/** One completion to generate, as a caller (the HTTP API, a job) asks for it. */
export interface GenerationRequest {
  /** Text (encoded with the tokenizer) or token ids. */
  prompt: string | readonly number[];
  /** The LoRA adapter to apply, by the id the adapter cache loads it under; absent for the base model. */
  adapterId?: string | null;
  /** Most tokens to generate. */
  maxTokens: number;
  /** Defaults: temperature 1, topK 0 (all), topP 1 (all). temperature 0 is greedy. */
  sampling?: Partial<SamplingParams>;
  /** Seeds this request's own generator: the same seed gives the same tokens, alone or batched. Random when absent. */
  seed?: number;
  /** Generation ends when the text contains one of these; it and what follows are not returned. */
  stop?: readonly string[];
  /** Generation ends when one of these tokens is sampled (the model's eos ids are always included). */
  stopTokenIds?: readonly number[];
  signal?: AbortSignal;
}

/** A request after validation, with every default filled in. */
export interface NormalizedRequest {
  promptIds: number[];
  adapterId: string | null;
  maxTokens: number;
  sampling: SamplingParams;
  seed: number;
  stop: string[];
  stopTokenIds: Set<number>;
  signal: AbortSignal | undefined;
}

export interface RequestLimits {
  vocabSize: number;
  /** Positions a sequence may occupy: prompt + generated tokens. */
  contextLength: number;
  eosTokenIds: readonly number[];
}

/** Validates a request and fills in defaults; throws InvalidRequestError naming the field at fault. */
export function normalizeRequest(request: GenerationRequest, tokenizer: GenerationTokenizer, limits: RequestLimits): NormalizedRequest {
  const promptIds = typeof request.prompt === "string" ? tokenizer.encode(request.prompt) : [...request.prompt];
  if (promptIds.length === 0) throw new InvalidRequestError("prompt", "must hold at least one token");
  for (const id of promptIds) {
    if (!Number.isInteger(id) || id < 0 || id >= limits.vocabSize) {
      throw new InvalidRequestError("prompt", `holds token id ${id}, outside the vocabulary [0, ${limits.vocabSize})`, id);
    }
  }
  if (!Number.isInteger(request.maxTokens) || request.maxTokens < 1) {
    throw new InvalidRequestError("maxTokens", "must be an integer ≥ 1", request.maxTokens);
  }
  if (promptIds.length + request.maxTokens > limits.contextLength) {
    throw new InvalidRequestError(
      "maxTokens", `plus the prompt's ${promptIds.length} tokens exceeds the context length ${limits.contextLength}`, request.maxTokens,
    );
  }
  const sampling: SamplingParams = { temperature: 1, topK: 0, topP: 1, ...request.sampling };
  validateSamplingParams(sampling);
  if (request.seed !== undefined && !Number.isSafeInteger(request.seed)) throw new InvalidRequestError("seed", "must be an integer", request.seed);
  const stop = [...(request.stop ?? [])];
  if (stop.some((s) => typeof s !== "string" || s.length === 0)) throw new InvalidRequestError("stop", "must hold non-empty strings", stop);
  const adapterId = request.adapterId ?? null;
  if (adapterId !== null && (typeof adapterId !== "string" || adapterId.length === 0)) {
    throw new InvalidRequestError("adapterId", "must be a non-empty string", adapterId);
  }
  return {
    promptIds,
    adapterId,
    maxTokens: request.maxTokens,
    sampling,
    seed: request.seed ?? randomInt(2 ** 31),
    stop,
    stopTokenIds: new Set([...limits.eosTokenIds, ...(request.stopTokenIds ?? [])]),
    signal: request.signal,
  };
}
