/**
 * Writes frontend/src/chain/generated/contracts.ts once, outside Vite, so the dApp can be type-checked on a fresh
 * checkout before any Vite run (npm run test:frontend does this first). Needs the Hardhat artifacts (npm run build).
 *
 * Usage: node frontend/vite/generate-contracts.ts   (TRIBUTARY_DEPLOYMENT=<file> for another deployment file)
 */
import { resolve } from "node:path";
import { writeContractsModule } from "./contracts-plugin.ts";

const repoRoot = resolve(import.meta.dirname, "../..");
try {
  const deploymentFile = process.env.TRIBUTARY_DEPLOYMENT ? resolve(process.env.TRIBUTARY_DEPLOYMENT) : undefined;
  console.log(`wrote ${writeContractsModule({ repoRoot, deploymentFile })}`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
