/**
 * The benchmark's text, from the project's public-domain corpus (scripts/base-model): the held-out
 * split feeds the Datanet and the control split the unrelated outputs. Neither split is in the base
 * model's or the tokenizer's training data, and the two share no document.
 */
import { CORPUS_SOURCES, normalizeText, type CorpusDocument } from "../../scripts/base-model/corpus-sources.ts";
import { splitCorpus } from "../../scripts/base-model/corpus-split.ts";
import type { PassageSource } from "./passages.ts";

export interface BenchmarkText {
  datanet: PassageSource[];
  unrelated: PassageSource[];
  /**
   * The base model's own training split: only for span-only measurements that involve no model
   * (the scale regime needs thousands of passages, more than the held-out split holds).
   */
  baseTraining: PassageSource[];
}

export function corpusPassageSources(): BenchmarkText {
  const documents: CorpusDocument[] = [];
  for (const source of CORPUS_SOURCES) {
    for (const doc of source.load()) {
      const text = normalizeText(doc.text);
      if (text.length > 0) documents.push({ ...doc, text });
    }
  }
  const splits = splitCorpus(documents);
  const asSource = (doc: CorpusDocument): PassageSource => ({ id: doc.id, text: doc.text });
  return { datanet: splits.heldout.map(asSource), unrelated: splits.control.map(asSource), baseTraining: splits.train.map(asSource) };
}
