import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../../../nodes/src/api/errors.ts";
import { parseOpenAiRequest } from "../../../nodes/src/serve/openai-request.ts";

function fieldOf(kind: "completion" | "chat", body: unknown): [number, string | undefined] | undefined {
  try {
    parseOpenAiRequest(kind, body);
  } catch (error) {
    assert.ok(error instanceof ApiError);
    return [error.statusCode, error.field];
  }
  return undefined;
}

describe("OpenAI request validation", () => {
  it("parses completions and chat with defaults", () => {
    const completion = parseOpenAiRequest("completion", { model: "tributary:1", prompt: ["Hi"], stop: "\n" });
    assert.deepEqual(completion, {
      kind: "completion", model: "tributary:1", prompt: "Hi", messages: null, maxTokens: null, temperature: 1, topP: 1, stop: ["\n"],
      stream: false, includeUsage: false, seed: undefined,
    });
    const chat = parseOpenAiRequest("chat", {
      model: "1", messages: [{ role: "developer", content: [{ type: "text", text: "Be" }, { type: "text", text: " brief" }] }, { role: "user", content: "Hi" }],
      max_completion_tokens: 5, stream: true, stream_options: { include_usage: true }, n: 1, presence_penalty: 0, logit_bias: {},
    });
    assert.deepEqual(chat.messages, [{ role: "system", content: "Be brief" }, { role: "user", content: "Hi" }]);
    assert.equal(chat.maxTokens, 5);
    assert.equal(chat.includeUsage, true);
  });

  it("names every bad field", () => {
    const cases: Array<["completion" | "chat", unknown, number, string]> = [
      ["completion", null, 400, "body"],
      ["completion", [], 400, "body"],
      ["completion", { prompt: "x" }, 400, "model"],
      ["completion", { model: "m" }, 400, "prompt"],
      ["completion", { model: "m", prompt: ["a", "b"] }, 400, "prompt"],
      ["completion", { model: "m", prompt: "x".repeat(300_000) }, 413, "prompt"],
      ["completion", { model: "m", prompt: "x", max_tokens: 1.5 }, 400, "max_tokens"],
      ["completion", { model: "m", prompt: "x", temperature: -1 }, 400, "temperature"],
      ["completion", { model: "m", prompt: "x", top_p: 2 }, 400, "top_p"],
      ["completion", { model: "m", prompt: "x", stop: [""] }, 400, "stop[0]"],
      ["completion", { model: "m", prompt: "x", n: 3 }, 400, "n"],
      ["completion", { model: "m", prompt: "x", stream: 1 }, 400, "stream"],
      ["completion", { model: "m", prompt: "x", stream_options: { include_usage: true } }, 400, "stream_options"],
      ["completion", { model: "m", prompt: "x", echo: true }, 400, "echo"],
      ["completion", { model: "m", prompt: "x", logprobs: 2 }, 400, "logprobs"],
      ["completion", { model: "m", prompt: "x", seed: "1" }, 400, "seed"],
      ["completion", { model: "m", prompt: "x", frequency_penalty: 1 }, 400, "frequency_penalty"],
      ["completion", { model: "m", prompt: "x", logit_bias: { "5": 1 } }, 400, "logit_bias"],
      ["chat", { model: "m", messages: "hi" }, 400, "messages"],
      ["chat", { model: "m", messages: [null] }, 400, "messages[0]"],
      ["chat", { model: "m", messages: [{ role: "user", content: [{ type: "image_url" }] }] }, 400, "messages[0].content[0]"],
      ["chat", { model: "m", messages: [{ role: "user", content: "x" }], tools: [] }, 400, "tools"],
      ["chat", { model: "m", messages: [{ role: "user", content: "x" }], max_completion_tokens: 0 }, 400, "max_completion_tokens"],
    ];
    for (const [kind, body, status, field] of cases) assert.deepEqual(fieldOf(kind, body), [status, field], JSON.stringify(body).slice(0, 80));
  });
});
