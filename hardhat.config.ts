import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import hardhatViemAssertions from "@nomicfoundation/hardhat-viem-assertions";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";
import hardhatNetworkHelpers from "@nomicfoundation/hardhat-network-helpers";
import hardhatIgnitionViem from "@nomicfoundation/hardhat-ignition-viem";

const require = createRequire(import.meta.url);
const SETTLEMENT_OPTIMIZER_RUNS = 200;

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
    // The Settlement is one deployed contract with many concerns: at 10,000 runs the optimizer's inlining takes
    // it past the 24,576-byte code size limit (EIP-170). At 200 runs it is 22.2k bytes, and claims cost the
    // same within 0.1k gas.
    overrides: { "contracts/settlement/Settlement.sol": solc(SETTLEMENT_OPTIMIZER_RUNS) },
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
