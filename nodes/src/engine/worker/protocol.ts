/**
 * Messages between the engine client (engine.ts, on the caller's thread) and the engine worker
 * (engine-worker.ts). Every call carries an id; the worker answers it with one "result" or "error",
 * and streaming calls (generate, train) send "event"s before that. "cancel" ends a stream early.
 */
import type { SerializedError } from "./remote-errors.ts";
import type { EngineOptions } from "./types.ts";

/** Methods answered with one value. */
export type CallMethod =
  | "loadModel" | "unloadModel" | "models" | "registerAdapter" | "unregisterAdapter"
  | "evaluate" | "buildGradientSketch" | "attributionQuality" | "outputGradients" | "calibrateAttribution" | "encode" | "decode" | "stats";

export type ClientMessage =
  | { kind: "call"; id: number; method: CallMethod; args: unknown[] }
  /** Request as EngineGenerationRequest without its signal; answered with events, then a null result. */
  | { kind: "generate"; id: number; request: unknown }
  /** Job as TrainingJob without its signal; answered with progress events, then the TrainingResult. */
  | { kind: "train"; id: number; job: unknown }
  | { kind: "cancel"; id: number }
  | { kind: "close"; id: number };

export type WorkerMessage =
  | { kind: "ready" }
  | { kind: "startFailed"; error: SerializedError }
  | { kind: "result"; id: number; value: unknown }
  | { kind: "error"; id: number; error: SerializedError }
  | { kind: "event"; id: number; event: unknown }
  /** Several events of one step, so a batch of 64 sequences costs one message, not 64. */
  | { kind: "events"; events: { id: number; event: unknown }[] };

export interface EngineWorkerData {
  options: EngineOptions;
}
