/**
 * The corpus on disk: one JSON Lines file per split ({ id, source, title, text } per line) and manifest.json
 * with the sources, their versions and licences, and each file's size and SHA-256.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { CorpusDocument } from "./corpus-sources.ts";
import type { SplitName } from "./corpus-split.ts";

export function splitFileName(split: SplitName): string {
  return `${split}.jsonl`;
}

export function toJsonLines(documents: readonly CorpusDocument[]): string {
  return documents.map((doc) => JSON.stringify({ id: doc.id, source: doc.source, title: doc.title, text: doc.text }) + "\n").join("");
}

export async function readCorpusSplit(dataDir: string, split: SplitName): Promise<CorpusDocument[]> {
  const path = join(dataDir, splitFileName(split));
  const text = await readFile(path, "utf8").catch((cause: NodeJS.ErrnoException) => {
    throw new Error(`${path}: ${cause.code === "ENOENT" ? "is missing; run scripts/base-model/corpus.ts first" : cause.message}`);
  });
  return text.split("\n").filter((line) => line.length > 0).map((line, index) => {
    const doc = JSON.parse(line) as CorpusDocument;
    if (typeof doc.id !== "string" || typeof doc.text !== "string") throw new Error(`${path}:${index + 1}: not a corpus document`);
    return doc;
  });
}
