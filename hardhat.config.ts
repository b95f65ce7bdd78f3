import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import hardhatViemAssertions from "@nomicfoundation/hardhat-viem-assertions";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";
import hardhatNetworkHelpers from "@nomicfoundation/hardhat-network-helpers";
import hardhatIgnitionViem from "@nomicfoundation/hardhat-ignition-viem";

const require = createRequire(import.meta.url);
const MODEL_REGISTRY_OPTIMIZER_RUNS = 200;

/** The solc npm package's compiler, optimizing for `runs` calls per function. */
function solc(runs: number) {
  return {
    version: require("solc/package.json").version,
    path: require.resolve("solc/soljson.js"),
    settings: { optimizer: { enabled: true, runs }, evmVersion: "cancun" },
  };
}

export default defineConfig({
  plugins: [hardhatViem, hardhatViemAssertions, hardhatMocha, hardhatNetworkHelpers, hardhatIgnitionViem],
  solidity: {
    // solc from the npm package: Hardhat would otherwise download a compiler, and these machines are offline.
    compilers: [solc(10_000)],
    // The ModelRegistry (an ERC-721 with jobs, held fees and their disputes, and versioned terms) is 23.0k bytes at
    // 10,000 runs, short of the 2 KB margin under the EIP-170 limit the size tests require; at 200 runs it is
    // 18.9k. Its calls are rare (jobs, terms changes), so the gas this costs hardly matters (bench/gas/README.md).
    // The Settlement, split from its ContributorPools, fits at 10,000 runs.
    overrides: { "contracts/models/ModelRegistry.sol": solc(MODEL_REGISTRY_OPTIMIZER_RUNS) },
  },
  paths: {
    sources: "contracts",
    tests: { mocha: "test/contracts", solidity: "test/contracts" },
  },
  // EIP-170: a contract over 24,576 bytes of runtime code cannot be deployed on a real chain, so tests must
  // fail on one too. Only coverage builds (hardhat.coverage.config.ts) lift the limit: instrumentation inflates
  // the bytecode, and they keep their own artifacts so deployments never read instrumented code.
  networks: {
    default: { type: "edr-simulated", allowUnlimitedContractSize: false },
    node: { type: "edr-simulated", allowUnlimitedContractSize: false },
  },
  test: { solidity: { fuzz: { runs: 256 } } },
});
