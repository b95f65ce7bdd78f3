/**
 * Errors of the engine service (the engine behind its worker). Each names the problem and keeps the
 * values that explain it in `details`, like the engine's other errors, so the node's HTTP server and
 * job runner can answer with a precise reason (a 404 for an unknown model, a 4xx for a bad request).
 */
export class EngineError extends Error {
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** No base model is loaded under this id. */
export class ModelNotLoadedError extends EngineError {
  constructor(modelId: string) {
    super(`No base model is loaded as "${modelId}"; load it with loadModel first.`, { modelId });
  }
}

/** A base model is already loaded under this id (unload it first, or pick another id). */
export class ModelAlreadyLoadedError extends EngineError {
  constructor(modelId: string) {
    super(`A base model is already loaded as "${modelId}".`, { modelId });
  }
}

/** No adapter is registered under this id for the model. */
export class AdapterNotRegisteredError extends EngineError {
  constructor(modelId: string, adapterId: string) {
    super(`No adapter "${adapterId}" is registered for model "${modelId}"; register it with registerAdapter first.`, { modelId, adapterId });
  }
}

/** A request to the engine was malformed (a missing or mistyped field, named in `details.field`). */
export class EngineRequestError extends EngineError {
  constructor(field: string, reason: string, value?: unknown) {
    super(`Invalid engine request: ${field} ${reason}.`, { field, value });
  }
}

/** A training job was cancelled (its signal aborted); its last checkpoint, if any, is on disk. */
export class TrainingCancelledError extends EngineError {
  constructor(step: number, checkpointDir: string | undefined) {
    super(`Training was cancelled at step ${step}${checkpointDir ? `; resume from the checkpoint in ${checkpointDir}` : ""}.`, { step, checkpointDir });
  }
}

/** The engine was closed: no further calls are accepted, and calls in flight were ended. */
export class EngineClosedError extends EngineError {
  constructor() {
    super("The engine is closed.");
  }
}

/** The engine's worker thread stopped unexpectedly (it crashed or ran out of memory); start a new engine. */
export class EngineWorkerExitedError extends EngineError {
  constructor(reason: string) {
    super(`The engine worker stopped: ${reason}.`, { reason });
  }
}

/** An error raised in the worker whose class the caller's side does not know; `details.remoteName` is its class name. */
export class RemoteEngineError extends EngineError {}
