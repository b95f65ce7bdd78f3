// The protocol's gas table: measures the settlement and registry operations on Hardhat's in-process chain
// (each on its own fresh chain), prints one markdown table with each row's target and writes it, with
// the machine and compiler settings, to bench/out/gas.md.
// Run: node bench/gas/run.ts  (after `npx hardhat build` when a contract changed)
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import hre, { network } from "hardhat";
import { gasTableMarkdown, meetsTarget } from "./gas-table.ts";
import { measureRegistryGas } from "./registries.ts";
import { measureSettlementGas } from "./settlement.ts";

const OUTPUT = new URL("../out/gas.md", import.meta.url);

const settlementRows = await measureSettlementGas(await network.create());
const registryRows = await measureRegistryGas(await network.create());
const rows = [...settlementRows, ...registryRows];
const table = gasTableMarkdown(rows);
console.log(table);

const profile = hre.config.solidity.profiles.default;
const compiler = profile.compilers[0];
const optimizer = compiler.settings.optimizer as { enabled: boolean; runs: number };
const overrides = Object.entries(profile.overrides).map(([file, override]) => {
  const runs = (override.settings.optimizer as { runs: number }).runs;
  return `${file.split("/").pop()}: ${runs.toLocaleString("en-US")} runs`;
});
const chain = hre.config.networks.default;
const processors = cpus();
const failed = rows.filter((row) => !meetsTarget(row));
const report = [
  "## Gas (bench/gas/run.ts)",
  "",
  `Measured by \`node bench/gas/run.ts\` on ${new Date().toISOString().slice(0, 16)}Z: ${processors.length} cores ` +
    `(${processors[0]?.model.trim() ?? "unknown CPU"}), Node ${process.version}, solc ${compiler.version} ` +
    `(optimizer ${optimizer.enabled ? `on, ${optimizer.runs.toLocaleString("en-US")} runs` : "off"}` +
    `${overrides.length > 0 ? ` (${overrides.join("; ")})` : ""}, ` +
    `EVM ${String(compiler.settings.evmVersion)}), Hardhat in-process chain (hardfork ` +
    `${"hardfork" in chain ? String(chain.hardfork) : "default"}).`,
  "Gas is the whole transaction's (21,000 base and calldata included). Settlement rows use test doubles of the",
  "registries; registry rows use the real contracts. Keys are seeded (bench/gas/seeded-accounts.ts), so every",
  "run sends the same calldata and repeats these figures exactly. `–`: the issue sets no target for that row.",
  "",
  table,
  "",
  failed.length === 0
    ? "Every target is met."
    : `Targets missed: ${failed.map((row) => row.operation).join("; ")}. Why, and what meets the target instead: ` +
      "bench/gas/README.md, Reading the results.",
  "",
].join("\n");
await mkdir(new URL(".", OUTPUT), { recursive: true });
await writeFile(OUTPUT, report);
console.log(`\nwritten to bench/out/gas.md${failed.length === 0 ? "" : ` (${failed.length} target(s) missed)`}`);
