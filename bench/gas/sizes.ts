// The contract size table: builds the production artifacts (not a coverage build's instrumented ones), prints
// each deployable contract's runtime and init code size with its margin to EIP-170, and writes the table to
// bench/out/contract-sizes.md for docs/benchmarks.md (node bench/record.ts).
// Run: node bench/gas/sizes.ts
import { mkdir, writeFile } from "node:fs/promises";
import { productionBuild } from "../../scripts/deploy/production-build.ts";
import { keepsMargin, MAX_RUNTIME_BYTES, readContractSizes, REQUIRED_MARGIN_BYTES, sizeTableMarkdown } from "./contract-sizes.ts";

const OUTPUT = new URL("../out/contract-sizes.md", import.meta.url);

const hre = await productionBuild();
const sizes = await readContractSizes(hre);
const table = sizeTableMarkdown(sizes);
console.log(table);

const profile = hre.config.solidity.profiles.default;
const compiler = profile.compilers[0];
const optimizer = compiler.settings.optimizer as { enabled: boolean; runs: number };
// Files compiled with their own settings (hardhat.config.ts overrides), so each row's runs are stated truthfully.
const overrides = Object.entries(profile.overrides).map(([file, override]) => {
  const runs = (override.settings.optimizer as { runs: number }).runs;
  return `${file.split("/").pop()}: ${runs.toLocaleString("en-US")} runs`;
});
const short = sizes.filter((size) => !keepsMargin(size));
const name = (fqn: string) => fqn.slice(fqn.lastIndexOf(":") + 1);
const report = [
  "## Contract sizes (bench/gas/sizes.ts)",
  "",
  `Measured by \`node bench/gas/sizes.ts\` on ${new Date().toISOString().slice(0, 16)}Z from the production artifacts`,
  `(solc ${compiler.version}, optimizer ${optimizer.enabled ? `on, ${optimizer.runs.toLocaleString("en-US")} runs` : "off"}` +
    `${overrides.length > 0 ? ` (${overrides.join("; ")})` : ""}, ` +
    `EVM ${String(compiler.settings.evmVersion)}). EIP-170 refuses a contract with more than ${MAX_RUNTIME_BYTES.toLocaleString("en-US")} bytes`,
  "of runtime code, EIP-3860 a deployment with more than 49,152 bytes of init code.",
  `test/contracts/deployment/ContractSizes.test.ts requires every contract to keep a ${REQUIRED_MARGIN_BYTES.toLocaleString("en-US")}-byte margin.`,
  "",
  table,
  "",
  short.length === 0
    ? "Every contract keeps the margin."
    : `Short of the margin: ${short.map((size) => name(size.contract)).join(", ")}.`,
  "",
].join("\n");
await mkdir(new URL(".", OUTPUT), { recursive: true });
await writeFile(OUTPUT, report);
console.log(`\nwritten to bench/out/contract-sizes.md${short.length === 0 ? "" : ` (${short.length} short of the margin)`}`);
