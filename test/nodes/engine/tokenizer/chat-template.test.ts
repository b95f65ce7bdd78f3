import { test } from "node:test";
import assert from "node:assert/strict";
import { renderChatTemplate } from "../../../../nodes/src/engine/tokenizer/chat-template.ts";
import { CHATML_TEMPLATE } from "../../../../nodes/src/engine/tokenizer/bpe-files.ts";
import { ChatTemplateError } from "../../../../nodes/src/engine/tokenizer/errors.ts";

/** Llama 3's template shape: BOS, header tokens, eot after each turn. */
const LLAMA3_LIKE = "{{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + m['content'] | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

const MESSAGES = [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi there" }];

test("renders ChatML with and without the generation prompt", () => {
  assert.equal(renderChatTemplate(CHATML_TEMPLATE, MESSAGES), "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n");
  assert.equal(renderChatTemplate(CHATML_TEMPLATE, MESSAGES, { addGenerationPrompt: true }).slice(-22), "<|im_start|>assistant\n");
});

test("passes bos_token like transformers' apply_chat_template", () => {
  const out = renderChatTemplate(LLAMA3_LIKE, MESSAGES.slice(1), { bosToken: "<|begin_of_text|>", addGenerationPrompt: true });
  assert.equal(out, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
});

test("refuses malformed messages and templates", () => {
  assert.throws(() => renderChatTemplate(CHATML_TEMPLATE, [{ role: "user" } as never]), (e: unknown) => e instanceof ChatTemplateError && /messages\[0\]/.test(e.message));
  assert.throws(() => renderChatTemplate("{% for %}", MESSAGES), /does not parse/);
  assert.throws(() => renderChatTemplate("{{ raise_exception('no system role') }}", MESSAGES), /failed to render/);
});
