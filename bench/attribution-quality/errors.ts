/** Errors of the attribution quality benchmark; each carries the values that explain it in `details`. */
export class BenchmarkInputError extends Error {
  override name = "BenchmarkInputError";
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.details = details;
  }
}
