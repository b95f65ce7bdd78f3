/**
 * KV-cached, batched, multi-adapter generation: what the serving layer (nodes/src/serve) uses.
 *   BatchedDecoder       one forward step over a batch of sequences (prefill and decode mixed), each with its adapter or none
 *   GenerationScheduler  continuous batching of requests, each streamed as an async iterator of events
 *   AdapterCache         the memory tier of adapters (LRU, byte budget, pins), filled by a loader such as the disk tier
 */
export { BatchedDecoder, type BatchedDecoderOptions, type ForwardSegment, type ForwardOptions } from "./batched-decoder.ts";
export { KvCachePool, PagedKvCache, createSequenceKvCache, type PagedKvCacheOptions, type SequenceKvCache } from "./kv-cache.ts";
export { addLoraDeltas, addLoraDeltasPerGroup, type AdapterRowGroup } from "./lora-batch.ts";
export { GenerationScheduler, type SchedulerOptions, type SchedulerStats } from "./scheduler.ts";
export type { GenerationRequest } from "./generation-request.ts";
export type { GenerationEvent, FinishReason } from "./generation-sequence.ts";
export type { GenerationTokenizer } from "./generation-tokenizer.ts";
export { sampleToken, argmax, GREEDY, type SamplingParams } from "./sampler.ts";
export { StopMatcher } from "./stop-matcher.ts";
export { AdapterCache, adapterByteSize, type AdapterLoader, type AdapterLease, type AdapterCacheOptions, type AdapterCacheStats } from "./adapter-cache.ts";
export { createDiskAdapterLoader } from "./disk-adapter-loader.ts";
export {
  InferenceError, ContextOverflowError, NoFreeSlotError, NoFreePageError, InvalidRequestError, AdapterLoadError, SchedulerClosedError,
} from "./errors.ts";
