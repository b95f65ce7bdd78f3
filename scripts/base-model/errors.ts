/**
 * Why a base-model training run cannot go on, with what the user needs to fix it attached.
 */
export class BaseModelRunError extends Error {
  override name = "BaseModelRunError";
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.details = details;
  }
}

/** A command-line option with a value that cannot work, naming the option. */
export class TrainBaseOptionError extends Error {
  override name = "TrainBaseOptionError";
  readonly details: { option: string; value: unknown };

  constructor(option: string, value: unknown, reason: string) {
    super(`--${option}=${JSON.stringify(value)}: ${reason}`);
    this.details = { option, value };
  }
}
