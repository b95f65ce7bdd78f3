import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import hardhatViemAssertions from "@nomicfoundation/hardhat-viem-assertions";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";
import hardhatNetworkHelpers from "@nomicfoundation/hardhat-network-helpers";
import hardhatIgnitionViem from "@nomicfoundation/hardhat-ignition-viem";

const require = createRequire(import.meta.url);
const SOLC_VERSION: string = require("solc/package.json").version;
const SOLC_PATH = require.resolve("solc/soljson.js");
const SETTLEMENT_OPTIMIZER_RUNS = 200;

export default defineConfig({
  plugins: [hardhatViem, hardhatViemAssertions, hardhatMocha, hardhatNetworkHelpers, hardhatIgnitionViem],
  solidity: {
    // solc from the npm package: Hardhat would otherwise download a compiler, and these machines are offline.
    compilers: [{ version: SOLC_VERSION, path: SOLC_PATH, settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: "cancun" } }],
    overrides: {
      // 200 optimizer runs keep the Settlement 4.4 KB under the EIP-170 size limit (20.2 KB; at 10,000 runs it
      // is 24.9 KB and does not deploy), and its gas within 60 of 1,000 runs (bench/gas/README.md).
      "contracts/settlement/Settlement.sol": {
        version: SOLC_VERSION,
        path: SOLC_PATH,
        settings: { optimizer: { enabled: true, runs: SETTLEMENT_OPTIMIZER_RUNS }, evmVersion: "cancun" },
      },
    },
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
