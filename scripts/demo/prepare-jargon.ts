/**
 * Prepares the demo Datanet's data (committed under scripts/demo/data/) from the Jargon File 4.4.7 as Debian's
 * `jargon-text` package ships it, so nothing is fetched when the stack starts. Run once by hand:
 *
 *   apt-get download jargon-text && dpkg-deb -x jargon-text_*.deb /tmp/jargon
 *   node scripts/demo/prepare-jargon.ts /tmp/jargon/usr/share/doc/jargon-text/jargon.txt.gz
 *
 * The lexicon's entries (":term: pronunciation, part of speech" then an indented body) are turned into Markdown,
 * every third entry kept so the demo stays a few hundred KB (trainable in minutes on two cores), and split by
 * headword into one file per demo contributor (letter ranges, so each contributor owns a recognisable share).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { gunzipSync } from "node:zlib";

/** Headword ranges of the four demo contributors (by the first letter, case folded; digits and symbols go first). */
export const CONTRIBUTOR_RANGES = [
  { file: "contributor-1-a-c.md", from: "", to: "c" },
  { file: "contributor-2-d-h.md", from: "d", to: "h" },
  { file: "contributor-3-i-o.md", from: "i", to: "o" },
  { file: "contributor-4-p-z.md", from: "p", to: "z" },
] as const;
const KEEP_EVERY = 3;

interface Entry { term: string; head: string; body: string }

function parseEntries(text: string): Entry[] {
  const lexicon = text.slice(text.indexOf("\n   :"), text.indexOf("\nAppendix A. Hacker Folklore"));
  const entries: Entry[] = [];
  for (const chunk of lexicon.split(/\n(?=   :[^\n]+?: )/)) {
    const match = /^\s*:([^\n]+?):\s*([^\n]*)\n([\s\S]*)$/.exec(chunk);
    if (!match) continue;
    const body = match[3].split("\n").map((line) => line.replace(/^ {3}/, "")).join("\n").replace(/\n{3,}/g, "\n\n").trim();
    if (body.length > 0) entries.push({ term: match[1].trim(), head: match[2].trim(), body });
  }
  return entries;
}

function toMarkdown(entry: Entry): string {
  return `## ${entry.term}\n\n${entry.head ? `*${entry.head}*\n\n` : ""}${entry.body}\n`;
}

if (import.meta.main) {
  const source = process.argv[2];
  if (!source) {
    console.error("usage: node scripts/demo/prepare-jargon.ts <jargon.txt or jargon.txt.gz>");
    process.exit(2);
  }
  const raw = readFileSync(source);
  const text = (source.endsWith(".gz") ? gunzipSync(raw) : raw).toString("utf8");
  const entries = parseEntries(text).filter((_, i) => i % KEEP_EVERY === 0);
  const outDir = resolve(import.meta.dirname, "data");
  for (const range of CONTRIBUTOR_RANGES) {
    // A headword's first character, case folded; the first range ("" onwards) also takes digits and symbols.
    const mine = entries.filter((e) => {
      const first = e.term[0].toLowerCase();
      return first >= range.from && first <= range.to;
    });
    const header = `# The Jargon File 4.4.7: entries ${range.from || "0"}–${range.to}\n\nFrom the Jargon File (version 4.4.7, 29 Dec 2003), public domain; see NOTICE.md.\n\n`;
    writeFileSync(resolve(outDir, range.file), header + mine.map(toMarkdown).join("\n"));
    console.log(`${range.file}: ${mine.length} entries`);
  }
}
