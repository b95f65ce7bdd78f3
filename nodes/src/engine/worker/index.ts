/**
 * The engine as a service: `Engine` runs the model on its own worker thread behind an async API
 * (load models, register adapters, generate with streaming and cancellation, train with progress,
 * evaluate, close). `EngineHost` is the same engine on the calling thread.
 */
export { Engine } from "./engine.ts";
export { EngineHost } from "./engine-host.ts";
export * from "./errors.ts";
export type * from "./types.ts";
