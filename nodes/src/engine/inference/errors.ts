/**
 * Errors raised by the inference engine. Each names the problem in its message and keeps the values
 * that explain it in `details`, so a caller (the HTTP API, the CLI) can answer with a precise reason.
 */
export class InferenceError extends Error {
  override name = "InferenceError";
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.details = details;
  }
}

/** A sequence would grow past the positions its KV cache slot holds. */
export class ContextOverflowError extends InferenceError {
  override name = "ContextOverflowError";
  constructor(needed: number, capacity: number) {
    super(`The sequence needs ${needed} positions but its KV cache holds ${capacity}.`, { needed, capacity });
  }
}

/** Every KV cache slot is taken; the scheduler must wait for a sequence to finish. */
export class NoFreeSlotError extends InferenceError {
  override name = "NoFreeSlotError";
  constructor(slots: number) {
    super(`All ${slots} KV cache slots are in use.`, { slots });
  }
}

/** The shared KV pages are all in use; the scheduler sizes its pool so that admitted sequences never meet this. */
export class NoFreePageError extends InferenceError {
  override name = "NoFreePageError";
  constructor(needed: number, free: number, pages: number) {
    super(`A sequence needs ${needed} more KV cache pages but ${free} of ${pages} are free.`, { needed, free, pages });
  }
}

/** A generation request that cannot be served as asked (empty prompt, bad sampling value...). */
export class InvalidRequestError extends InferenceError {
  override name = "InvalidRequestError";
  constructor(field: string, message: string, value?: unknown) {
    super(`Invalid generation request: ${field} ${message}.`, { field, value });
  }
}

/** An adapter could not be loaded by any tier, or does not fit in the cache's memory budget. */
export class AdapterLoadError extends InferenceError {
  override name = "AdapterLoadError";
  constructor(adapterId: string, reason: string, cause?: unknown) {
    super(`Adapter "${adapterId}" could not be loaded: ${reason}.`, { adapterId, reason });
    if (cause !== undefined) this.cause = cause;
  }
}

/** The scheduler was closed while a request was waiting or running. */
export class SchedulerClosedError extends InferenceError {
  override name = "SchedulerClosedError";
  constructor() {
    super("The generation scheduler is closed.");
  }
}
