/**
 * Greedy continuations of many prompts at once through the engine's KV-cached BatchedDecoder, the
 * path a serving node generates with: one prefill step over every prompt, then one decode step per
 * new token for the whole batch.
 */
import { BatchedDecoder } from "../../nodes/src/engine/inference/batched-decoder.ts";
import { createSequenceKvCache } from "../../nodes/src/engine/inference/kv-cache.ts";
import { argmax } from "../../nodes/src/engine/inference/sampler.ts";
import type { LoraAdapter } from "../../nodes/src/engine/lora/adapter.ts";
import { BenchmarkInputError } from "./errors.ts";

/** The `newTokens` greedy tokens after each prompt (prompts of any length; each row of the result is the continuation only). */
export function greedyContinuations(decoder: BatchedDecoder, adapter: LoraAdapter | null, prompts: readonly Int32Array[], newTokens: number): Int32Array[] {
  if (prompts.length === 0) return [];
  if (!Number.isInteger(newTokens) || newTokens < 1) throw new BenchmarkInputError(`newTokens must be a positive integer, got ${newTokens}.`, { newTokens });
  const V = decoder.config.vocabSize;
  const capacity = Math.max(...prompts.map((p) => p.length)) + newTokens;
  const caches = prompts.map(() => createSequenceKvCache(decoder.backend, decoder.config, capacity));
  const outputs = prompts.map(() => new Int32Array(newTokens));
  let logits = decoder.forward(prompts.map((tokens, s) => ({ cache: caches[s], tokens, adapter })));
  for (let t = 0; t < newTokens; t++) {
    outputs.forEach((out, s) => (out[t] = argmax(logits, s * V, V)));
    if (t + 1 < newTokens) logits = decoder.forward(outputs.map((out, s) => ({ cache: caches[s], tokens: [out[t]], adapter })));
  }
  return outputs;
}
