/**
 * Validation of OpenAI `/v1/completions` and `/v1/chat/completions` bodies. Every field the node acts on is
 * checked and a bad one is a 400 naming it; fields OpenAI defines that this node cannot honour (n > 1,
 * logprobs, penalties...) are refused by name rather than silently ignored. Unknown fields are ignored, as
 * OpenAI-compatible servers (vLLM) do, so newer clients keep working.
 */
import type { ChatMessage } from "../engine/tokenizer/chat-template.ts";
import { ApiError } from "../api/errors.ts";
import { badField } from "./errors.ts";

/** Longest prompt text (all messages together) tokenized at all; longer is a 413 before any work. */
export const MAX_PROMPT_CHARS = 256 * 1024;

export interface ParsedRequest {
  kind: "completion" | "chat";
  model: string;
  /** The completion prompt, or the chat messages to render with the model's chat template. */
  prompt: string | null;
  messages: ChatMessage[] | null;
  maxTokens: number | null;
  temperature: number;
  topP: number;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
  seed: number | undefined;
}

type Body = Record<string, unknown>;

const present = (body: Body, key: string): boolean => body[key] !== undefined && body[key] !== null;

function requireObject(body: unknown): Body {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new ApiError(400, "invalid_request", "the request body must be a JSON object", "body");
  return body as Body;
}

function optionalNumber(body: Body, key: string, min: number, max: number, fallback: number, integer = false): number {
  if (!present(body, key)) return fallback;
  const value = body[key];
  if (typeof value !== "number" || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw badField(key, `must be ${integer ? "an integer" : "a number"}`);
  }
  if (value < min || value > max) throw badField(key, `must be between ${min} and ${max}`);
  return value;
}

/** Fields OpenAI defines that the node cannot honour: only their neutral values are accepted. */
function refuseUnsupported(body: Body, kind: ParsedRequest["kind"]): void {
  const n = optionalNumber(body, "n", 1, 1_000_000, 1, true);
  if (n !== 1) throw badField("n", "must be 1 (one choice per request)");
  if (kind === "completion") {
    if (present(body, "best_of") && body.best_of !== 1) throw badField("best_of", "must be 1");
    if (present(body, "echo") && body.echo !== false) throw badField("echo", "is not supported (must be false)");
    if (present(body, "suffix")) throw badField("suffix", "is not supported");
    if (present(body, "logprobs")) throw badField("logprobs", "is not supported");
  } else {
    if (present(body, "logprobs") && body.logprobs !== false) throw badField("logprobs", "is not supported (must be false)");
    if (present(body, "top_logprobs")) throw badField("top_logprobs", "is not supported");
    if (present(body, "tools") || present(body, "tool_choice") || present(body, "functions")) throw badField(present(body, "tools") ? "tools" : present(body, "tool_choice") ? "tool_choice" : "functions", "are not supported");
    if (present(body, "response_format")) {
      const format = body.response_format as { type?: unknown } | null;
      if (typeof format !== "object" || format?.type !== "text") throw badField("response_format", "must be { type: \"text\" }");
    }
  }
  for (const key of ["presence_penalty", "frequency_penalty"]) {
    if (optionalNumber(body, key, -2, 2, 0) !== 0) throw badField(key, "is not supported (must be 0)");
  }
  if (present(body, "logit_bias")) {
    const bias = body.logit_bias;
    if (typeof bias !== "object" || Array.isArray(bias) || Object.keys(bias as object).length > 0) throw badField("logit_bias", "is not supported (must be empty)");
  }
}

function parseStop(body: Body): string[] {
  if (!present(body, "stop")) return [];
  const stop = typeof body.stop === "string" ? [body.stop] : body.stop;
  if (!Array.isArray(stop) || stop.length > 4) throw badField("stop", "must be a string or an array of at most 4 strings");
  stop.forEach((s, i) => {
    if (typeof s !== "string" || s.length === 0 || s.length > 256) throw badField(`stop[${i}]`, "must be a non-empty string of at most 256 characters");
  });
  return stop as string[];
}

function messageContent(content: unknown, field: string): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw badField(field, "must be a string or an array of text parts");
  return content.map((part, i) => {
    const p = part as { type?: unknown; text?: unknown } | null;
    if (p === null || typeof p !== "object" || p.type !== "text" || typeof p.text !== "string") throw badField(`${field}[${i}]`, "must be { type: \"text\", text: string } (only text is supported)");
    return p.text;
  }).join("");
}

function parseMessages(body: Body): ChatMessage[] {
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw badField("messages", "must be a non-empty array");
  if (messages.length > 1024) throw badField("messages", "holds more than 1024 messages");
  return messages.map((message, i) => {
    if (message === null || typeof message !== "object" || Array.isArray(message)) throw badField(`messages[${i}]`, "must be an object");
    const m = message as Record<string, unknown>;
    if (!["system", "developer", "user", "assistant"].includes(m.role as string)) throw badField(`messages[${i}].role`, "must be one of system, developer, user, assistant");
    return { role: m.role === "developer" ? "system" : (m.role as string), content: messageContent(m.content, `messages[${i}].content`) };
  });
}

function parsePrompt(body: Body): string {
  let prompt = body.prompt;
  if (Array.isArray(prompt)) {
    if (prompt.length !== 1 || typeof prompt[0] !== "string") throw badField("prompt", "must be a string (or an array of exactly one string)");
    prompt = prompt[0];
  }
  if (typeof prompt !== "string" || prompt.length === 0) throw badField("prompt", "must be a non-empty string");
  return prompt;
}

export function parseOpenAiRequest(kind: ParsedRequest["kind"], raw: unknown): ParsedRequest {
  const body = requireObject(raw);
  if (typeof body.model !== "string" || body.model.length === 0 || body.model.length > 200) throw badField("model", "must be a non-empty string naming a deployed model (see GET /v1/models)");
  const prompt = kind === "completion" ? parsePrompt(body) : null;
  const messages = kind === "chat" ? parseMessages(body) : null;
  const chars = prompt?.length ?? messages!.reduce((sum, m) => sum + m.content.length, 0);
  if (chars > MAX_PROMPT_CHARS) throw new ApiError(413, "prompt_too_large", `the prompt holds ${chars} characters; at most ${MAX_PROMPT_CHARS} are accepted`, kind === "chat" ? "messages" : "prompt");

  const maxKey = kind === "chat" && present(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  const maxTokens = present(body, maxKey) ? optionalNumber(body, maxKey, 1, 1_000_000, 1, true) : null;
  if (present(body, "stream") && typeof body.stream !== "boolean") throw badField("stream", "must be a boolean");
  const stream = body.stream === true;
  let includeUsage = false;
  if (present(body, "stream_options")) {
    const options = body.stream_options as Record<string, unknown>;
    if (typeof options !== "object" || Array.isArray(options)) throw badField("stream_options", "must be an object");
    if (!stream) throw badField("stream_options", "is only allowed with stream: true");
    if (options.include_usage !== undefined && typeof options.include_usage !== "boolean") throw badField("stream_options.include_usage", "must be a boolean");
    includeUsage = options.include_usage === true;
  }
  if (present(body, "user") && (typeof body.user !== "string" || body.user.length > 256)) throw badField("user", "must be a string of at most 256 characters");
  refuseUnsupported(body, kind);
  return {
    kind, model: body.model, prompt, messages, maxTokens,
    temperature: optionalNumber(body, "temperature", 0, 2, 1),
    topP: optionalNumber(body, "top_p", 0, 1, 1),
    stop: parseStop(body),
    stream, includeUsage,
    seed: present(body, "seed") ? optionalNumber(body, "seed", -(2 ** 53 - 1), 2 ** 53 - 1, 0, true) : undefined,
  };
}
