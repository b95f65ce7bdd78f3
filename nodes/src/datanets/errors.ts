/**
 * Errors of the Datanet data layer. Each names the field at fault and a stable `code`, so the HTTP
 * API can answer `{ error: { code, message, field } }` and a script can branch on the code.
 */
export class DatanetDataError extends Error {
  override name = "DatanetDataError";
  readonly code: string;
  readonly field: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, field: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.field = field;
    this.details = details;
  }
}

/** A contribution (its bytes, media type or metadata) that a Datanet cannot accept. */
export class InvalidContributionError extends DatanetDataError {
  override name = "InvalidContributionError";
}

/** A version manifest that is malformed or does not match the chain or its own contents. */
export class InvalidVersionManifestError extends DatanetDataError {
  override name = "InvalidVersionManifestError";
}

/** A contribution whose content, CID or digest does not match what the version committed to. */
export class TamperedContributionError extends DatanetDataError {
  override name = "TamperedContributionError";
}
