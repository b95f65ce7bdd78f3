/**
 * Errors the serving API answers with. `ApiError` carries status, code, message and field; a ServeError adds
 * `details` that go into the JSON body beside them (how much a payment is missing, when to retry), so a
 * client can act on the answer without parsing the message.
 */
import { ApiError } from "../api/errors.ts";

export class ServeError extends ApiError {
  readonly details: Record<string, string | number>;
  /** Seconds, for a `Retry-After` header (429). */
  readonly retryAfter: number | undefined;

  constructor(statusCode: number, code: string, message: string, options: { field?: string; details?: Record<string, string | number>; retryAfter?: number } = {}) {
    super(statusCode, code, message, options.field);
    this.name = "ServeError";
    this.details = options.details ?? {};
    this.retryAfter = options.retryAfter;
  }
}

export const badField = (field: string, message: string): ApiError => new ApiError(400, "invalid_request", `${field} ${message}`, field);
