/**
 * Trains the base model's byte-level BPE tokenizer on the corpus's train split and writes tokenizer.json and
 * tokenizer_config.json (ChatML chat template), then reports compression in UTF-8 bytes per token.
 *
 *   node scripts/base-model/train-tokenizer.ts <data-dir> <out-dir> [vocab-size=4096]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { trainByteLevelBpe } from "../../nodes/src/engine/tokenizer/train-bpe.ts";
import { CHATML_TEMPLATE, toTokenizerConfigJson, toTokenizerJson } from "../../nodes/src/engine/tokenizer/bpe-files.ts";
import { loadTokenizer } from "../../nodes/src/engine/tokenizer/text-tokenizer.ts";
import type { TextTokenizer } from "../../nodes/src/engine/tokenizer/text-tokenizer.ts";
import { readCorpusSplit } from "./corpus-files.ts";
import type { CorpusDocument } from "./corpus-sources.ts";

/** "<|endoftext|>" separates documents (and is BOS/EOS/PAD); the ChatML pair marks chat turns. */
const SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
/** The base model's context length, recorded as model_max_length. */
const MODEL_MAX_LENGTH = 1024;

function bytesPerToken(tokenizer: TextTokenizer, documents: readonly CorpusDocument[]): { bytes: number; tokens: number; ratio: number } {
  let bytes = 0;
  let tokens = 0;
  for (const doc of documents) {
    bytes += Buffer.byteLength(doc.text);
    tokens += tokenizer.encode(doc.text).length;
  }
  return { bytes, tokens, ratio: bytes / tokens };
}

async function main(args: string[]): Promise<void> {
  const [dataDir, outDir, vocabArg = "4096"] = args;
  const vocabSize = Number(vocabArg);
  if (dataDir === undefined || outDir === undefined || !Number.isSafeInteger(vocabSize)) {
    console.error("usage: node scripts/base-model/train-tokenizer.ts <data-dir> <out-dir> [vocab-size=4096]");
    process.exit(2);
  }
  const train = await readCorpusSplit(dataDir, "train");
  const started = performance.now();
  const trained = trainByteLevelBpe(train.map((doc) => doc.text), { vocabSize, specialTokens: SPECIAL_TOKENS });
  const seconds = (performance.now() - started) / 1000;
  console.log(`trained ${trained.vocab.size} tokens (${trained.merges.length} merges) in ${seconds.toFixed(1)} s`);

  const tokenizerJson = toTokenizerJson(trained);
  const tokenizerConfigJson = toTokenizerConfigJson(trained, { chatTemplate: CHATML_TEMPLATE, modelMaxLength: MODEL_MAX_LENGTH });
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, "tokenizer.json"), JSON.stringify(tokenizerJson, null, 2) + "\n");
  await writeFile(join(outDir, "tokenizer_config.json"), JSON.stringify(tokenizerConfigJson, null, 2) + "\n");

  // measure with the library that will serve it, reading back what was written
  const tokenizer = loadTokenizer(JSON.parse(JSON.stringify(tokenizerJson)), tokenizerConfigJson);
  for (const split of ["heldout", "control"] as const) {
    const documents = await readCorpusSplit(dataDir, split);
    const { bytes, tokens, ratio } = bytesPerToken(tokenizer, documents);
    const roundTrips = documents.every((doc) => tokenizer.decode(tokenizer.encode(doc.text)) === doc.text);
    console.log(`${split}: ${bytes} bytes -> ${tokens} tokens = ${ratio.toFixed(3)} bytes/token; round-trip ${roundTrips ? "exact" : "BROKEN"}`);
    if (!roundTrips) process.exitCode = 1;
  }
}

await main(process.argv.slice(2));
