/**
 * The engine as a service: `Engine` runs the model on its own worker thread behind an async API
 * (load models, register adapters, generate with streaming and cancellation, train with progress,
 * evaluate, close). `EngineHost` is the same engine on the calling thread.
 */
export { Engine } from "./engine.ts";
export { EngineHost } from "./engine-host.ts";
export * from "./errors.ts";
export type * from "./types.ts";
// What the node's server and job runner see through the Engine, re-exported so they import one module.
export type { GenerationEvent, FinishReason } from "../inference/generation-sequence.ts";
export type { GenerationRequest } from "../inference/generation-request.ts";
export type { SamplingParams } from "../inference/sampler.ts";
export type { EvaluationReport, LossReport, LossComparison, MemorizationReport } from "../train/evaluate.ts";
export type { TrainingEvent } from "../train/trainer.ts";
export type { LoraConfig, LoraTarget } from "../model/config.ts";
export { InferenceError, InvalidRequestError, AdapterLoadError, SchedulerClosedError, ContextOverflowError } from "../inference/errors.ts";
export { FormatError } from "../formats/errors.ts";
export { TrainingConfigError, CheckpointError } from "../train/errors.ts";
