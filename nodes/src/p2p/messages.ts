/**
 * The node's gossip topics and their JSON messages. Every message is checked here on the way out and
 * on the way in; a message that fails is not delivered or forwarded (gossipsub scores its sender
 * down). Who sent a message is not a field: it is the libp2p peer that signed it.
 *
 *   tributary/models/1  which models a node serves, at what price, at which endpoint
 *   tributary/jobs/1    training-job progress (step, loss, tokens/s, ETA, status)
 */
import { getAddress, isAddress, type Address } from "viem";

export const TOPICS = {
  models: "tributary/models/1",
  jobs: "tributary/jobs/1",
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

/** Largest message accepted on any topic. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Messages stamped further in the future than this are refused (a wrong clock or a forgery). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export interface ServedModel {
  /** ModelRegistry token id, decimal. */
  modelId: string;
  /** Price per 1,000 tokens in the payment token's base units, decimal. */
  pricePer1kTokens: string;
}

export interface ModelAnnouncement {
  kind: "models";
  /** The OpenAI-compatible API base URL, e.g. https://node.example/v1. */
  endpoint: string;
  chainId: number;
  /** The operator's address in the NodeRegistry (vouchers name it). */
  operator: Address;
  models: ServedModel[];
  /** Unix milliseconds. */
  sentAt: number;
}

export const JOB_STATUSES = ["claimed", "training", "evaluating", "uploading", "submitted", "failed"] as const;

export interface JobProgress {
  kind: "job-progress";
  chainId: number;
  /** ModelRegistry job id, decimal. */
  jobId: string;
  status: (typeof JOB_STATUSES)[number];
  step: number;
  totalSteps: number;
  loss?: number;
  tokensPerSecond?: number;
  etaSeconds?: number;
  /** Why a job failed, or a short note. */
  message?: string;
  sentAt: number;
}

export interface TopicMessages {
  "tributary/models/1": ModelAnnouncement;
  "tributary/jobs/1": JobProgress;
}

export class InvalidMessageError extends Error {
  override name = "InvalidMessageError";
  readonly topic: string;
  readonly field: string;

  constructor(topic: string, field: string, problem: string) {
    super(`Invalid ${topic} message: ${field} ${problem}.`);
    this.topic = topic;
    this.field = field;
  }
}

const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;

/** Checks a message for `topic` and returns it typed (addresses checksummed). */
export function validateMessage<T extends Topic>(topic: T, value: unknown, now = Date.now()): TopicMessages[T] {
  const fail = (field: string, problem: string): never => {
    throw new InvalidMessageError(topic, field, problem);
  };
  if (value === null || typeof value !== "object" || Array.isArray(value)) fail("(message)", "is not a JSON object");
  const m = value as Record<string, unknown>;
  const integer = (field: string, min = 0) => {
    if (!Number.isSafeInteger(m[field]) || (m[field] as number) < min) fail(field, `is not an integer >= ${min}`);
  };
  const optionalNumber = (field: string) => {
    if (m[field] !== undefined && (typeof m[field] !== "number" || !Number.isFinite(m[field]) || (m[field] as number) < 0)) fail(field, "is not a finite number >= 0");
  };
  const allowed = (fields: string[]) => {
    for (const key of Object.keys(m)) if (!fields.includes(key)) fail(key, "is not a field of this message");
  };
  integer("chainId", 1);
  integer("sentAt", 0);
  if ((m.sentAt as number) > now + MAX_CLOCK_SKEW_MS) fail("sentAt", "is in the future");

  if (topic === TOPICS.models) {
    allowed(["kind", "endpoint", "chainId", "operator", "models", "sentAt"]);
    if (m.kind !== "models") fail("kind", 'is not "models"');
    let url: URL | undefined;
    try {
      url = typeof m.endpoint === "string" && m.endpoint.length <= 2048 ? new URL(m.endpoint) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) fail("endpoint", "is not an http(s) URL");
    if (typeof m.operator !== "string" || !isAddress(m.operator, { strict: false })) fail("operator", "is not an address");
    if (!Array.isArray(m.models) || m.models.length > 1000) fail("models", "is not a list of at most 1000 models");
    (m.models as unknown[]).forEach((entry, i) => {
      const model = (entry ?? {}) as Record<string, unknown>;
      if (typeof model.modelId !== "string" || !DECIMAL.test(model.modelId)) fail(`models[${i}].modelId`, "is not a decimal token id");
      if (typeof model.pricePer1kTokens !== "string" || !DECIMAL.test(model.pricePer1kTokens)) fail(`models[${i}].pricePer1kTokens`, "is not a decimal amount");
      for (const key of Object.keys(model)) if (key !== "modelId" && key !== "pricePer1kTokens") fail(`models[${i}].${key}`, "is not a field of a served model");
    });
    return { ...m, operator: getAddress(m.operator as string) } as unknown as TopicMessages[T];
  }
  if (topic === TOPICS.jobs) {
    allowed(["kind", "chainId", "jobId", "status", "step", "totalSteps", "loss", "tokensPerSecond", "etaSeconds", "message", "sentAt"]);
    if (m.kind !== "job-progress") fail("kind", 'is not "job-progress"');
    if (typeof m.jobId !== "string" || !DECIMAL.test(m.jobId)) fail("jobId", "is not a decimal job id");
    if (!(JOB_STATUSES as readonly unknown[]).includes(m.status)) fail("status", `is not one of ${JOB_STATUSES.join(", ")}`);
    integer("step");
    integer("totalSteps");
    if ((m.step as number) > (m.totalSteps as number) && (m.totalSteps as number) > 0) fail("step", "is past totalSteps");
    optionalNumber("loss");
    optionalNumber("tokensPerSecond");
    optionalNumber("etaSeconds");
    if (m.message !== undefined && (typeof m.message !== "string" || m.message.length > 1000)) fail("message", "is not a string of at most 1000 characters");
    return m as unknown as TopicMessages[T];
  }
  return fail("topic", "is not a Tributary topic");
}

export function encodeMessage<T extends Topic>(topic: T, message: TopicMessages[T]): Uint8Array {
  validateMessage(topic, message);
  const bytes = new TextEncoder().encode(JSON.stringify(message));
  if (bytes.byteLength > MAX_MESSAGE_BYTES) throw new InvalidMessageError(topic, "(message)", `is ${bytes.byteLength} bytes, over the ${MAX_MESSAGE_BYTES}-byte limit`);
  return bytes;
}

export function decodeMessage<T extends Topic>(topic: T, data: Uint8Array): TopicMessages[T] {
  if (data.byteLength > MAX_MESSAGE_BYTES) throw new InvalidMessageError(topic, "(message)", `is ${data.byteLength} bytes, over the ${MAX_MESSAGE_BYTES}-byte limit`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch {
    throw new InvalidMessageError(topic, "(message)", "is not UTF-8 JSON");
  }
  return validateMessage(topic, value);
}
