/**
 * Mutation check of the money paths: for each mutant of scripts/mutation/mutants.ts (one guard removed), build a
 * temporary copy of the contracts with the mutant, run the tests that should notice (no coverage) and expect them
 * to fail. Prints "mutant | killed by | result" and exits non-zero if a mutant survives, does not compile or its
 * snippet no longer matches the contracts, so the table stays honest as the contracts change.
 *
 * Usage: npm run test:mutation [-- <mutant id>...]     (all mutants by default)
 *
 * Mutants run on as many workspaces as the machine has cores (MUTATION_WORKERS to choose): each workspace is its
 * own copy, so two mutants never see each other's change, and solc (single-threaded WebAssembly) keeps every core
 * busy.
 */
import { rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { BaselineFailedError, MutantSnippetError, UnknownMutantError } from "./errors.ts";
import { activeChildren, failedTests, runHardhat } from "./hardhat-run.ts";
import { MUTANTS, type Mutant } from "./mutants.ts";
import { MutationWorkspace } from "./workspace.ts";

type Result = "killed" | "SURVIVED" | "SNIPPET NOT FOUND" | "SNIPPET NOT UNIQUE" | "DOES NOT COMPILE" | "TESTS DID NOT RUN";

interface Row {
  mutant: Mutant;
  result: Result;
  killedBy: string;
  /** Why a mutant that was not killed could not be run. */
  detail?: string;
  seconds: number;
}

const root = resolve(import.meta.dirname, "../..");

function selectMutants(ids: string[]): Mutant[] {
  if (ids.length === 0) return MUTANTS;
  return ids.map((id) => {
    const mutant = MUTANTS.find((m) => m.id === id);
    if (mutant === undefined) throw new UnknownMutantError(id, MUTANTS.map((m) => m.id));
    return mutant;
  });
}

/** The last lines of a Hardhat output, enough to see why it failed. */
function tail(output: string, lines = 30): string {
  return output.trimEnd().split("\n").slice(-lines).join("\n");
}

function firstError(output: string): string {
  return output.split("\n").find((line) => /error/i.test(line))?.trim() ?? tail(output, 1);
}

async function runMutant(workspace: MutationWorkspace, mutant: Mutant): Promise<Omit<Row, "seconds">> {
  let restore: () => Promise<void>;
  try {
    restore = await workspace.apply(mutant);
  } catch (error) {
    if (!(error instanceof MutantSnippetError)) throw error;
    return { mutant, result: error.matches === 0 ? "SNIPPET NOT FOUND" : "SNIPPET NOT UNIQUE", killedBy: "–", detail: error.message };
  }
  try {
    const build = await runHardhat(workspace.dir, ["build", "--quiet"]);
    if (build.exitCode !== 0) return { mutant, result: "DOES NOT COMPILE", killedBy: "–", detail: firstError(build.output) };
    const tests = await runHardhat(workspace.dir, ["test", "--no-compile", ...mutant.tests]);
    if (tests.exitCode === 0) return { mutant, result: "SURVIVED", killedBy: "–" };
    const failed = failedTests(tests.output);
    if (failed.length === 0) return { mutant, result: "TESTS DID NOT RUN", killedBy: "–", detail: firstError(tests.output) };
    return { mutant, result: "killed", killedBy: failed.length === 1 ? failed[0] : `${failed[0]} (+${failed.length - 1} more)` };
  } finally {
    await restore();
  }
}

function table(rows: readonly Row[]): string {
  const cells = rows.map((row) => [row.mutant.id, row.killedBy.replaceAll("|", "\\|"), row.result, row.seconds.toFixed(0)]);
  const header = ["mutant", "killed by", "result", "s"];
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column].length)));
  const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column])).join(" | ")} |`;
  return [line(header), `| ${widths.map((width) => "-".repeat(width)).join(" | ")} |`, ...cells.map(line)].join("\n");
}

const started = Date.now();
const mutants = selectMutants(process.argv.slice(2));
const workerCount = Math.max(1, Math.min(mutants.length, Number(process.env.MUTATION_WORKERS ?? availableParallelism())));
const workspaces: MutationWorkspace[] = [];
for (let i = 0; i < workerCount; i++) workspaces.push(await MutationWorkspace.create(root));
// Interrupted: end the Hardhat runs in progress and drop the copies (the checkout was never modified).
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    for (const pid of activeChildren) process.kill(pid, "SIGKILL");
    for (const workspace of workspaces) rmSync(workspace.dir, { recursive: true, force: true });
    process.exit(130);
  });
}

/** Builds a workspace and checks the selected tests pass on the unmutated contracts there. */
async function baseline(workspace: MutationWorkspace, testFiles: string[]): Promise<void> {
  const build = await runHardhat(workspace.dir, ["build", "--quiet"]);
  if (build.exitCode !== 0) throw new BaselineFailedError(tail(build.output));
  const tests = await runHardhat(workspace.dir, ["test", "--no-compile", ...testFiles]);
  if (tests.exitCode !== 0) throw new BaselineFailedError(tail(tests.output));
}

let exitCode = 0;
try {
  const testFiles = [...new Set(mutants.flatMap((mutant) => mutant.tests))];
  console.log(`mutation check: ${mutants.length} mutants, ${testFiles.length} test files, ${workerCount} workspaces (${workspaces.map((w) => w.dir).join(", ")})`);
  // The baseline runs once in full; the other workspaces only need their build.
  await Promise.all(workspaces.map(async (workspace, i) => {
    if (i === 0) return baseline(workspace, testFiles);
    const build = await runHardhat(workspace.dir, ["build", "--quiet"]);
    if (build.exitCode !== 0) throw new BaselineFailedError(tail(build.output));
  }));
  console.log(`baseline: the selected tests pass on the unmutated contracts (${((Date.now() - started) / 1000).toFixed(0)} s)`);

  const rows = new Array<Row>(mutants.length);
  let next = 0;
  await Promise.all(workspaces.map(async (workspace) => {
    while (next < mutants.length) {
      const index = next++;
      const mutant = mutants[index];
      const mutantStarted = Date.now();
      const row = { ...(await runMutant(workspace, mutant)), seconds: (Date.now() - mutantStarted) / 1000 };
      rows[index] = row;
      console.log(`  ${row.result.padEnd(18)} ${mutant.id} (${row.seconds.toFixed(0)} s)`);
    }
  }));
  console.log(`\n${table(rows)}\n`);
  const failed = rows.filter((row) => row.result !== "killed");
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  if (failed.length === 0) {
    console.log(`every mutant killed (${rows.length}) in ${minutes} min`);
  } else {
    console.error(`${failed.length} of ${rows.length} mutants not killed: ${failed.map((row) => `${row.mutant.id} (${row.result})`).join(", ")} (${minutes} min)`);
    for (const row of failed) {
      console.error(`  ${row.mutant.id}: ${row.mutant.guard} [${row.mutant.file}]${row.detail === undefined ? "" : `\n    ${row.detail}`}`);
    }
    exitCode = 1;
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  exitCode = 2;
} finally {
  await Promise.all(workspaces.map((workspace) => workspace.remove()));
}
process.exit(exitCode);
