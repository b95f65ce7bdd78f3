/**
 * Errors raised by the attribution module. Each one carries the values that explain the failure
 * in `details`, so a caller (the CLI, the API, a test) can show or inspect them without parsing
 * the message.
 */
export class AttributionError extends Error {
  override name = "AttributionError";
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.details = details;
  }
}

/** A token id that cannot be indexed or matched (negative, not an integer, or the reserved separator). */
export class InvalidTokenError extends AttributionError {
  override name = "InvalidTokenError";
}

/** A span index file that is truncated, has the wrong magic or version, or inconsistent counts. */
export class InvalidSpanIndexError extends AttributionError {
  override name = "InvalidSpanIndexError";
}

/** A gradient sketch (file or in-memory) whose shapes do not agree. */
export class InvalidGradientSketchError extends AttributionError {
  override name = "InvalidGradientSketchError";
}

/** An attribution record that does not satisfy the tributary.attribution/1 schema. */
export class InvalidRecordError extends AttributionError {
  override name = "InvalidRecordError";
}

/** Inputs of a settlement batch that cannot be combined (missing pool, unknown contribution...). */
export class InvalidBatchInputError extends AttributionError {
  override name = "InvalidBatchInputError";
}

/** A value that has no canonical JSON form (NaN, undefined, a bigint, a non-plain object). */
export class CanonicalJsonError extends AttributionError {
  override name = "CanonicalJsonError";
}

/** Public data a verifier needs but its data source cannot provide. */
export class MissingDataError extends AttributionError {
  override name = "MissingDataError";
}

/** A method parameter out of its range (k, occurrence cap, mix...). */
export class InvalidParameterError extends AttributionError {
  override name = "InvalidParameterError";
}

/** An evaluation report's attribution section that does not follow attribution-quality.schema.json. */
export class InvalidAttributionQualityError extends AttributionError {
  override name = "InvalidAttributionQualityError";
}
