/** A training option that cannot work (zero steps, a batch larger than the data...), naming the option. */
export class TrainingConfigError extends Error {
  override name = "TrainingConfigError";
  readonly details: { option: string; value: unknown };

  constructor(option: string, value: unknown, reason: string) {
    super(`Training option ${option}=${JSON.stringify(value)}: ${reason}`);
    this.details = { option, value };
  }
}

/** A checkpoint that cannot be resumed into this trainer: missing files, or parameters that differ. */
export class CheckpointError extends Error {
  override name = "CheckpointError";
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.details = details;
  }
}
