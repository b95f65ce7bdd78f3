import { defineConfig } from "hardhat/config";
import config from "./hardhat.config.ts";

/**
 * The coverage build: `hardhat --config hardhat.coverage.config.ts test --coverage` (npm run test:contracts).
 * Coverage instruments every contract (the Settlement grows past EIP-170's 24,576 bytes), so this build writes
 * to its own artifacts and cache: `npm start`, the benchmarks and the deployment test keep reading the
 * production artifacts of hardhat.config.ts whatever ran before them. Only here may a contract exceed the size
 * limit; test/contracts/deployment/ checks the real limit on the production build.
 */
export default defineConfig({
  ...config,
  paths: { ...config.paths, artifacts: "artifacts-coverage", cache: "cache-coverage" },
  networks: { ...config.networks, default: { type: "edr-simulated", allowUnlimitedContractSize: true } },
});
