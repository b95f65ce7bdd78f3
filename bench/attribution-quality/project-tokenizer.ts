/**
 * The project's own tokenizer (scripts/base-model/tokenizer, 4096 ids): the one the committed base model was
 * trained with, so every attribution benchmark tokenizes its Datanet with it.
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadTokenizer, type TextTokenizer } from "../../nodes/src/engine/tokenizer/text-tokenizer.ts";

const TOKENIZER_DIR = join(dirname(fileURLToPath(import.meta.url)), "../../scripts/base-model/tokenizer");

export async function loadProjectTokenizer(): Promise<TextTokenizer> {
  return loadTokenizer(
    JSON.parse(await readFile(join(TOKENIZER_DIR, "tokenizer.json"), "utf8")),
    JSON.parse(await readFile(join(TOKENIZER_DIR, "tokenizer_config.json"), "utf8")),
  );
}
