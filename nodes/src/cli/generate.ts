/**
 * tributary-node generate --model <dir> [--adapter <dir>] --prompt <text> [options]
 *
 * Loads a Hugging Face model folder (ours or a real Llama-architecture checkpoint on disk), optionally
 * a PEFT LoRA adapter, and streams a completion to stdout through the same KV-cached scheduler that
 * serving uses. Exit codes: 0 done, 2 the command could not run (bad arguments, unreadable files).
 */
import { parseArgs } from "node:util";
import { createBackend } from "../engine/backend/create-backend.ts";
import type { Backend } from "../engine/backend/backend.ts";
import { FormatError } from "../engine/formats/errors.ts";
import { loadModelFolder } from "../engine/formats/model-folder.ts";
import { loadPeftAdapter } from "../engine/formats/peft-adapter.ts";
import { AdapterCache, BatchedDecoder, GenerationScheduler, InferenceError, type GenerationRequest } from "../engine/inference/index.ts";
import { fromPeftLayers } from "../engine/lora/peft-layers.ts";
import { weightsOnBackend } from "../engine/model/weights.ts";
import { renderChatTemplate } from "../engine/tokenizer/chat-template.ts";
import { TokenizerError } from "../engine/tokenizer/errors.ts";

const HELP = `Usage: tributary-node generate --model <dir> --prompt <text> [options]

Generates a completion with a local model folder (config.json, model.safetensors, tokenizer.json).

Options:
  --model <dir>          Hugging Face model folder (Llama architecture)
  --adapter <dir>        PEFT LoRA adapter folder (adapter_config.json, adapter_model.safetensors)
  --prompt <text>        the prompt (with --chat: the user message)
  --chat                 wrap the prompt in the tokenizer's chat template
  --max-tokens <n>       tokens to generate (default 64)
  --temperature <t>      0 for greedy (default 0.8)
  --top-k <k>            sample among the k most likely tokens (default 0: all)
  --top-p <p>            nucleus sampling mass (default 1)
  --seed <n>             makes sampling repeatable (default 0)
  --stop <text>          stop when the text appears (repeatable)
  --threads <n>          compute threads (default: all cores)
  -h, --help             show this help`;

/** An argument that cannot be used, named so the user knows which one to fix. */
class ArgumentError extends Error {
  readonly option: string;
  constructor(option: string, reason: string) {
    super(`--${option} ${reason}`);
    this.name = "ArgumentError";
    this.option = option;
  }
}

function numberOption(value: string | undefined, option: string, fallback: number, check: (n: number) => boolean, rule: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || !check(n)) throw new ArgumentError(option, `must be ${rule} (got "${value}")`);
  return n;
}

export async function generateCommand(args: string[]): Promise<number> {
  let backend: Backend | undefined;
  try {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: "string" },
        adapter: { type: "string" },
        prompt: { type: "string" },
        chat: { type: "boolean", default: false },
        "max-tokens": { type: "string" },
        temperature: { type: "string" },
        "top-k": { type: "string" },
        "top-p": { type: "string" },
        seed: { type: "string" },
        stop: { type: "string", multiple: true },
        threads: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (values.model === undefined) throw new ArgumentError("model", "is required: the model folder to load");
    if (values.prompt === undefined) throw new ArgumentError("prompt", "is required");
    const maxTokens = numberOption(values["max-tokens"], "max-tokens", 64, (n) => Number.isInteger(n) && n >= 1, "an integer ≥ 1");
    const temperature = numberOption(values.temperature, "temperature", 0.8, (n) => n >= 0, "≥ 0");
    const topK = numberOption(values["top-k"], "top-k", 0, (n) => Number.isInteger(n) && n >= 0, "an integer ≥ 0");
    const topP = numberOption(values["top-p"], "top-p", 1, (n) => n > 0 && n <= 1, "in (0, 1]");
    const seed = numberOption(values.seed, "seed", 0, (n) => Number.isInteger(n) && n >= 0, "an integer ≥ 0");
    const threads = values.threads === undefined
      ? undefined
      : numberOption(values.threads, "threads", 0, (n) => Number.isInteger(n) && n >= 1, "an integer ≥ 1");

    const folder = await loadModelFolder(values.model);
    const { config, tokenizer } = folder;
    let prompt = values.prompt;
    const stopTokenIds: number[] = [];
    if (values.chat) {
      if (folder.chatTemplate === undefined) throw new ArgumentError("chat", `needs a chat template, and ${values.model} has none`);
      prompt = renderChatTemplate(folder.chatTemplate, [{ role: "user", content: prompt }], {
        addGenerationPrompt: true, bosToken: tokenizer.bosToken, eosToken: tokenizer.eosToken,
      });
      // ChatML-style templates end a turn with their own token, not the model's eos.
      const endOfTurn = tokenizer.tokenToId("<|im_end|>") ?? tokenizer.tokenToId("<|eot_id|>");
      if (endOfTurn !== undefined) stopTokenIds.push(endOfTurn);
    }

    backend = await createBackend(threads === undefined ? {} : { threads });
    const contextLength = Math.min(config.maxPositionEmbeddings, tokenizer.encode(prompt).length + maxTokens);
    const decoder = new BatchedDecoder(config, weightsOnBackend(backend, [...folder.tensors].map(([name, t]) => [name, t.data])), backend, contextLength);
    let adapters: AdapterCache | undefined;
    if (values.adapter !== undefined) {
      const adapter = fromPeftLayers(await loadPeftAdapter(values.adapter, config));
      adapters = new AdapterCache({ budgetBytes: Number.MAX_SAFE_INTEGER, load: async () => adapter });
    }
    const scheduler = new GenerationScheduler({ decoder, tokenizer, adapters, maxBatchSize: 1, maxTokensInFlight: contextLength });

    const request: GenerationRequest = {
      prompt, maxTokens, seed, stopTokenIds, stop: values.stop ?? [],
      sampling: { temperature, topK, topP },
      adapterId: values.adapter === undefined ? null : "cli",
    };
    const started = performance.now();
    for await (const event of scheduler.generate(request)) {
      if (event.type === "token") process.stdout.write(event.text);
      else {
        const seconds = (performance.now() - started) / 1000;
        process.stdout.write("\n");
        console.error(`[${event.reason}: ${event.promptTokens} prompt + ${event.completionTokens} generated tokens, ` +
          `${(event.completionTokens / seconds).toFixed(1)} tokens/s on ${backend.name}]`);
      }
    }
    await scheduler.close();
    return 0;
  } catch (error) {
    if (error instanceof ArgumentError || error instanceof FormatError || error instanceof InferenceError || error instanceof TokenizerError) {
      console.error(`tributary-node generate: ${error.message}`);
      return 2;
    }
    if (error instanceof TypeError && String((error as NodeJS.ErrnoException).code).startsWith("ERR_PARSE_ARGS_")) {
      console.error(`tributary-node generate: ${error.message}\n\n${HELP}`);
      return 2;
    }
    throw error;
  } finally {
    await backend?.dispose();
  }
}
