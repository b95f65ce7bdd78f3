/**
 * Deterministic train / held-out / control split. Within each source, documents are ordered by a hash of their id
 * and the first slices go to held-out and control, so every split has every source, and adding a document never
 * moves another one across splits unless it falls in their slice.
 */
import { createHash } from "node:crypto";
import type { CorpusDocument } from "./corpus-sources.ts";

export type SplitName = "train" | "heldout" | "control";
export const SPLIT_NAMES: readonly SplitName[] = ["train", "heldout", "control"];

export interface SplitFractions {
  /** Validation text for base-model training (same distribution as train). */
  heldout: number;
  /** General text kept out of all training, used to check that a fine-tuned adapter did not forget general English. */
  control: number;
}

export const DEFAULT_FRACTIONS: SplitFractions = { heldout: 0.05, control: 0.05 };

export function splitCorpus(documents: readonly CorpusDocument[], fractions: SplitFractions = DEFAULT_FRACTIONS): Record<SplitName, CorpusDocument[]> {
  const splits: Record<SplitName, CorpusDocument[]> = { train: [], heldout: [], control: [] };
  const bySource = new Map<string, CorpusDocument[]>();
  for (const doc of documents) bySource.set(doc.source, [...(bySource.get(doc.source) ?? []), doc]);
  for (const docs of bySource.values()) {
    const ordered = docs.map((doc) => ({ doc, key: createHash("sha256").update(doc.id).digest("hex") })).sort((a, b) => (a.key < b.key ? -1 : 1));
    const heldout = Math.max(1, Math.round(docs.length * fractions.heldout));
    const control = Math.max(1, Math.round(docs.length * fractions.control));
    ordered.forEach(({ doc }, rank) => {
      splits[rank < heldout ? "heldout" : rank < heldout + control ? "control" : "train"].push(doc);
    });
  }
  // documents in id order inside each split, so file contents do not depend on hash order
  for (const name of SPLIT_NAMES) splits[name].sort((a, b) => (a.id < b.id ? -1 : 1));
  return splits;
}
