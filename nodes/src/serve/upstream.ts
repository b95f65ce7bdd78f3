/**
 * `upstream` mode: generation is handed to another OpenAI-compatible server (vLLM or LoRAX with our PEFT
 * adapters loaded, in production) while this node keeps everything that earns: the request checks, the voucher
 * (stored before generating), attribution of the output against the Datanet, records and settlement.
 *
 * The node still tokenizes with the base model's tokenizer: the price of a request is counted in its tokens,
 * and the output's token ids (which attribution matches against the span index) are the upstream's text
 * encoded again here. The upstream gets the rendered prompt as text on `/v1/completions` (chat templates are
 * applied by this node, so both sides see the same prompt) and streams its text back; each upstream chunk
 * becomes one event, and the finish event carries the re-encoded output ids.
 */
import type { Engine, FinishReason, GenerationEvent } from "../engine/worker/index.ts";
import type { DeployedModel } from "./deployed-models.ts";
import { ServeError } from "./errors.ts";

export interface UpstreamSettings {
  /** Base URL of the OpenAI-compatible server, e.g. http://vllm:8000 (the `/v1/...` paths are added). */
  url: string;
  /** The upstream's name for a model (vLLM: the name given in `--lora-modules name=path`); default `tributary-<modelId>`. */
  modelName?: (model: DeployedModel) => string;
  /** Bearer token for the upstream, if it wants one (vLLM `--api-key`). */
  apiKey?: string;
}

/** A generation as the routes run it, on the local engine or upstream. */
export interface GenerationBackend {
  /** Whether the adapter must be loaded into the local engine first. */
  readonly local: boolean;
  generate(request: {
    model: DeployedModel;
    promptText: string;
    promptIds: number[];
    maxTokens: number;
    sampling: { temperature?: number; topP?: number };
    stop?: string[];
    seed?: number;
    signal: AbortSignal;
  }): AsyncIterableIterator<GenerationEvent>;
}

/** The finish event of an upstream generation: the output's token ids, encoded here from its text. */
export type UpstreamFinish = Extract<GenerationEvent, { type: "finish" }> & { outputTokens: number[] };

export const upstreamModelName = (model: DeployedModel): string => `tributary-${model.modelId}`;

export function localBackend(engine: Engine): GenerationBackend {
  return {
    local: true,
    generate: (r) => engine.generate({
      modelId: r.model.engineModel, adapterId: r.model.adapterId, prompt: r.promptIds, maxTokens: r.maxTokens, sampling: r.sampling, stop: r.stop,
      ...(r.seed === undefined ? {} : { seed: r.seed }), signal: r.signal,
    }),
  };
}

export function upstreamBackend(engine: Engine, settings: UpstreamSettings): GenerationBackend {
  const base = settings.url.replace(/\/+$/, "");
  const nameOf = settings.modelName ?? upstreamModelName;
  return {
    local: false,
    async *generate(r) {
      let response: Response;
      try {
        response = await fetch(`${base}/v1/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}) },
          body: JSON.stringify({
            model: nameOf(r.model), prompt: r.promptText, max_tokens: r.maxTokens, stream: true,
            ...(r.sampling.temperature === undefined ? {} : { temperature: r.sampling.temperature }),
            ...(r.sampling.topP === undefined ? {} : { top_p: r.sampling.topP }),
            ...(r.stop === undefined || r.stop.length === 0 ? {} : { stop: r.stop }),
            ...(r.seed === undefined ? {} : { seed: r.seed }),
            stream_options: { include_usage: true },
          }),
          signal: r.signal,
        });
      } catch (error) {
        throw new ServeError(503, "upstream_unavailable", `the upstream generation server ${base} cannot be reached: ${(error as Error).message}`);
      }
      if (!response.ok || response.body === null) {
        throw new ServeError(502, "upstream_error", `the upstream generation server answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
      }
      let text = "";
      let reason: FinishReason = "stop";
      let completionTokens: number | undefined;
      const decoder = new TextDecoder();
      let buffer = "";
      for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(bytes, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split("\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trim()).join("\n");
          if (data === "" || data === "[DONE]") continue;
          const chunk = JSON.parse(data) as { error?: { message?: string }; choices?: { text?: string; finish_reason?: string | null }[]; usage?: { completion_tokens?: number } };
          if (chunk.error) throw new ServeError(502, "upstream_error", `the upstream generation failed: ${chunk.error.message ?? "unknown error"}`);
          if (chunk.usage?.completion_tokens !== undefined) completionTokens = chunk.usage.completion_tokens;
          const choice = chunk.choices?.[0];
          if (choice === undefined) continue;
          if (choice.finish_reason === "length") reason = "length";
          if (choice.text) {
            text += choice.text;
            // The id is not known token by token upstream; the routes use the finish event's outputTokens.
            yield { type: "token", tokenId: -1, text: choice.text };
          }
        }
      }
      const outputTokens = text.length === 0 ? [] : await engine.encode(r.model.engineModel, text);
      const finish: UpstreamFinish = {
        type: "finish", reason, text: "", promptTokens: r.promptIds.length, completionTokens: completionTokens ?? outputTokens.length, outputTokens,
      };
      yield finish;
    },
  };
}
