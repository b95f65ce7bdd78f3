/**
 * Assembles the base model's training corpus from public-domain texts shipped in npm packages and writes the
 * deterministic train / held-out / control splits.
 *
 *   node scripts/base-model/corpus.ts <data-dir>
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CORPUS_SOURCES, normalizeText, packageVersion } from "./corpus-sources.ts";
import type { CorpusDocument } from "./corpus-sources.ts";
import { SPLIT_NAMES, splitCorpus } from "./corpus-split.ts";
import { splitFileName, toJsonLines } from "./corpus-files.ts";

async function main(dataDir: string | undefined): Promise<void> {
  if (dataDir === undefined) {
    console.error("usage: node scripts/base-model/corpus.ts <data-dir>");
    process.exit(2);
  }
  const documents: CorpusDocument[] = [];
  for (const source of CORPUS_SOURCES) {
    for (const doc of source.load()) {
      const text = normalizeText(doc.text);
      if (text.length > 0) documents.push({ ...doc, text });
    }
  }
  const ids = new Set<string>();
  for (const doc of documents) {
    if (ids.has(doc.id)) throw new Error(`two documents share the id "${doc.id}"`);
    ids.add(doc.id);
  }

  await mkdir(dataDir, { recursive: true });
  const splits = splitCorpus(documents);
  const files: Record<string, { documents: number; textBytes: number; fileBytes: number; sha256: string }> = {};
  for (const name of SPLIT_NAMES) {
    const contents = toJsonLines(splits[name]);
    await writeFile(join(dataDir, splitFileName(name)), contents);
    files[splitFileName(name)] = {
      documents: splits[name].length,
      textBytes: splits[name].reduce((sum, doc) => sum + Buffer.byteLength(doc.text), 0),
      fileBytes: Buffer.byteLength(contents),
      sha256: createHash("sha256").update(contents).digest("hex"),
    };
  }
  const manifest = {
    sources: CORPUS_SOURCES.map((s) => ({ package: s.package, version: packageVersion(s.package), licence: s.licence })),
    files,
  };
  await writeFile(join(dataDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  for (const [file, info] of Object.entries(files)) console.log(`${file}: ${info.documents} documents, ${info.textBytes} bytes of text`);
}

await main(process.argv[2]);
