import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { stripVTControlCharacters } from "node:util";

export interface HardhatResult {
  exitCode: number;
  output: string;
}

const hardhatCli = resolve(dirname(createRequire(import.meta.url).resolve("hardhat/package.json")), "dist/src/cli.js");

/**
 * Runs the Hardhat CLI with the production config (no coverage: a mutant's tests run on the real bytecode) in
 * `cwd` and collects its output without colours. HARDHAT_* variables of a parent Hardhat run are not passed on.
 */
export function runHardhat(cwd: string, args: string[]): Promise<HardhatResult> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("HARDHAT_")));
  const child = spawn(process.execPath, [hardhatCli, "--config", "hardhat.config.ts", ...args], {
    cwd,
    env: { ...env, NO_COLOR: "1", FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const chunks: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => chunks.push(chunk));
  activeChildren.add(child.pid!);
  return new Promise((resolvePromise, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      activeChildren.delete(child.pid!);
      resolvePromise({ exitCode: code ?? (signal === null ? 1 : 128), output: stripVTControlCharacters(Buffer.concat(chunks).toString("utf8")) });
    });
  });
}

/** PIDs of Hardhat processes still running, so an interrupted run can end them. */
export const activeChildren = new Set<number>();

/**
 * The titles of the failed tests in a `hardhat test` output. Both runners list a failure in place as
 * "N) title" (mocha: the `it` title; Solidity: Contract#test), numbered across runners; the details section
 * repeats the numbers later, so the first line of each number is the one kept.
 */
export function failedTests(output: string): string[] {
  const titles = new Map<number, string>();
  for (const line of output.split("\n")) {
    const match = /^\s+(\d+)\) (.+?):?$/.exec(line);
    if (match !== null && !titles.has(Number(match[1]))) titles.set(Number(match[1]), match[2].trim());
  }
  return [...titles.values()];
}
