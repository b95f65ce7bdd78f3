/**
 * Errors cross the worker boundary as plain data (structured clone keeps only an Error's message),
 * and are rebuilt on the caller's side as instances of the same class, so `instanceof
 * InvalidRequestError` works on the caller's side exactly as it does in the worker.
 */
import * as attributionErrors from "../../attribution/errors.ts";
import * as backendErrors from "../backend/errors.ts";
import * as formatErrors from "../formats/errors.ts";
import * as inferenceErrors from "../inference/errors.ts";
import * as trainErrors from "../train/errors.ts";
import * as modelErrors from "../model/errors.ts";
import * as tokenizerErrors from "../tokenizer/errors.ts";
import { InvalidLoraConfigError } from "../lora/adapter.ts";
import { WeightShapeError } from "../model/weights.ts";
import * as engineErrors from "./errors.ts";

export interface SerializedError {
  name: string;
  message: string;
  details: Record<string, unknown>;
  stack?: string;
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** Every error class the engine throws on purpose, by class name. */
const KNOWN: ReadonlyMap<string, ErrorClass> = new Map(
  [
    ...Object.values(backendErrors), ...Object.values(formatErrors), ...Object.values(inferenceErrors),
    ...Object.values(trainErrors), ...Object.values(modelErrors), ...Object.values(tokenizerErrors),
    ...Object.values(engineErrors), ...Object.values(attributionErrors), InvalidLoraConfigError, WeightShapeError, RangeError, TypeError,
  ]
    .filter((value: unknown): value is ErrorClass => typeof value === "function" && value.prototype instanceof Error)
    .map((cls) => [cls.name, cls] as const),
);

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error), details: {} };
  const details = (error as { details?: unknown }).details;
  return {
    name: error.name,
    message: error.message,
    details: details !== null && typeof details === "object" ? plainData(details) as Record<string, unknown> : {},
    stack: error.stack,
  };
}

/** The error as an instance of its own class when that class is known here, else a RemoteEngineError naming it. */
export function deserializeError(data: SerializedError): Error {
  const cls = KNOWN.get(data.name);
  if (cls === undefined) {
    return new engineErrors.RemoteEngineError(`${data.name}: ${data.message}`, { ...data.details, remoteName: data.name });
  }
  // Built without running the constructor (each takes different arguments); the fields are the wire's.
  const error = Object.create(cls.prototype) as Error & { details?: Record<string, unknown> };
  Object.defineProperties(error, {
    message: { value: data.message, writable: true, configurable: true },
    name: { value: data.name, writable: true, configurable: true },
    details: { value: data.details, writable: true, configurable: true, enumerable: true },
    stack: { value: `${data.stack ?? `${data.name}: ${data.message}`}\n    at (engine worker)`, writable: true, configurable: true },
  });
  return error;
}

/** details as JSON-safe data: nested errors become {name, message}, bigints strings, functions and buffers are dropped. */
function plainData(value: object): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Error) return { name: v.name, message: v.message };
    if (typeof v === "bigint") return v.toString();
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return undefined;
    return v;
  }) ?? "{}");
}
