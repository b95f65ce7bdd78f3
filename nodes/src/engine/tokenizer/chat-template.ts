/**
 * Renders a Hugging Face chat template (the Jinja `chat_template` of tokenizer_config.json) with
 * @huggingface/jinja, passing the variables transformers' `apply_chat_template` passes.
 */
import { Template } from "@huggingface/jinja";
import { ChatTemplateError } from "./errors.ts";

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplateOptions {
  /** Append the assistant turn's opening so the model continues as the assistant. */
  addGenerationPrompt?: boolean;
  bosToken?: string;
  eosToken?: string;
}

/** Parsed templates, by source text: serving renders the same template for every request. */
const parsedTemplates = new Map<string, Template>();

export function renderChatTemplate(template: string, messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
  messages.forEach((message, index) => {
    if (message === null || typeof message !== "object" || typeof message.role !== "string" || typeof message.content !== "string") {
      throw new ChatTemplateError(`messages[${index}] must be { role: string, content: string }`, { index, message });
    }
  });
  let parsed = parsedTemplates.get(template);
  if (parsed === undefined) {
    try {
      parsed = new Template(template);
    } catch (cause) {
      throw new ChatTemplateError(`chat template does not parse: ${(cause as Error).message}`, { template });
    }
    parsedTemplates.set(template, parsed);
  }
  try {
    return parsed.render({
      messages: messages.map(({ role, content }) => ({ role, content })),
      add_generation_prompt: options.addGenerationPrompt ?? false,
      bos_token: options.bosToken ?? "",
      eos_token: options.eosToken ?? "",
    });
  } catch (cause) {
    throw new ChatTemplateError(`chat template failed to render: ${(cause as Error).message}`, { messageCount: messages.length });
  }
}
