import { resolve } from "node:path";
import { createHardhatRuntimeEnvironment } from "hardhat/hre";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import config from "../../hardhat.config.ts";

const root = resolve(import.meta.dirname, "../..");

/**
 * A Hardhat run exports its global options as HARDHAT_* variables (HARDHAT_COVERAGE, HARDHAT_CONFIG...) and a
 * new runtime reads them as defaults: inside `hardhat test --coverage` a runtime created plainly would build
 * instrumented artifacts. The variables are hidden while `create` resolves its options, then put back.
 */
export async function withoutParentHardhatOptions<T>(create: () => Promise<T>): Promise<T> {
  const saved = Object.entries(process.env).filter(([name]) => name.startsWith("HARDHAT_"));
  for (const [name] of saved) delete process.env[name];
  try {
    return await create();
  } finally {
    for (const [name, value] of saved) process.env[name] = value;
  }
}

/**
 * A Hardhat runtime of the production config (hardhat.config.ts: artifacts/, EIP-170 enforced), whatever runtime
 * the caller runs in, with its contracts built (a no-op when the artifacts are current). Deployments and the size
 * checks read these artifacts, never a coverage build's instrumented ones (artifacts-coverage/).
 */
export async function productionBuild(): Promise<HardhatRuntimeEnvironment> {
  const configPath = resolve(root, "hardhat.config.ts");
  const hre = await withoutParentHardhatOptions(() => createHardhatRuntimeEnvironment(config, { config: configPath }, root));
  // Every build, even one with nothing to compile, rewrites cache/compile-cache.json through a fixed temporary name;
  // two processes building at once (test files that each start a chain, in parallel) can rename each other's
  // temporary file away (ENOENT). The artifacts are current by then: building again is safe.
  for (let attempt = 1; ; attempt++) {
    try {
      await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
      return hre;
    } catch (error) {
      if (attempt >= 5 || !isCompileCacheRace(error)) throw error;
      await new Promise((done) => setTimeout(done, 100 + Math.random() * 400 * attempt));
    }
  }
}

function isCompileCacheRace(error: unknown): boolean {
  for (let e = error as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.message === "string" && e.message.includes("compile-cache.json")) return true;
  }
  return false;
}
