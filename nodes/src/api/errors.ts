/** An error the API answers with its status and a JSON body `{ error: { code, message, field? } }`. */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly field: string | undefined;

  constructor(statusCode: number, code: string, message: string, field?: string) {
    super(message);
    this.name = "ApiError";
    this.statusCode = statusCode;
    this.code = code;
    this.field = field;
  }
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}
