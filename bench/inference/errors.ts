/** A benchmark option the run cannot use, with the option and its value attached (viem-style details). */
export class BenchOptionError extends Error {
  override name = "BenchOptionError";
  readonly details: { option: string; value: string };

  constructor(option: string, value: string, reason: string) {
    super(`--${option} ${JSON.stringify(value)}: ${reason}`);
    this.details = { option, value };
  }
}
