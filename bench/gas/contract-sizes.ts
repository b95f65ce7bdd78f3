// Runtime and init code size of every deployable contract in the production artifacts, against the chain's
// limits: EIP-170 (24,576 bytes of runtime code) and EIP-3860 (49,152 bytes of init code).
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

/** EIP-170: the most runtime code a deployed contract may have. */
export const MAX_RUNTIME_BYTES = 24_576;
/** EIP-3860: the most init code a deployment may carry. */
export const MAX_INIT_CODE_BYTES = 49_152;
/**
 * Headroom every contract keeps under EIP-170, so a fix or a small feature never meets the limit in a hurry (and
 * a compiler upgrade that grows code a little does not block a release).
 */
export const REQUIRED_MARGIN_BYTES = 2_048;

export interface ContractSize {
  /** `contracts/...sol:Name` */
  contract: string;
  runtimeBytes: number;
  initCodeBytes: number;
}

export function marginOf(size: ContractSize): number {
  return MAX_RUNTIME_BYTES - size.runtimeBytes;
}

export function keepsMargin(size: ContractSize): boolean {
  return marginOf(size) >= REQUIRED_MARGIN_BYTES && size.initCodeBytes <= MAX_INIT_CODE_BYTES;
}

function byteLength(hex: string): number {
  return (hex.length - 2) / 2;
}

// A library's runtime code starts with PUSH20 <its own address> ADDRESS EQ (the call-protection prefix). The
// project's libraries have only internal functions: they are inlined into their callers and never deployed.
const LIBRARY_PREFIX = /^0x73[0-9a-f]{40}3014/i;

/** Every contract under `contracts/` that has code to deploy (not abstract, not an interface, not a library). */
export async function readContractSizes(hre: HardhatRuntimeEnvironment): Promise<ContractSize[]> {
  const sizes: ContractSize[] = [];
  for (const name of [...(await hre.artifacts.getAllFullyQualifiedNames())].sort()) {
    if (!name.startsWith("contracts/")) continue;
    const artifact = await hre.artifacts.readArtifact(name);
    if (artifact.deployedBytecode === "0x" || LIBRARY_PREFIX.test(artifact.deployedBytecode)) continue;
    sizes.push({ contract: name, runtimeBytes: byteLength(artifact.deployedBytecode), initCodeBytes: byteLength(artifact.bytecode) });
  }
  return sizes;
}

/** The sizes as a markdown table: largest first, with the margin to EIP-170 and whether it keeps the required margin. */
export function sizeTableMarkdown(sizes: readonly ContractSize[]): string {
  const n = (value: number) => value.toLocaleString("en-US");
  const cells = [...sizes]
    .sort((a, b) => b.runtimeBytes - a.runtimeBytes)
    .map((size) => [
      size.contract.slice(size.contract.lastIndexOf(":") + 1),
      n(size.runtimeBytes),
      n(marginOf(size)),
      n(size.initCodeBytes),
      marginOf(size) < 0 ? "OVER LIMIT" : keepsMargin(size) ? "pass" : "FAIL",
    ]);
  const header = ["contract", "runtime bytes", `margin to ${n(MAX_RUNTIME_BYTES)}`, "init code bytes", `margin >= ${n(REQUIRED_MARGIN_BYTES)}`];
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column].length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join(" | ")} |`;
  const rule = `| ${widths.map((width, column) => (column === 0 ? "-".repeat(width) : "-".repeat(width - 1) + ":")).join(" | ")} |`;
  return [line(header), rule, ...cells.map(line)].join("\n");
}
