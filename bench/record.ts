/**
 * Writes docs/benchmarks.md from the sections the benchmarks left in bench/out/*.md.
 * A benchmark that was not re-run keeps its previously recorded section, so benchmarks can be
 * re-run one at a time. Usage: node bench/record.ts
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { resolve } from "node:path";

/** Report order; any other section found in bench/out follows these. */
const ORDER = ["gas", "contract-sizes", "matmul", "train-peer", "base-model", "inference", "decoder-ab", "peers", "attribution", "gradient-sketch", "output-attribution", "attribution-quality", "attribution-quality-canaries", "training-job"];
const root = resolve(import.meta.dirname, "..");
const outDir = resolve(root, "bench/out");
const docPath = resolve(root, "docs/benchmarks.md");

const SECTION = /<!-- section: ([\w-]+) -->\n([\s\S]*?)<!-- \/section -->/g;
const sections = new Map<string, string>();
if (existsSync(docPath)) {
  for (const [, name, body] of readFileSync(docPath, "utf8").matchAll(SECTION)) sections.set(name, body);
}
const fresh: string[] = [];
if (existsSync(outDir)) {
  for (const file of readdirSync(outDir).filter((f) => f.endsWith(".md")).sort()) {
    const name = file.slice(0, -3);
    sections.set(name, `${readFileSync(resolve(outDir, file), "utf8").trim()}\n`);
    fresh.push(name);
  }
}
const names = [...ORDER.filter((n) => sections.has(n)), ...[...sections.keys()].filter((n) => !ORDER.includes(n)).sort()];

const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
const header = `# Benchmarks

Recorded by the commands under \`bench/\` (\`npm run bench\` runs them all, then \`node bench/record.ts\`
writes this page). Each section states its own date and machine. The project's machines have
2 cores and are noisy: results are medians, and ratios are measured side by side in one run.

Last written ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB,
Node ${process.version}.
`;
const body = names.map((name) => `<!-- section: ${name} -->\n${sections.get(name)!.trim()}\n<!-- /section -->`).join("\n\n");
writeFileSync(docPath, `${header}\n${body}\n`);
console.log(`docs/benchmarks.md: ${names.length} sections (${fresh.length ? `updated: ${fresh.join(", ")}` : "none updated"})`);
