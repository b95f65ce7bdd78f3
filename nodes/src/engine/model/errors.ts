/** A model call whose input cannot work with the model: wrong token count, sequence too long, backward before forward. */
export class ModelInputError extends Error {
  override name = "ModelInputError";
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.details = details;
  }
}
