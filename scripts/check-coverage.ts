/**
 * Fails the test run when line coverage of `contracts/` (from Hardhat's coverage/lcov.info) is below
 * the threshold. Usage: node scripts/check-coverage.ts [minPercent=95]
 */
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";

const minPercent = Number(process.argv[2] ?? 95);
const root = resolve(import.meta.dirname, "..");
const lcov = readFileSync(resolve(root, "coverage/lcov.info"), "utf8");

interface FileCoverage { file: string; found: number; hit: number }
const files: FileCoverage[] = [];
let current: FileCoverage | undefined;
for (const line of lcov.split("\n")) {
  if (line.startsWith("SF:")) current = { file: relative(root, resolve(root, line.slice(3))), found: 0, hit: 0 };
  else if (line.startsWith("LF:") && current) current.found = Number(line.slice(3));
  else if (line.startsWith("LH:") && current) current.hit = Number(line.slice(3));
  else if (line === "end_of_record" && current) {
    if (current.file.startsWith("contracts/")) files.push(current);
    current = undefined;
  }
}

const found = files.reduce((s, f) => s + f.found, 0);
const hit = files.reduce((s, f) => s + f.hit, 0);
const percent = found === 0 ? 0 : (100 * hit) / found;
for (const f of files) {
  console.log(`  ${f.file.padEnd(56)} ${f.found === 0 ? "-" : ((100 * f.hit) / f.found).toFixed(1).padStart(6)}%  (${f.hit}/${f.found} lines)`);
}
console.log(`coverage: contracts/ lines ${percent.toFixed(2)}% (${hit}/${found}), minimum ${minPercent}%`);
if (found === 0 || percent < minPercent) {
  console.error(`coverage: below the ${minPercent}% minimum`);
  process.exit(1);
}
