import { cp, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MutantSnippetError } from "./errors.ts";
import type { Mutant } from "./mutants.ts";

/** What the contract tests need: sources, tests and what they import, and the Hardhat config. */
const COPIED = [
  "contracts",
  "test/contracts",
  "ignition/modules",
  "scripts",
  "bench/gas",
  "hardhat.config.ts",
  "hardhat.coverage.config.ts",
  "package.json",
  "tsconfig.json",
];

/**
 * A temporary copy of the repository's contracts and contract tests (node_modules linked, not copied), where
 * mutants are applied one at a time. The checkout itself is never modified, so an interrupted run cannot leave a
 * mutant behind, and its artifacts/ stay the production build. One copy serves every mutant, so each build only
 * recompiles what the mutant touched.
 */
export class MutationWorkspace {
  readonly dir: string;
  readonly #root: string;

  private constructor(root: string, dir: string) {
    this.#root = root;
    this.dir = dir;
  }

  static async create(root: string): Promise<MutationWorkspace> {
    const dir = await mkdtemp(join(tmpdir(), "tributary-mutation-"));
    for (const path of COPIED) await cp(join(root, path), join(dir, path), { recursive: true });
    await symlink(join(root, "node_modules"), join(dir, "node_modules"), "dir");
    return new MutationWorkspace(root, dir);
  }

  /**
   * Writes `mutant` into the copy of its file and returns a function that restores the original. The original is
   * read from the checkout, whose text must contain the snippet exactly once.
   */
  async apply(mutant: Mutant): Promise<() => Promise<void>> {
    const original = await readFile(join(this.#root, mutant.file), "utf8");
    const matches = original.split(mutant.find).length - 1;
    if (matches !== 1) throw new MutantSnippetError(mutant.id, mutant.file, matches);
    const target = join(this.dir, mutant.file);
    await writeFile(target, original.replace(mutant.find, () => mutant.replace));
    return () => writeFile(target, original);
  }

  remove(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}
