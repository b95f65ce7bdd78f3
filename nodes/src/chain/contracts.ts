/**
 * The protocol's contracts as the node knows them: one key per deployed contract, its Solidity name and where
 * Hardhat writes its artifact. ABIs are read from those artifacts at run time and typed from the viem types
 * Hardhat generates, so a contract change reaches the node by rebuilding (`npm run build`), not by editing here.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { ArtifactMap } from "hardhat/types/artifacts";
import type { Abi, Address } from "viem";
import { ChainError } from "./errors.ts";

export const PROTOCOL_CONTRACTS = {
  token: { name: "TributaryToken", source: "contracts/token/TributaryToken.sol" },
  datanets: { name: "DatanetRegistry", source: "contracts/datanets/DatanetRegistry.sol" },
  nodes: { name: "NodeRegistry", source: "contracts/nodes/NodeRegistry.sol" },
  models: { name: "ModelRegistry", source: "contracts/models/ModelRegistry.sol" },
  settlement: { name: "Settlement", source: "contracts/settlement/Settlement.sol" },
} as const;

export type ContractKey = keyof typeof PROTOCOL_CONTRACTS;
export const CONTRACT_KEYS = Object.keys(PROTOCOL_CONTRACTS) as ContractKey[];
export type ContractName<K extends ContractKey> = (typeof PROTOCOL_CONTRACTS)[K]["name"];
export type ContractAbi<K extends ContractKey> = ArtifactMap[ContractName<K>]["abi"];
export type ProtocolAbis = { readonly [K in ContractKey]: ContractAbi<K> };
export type ProtocolAddresses = { readonly [K in ContractKey]: Address };

/** The repository's artifacts folder (the node runs from the repository, like `npm start`). */
export const DEFAULT_ARTIFACTS_DIR = resolve(import.meta.dirname, "..", "..", "..", "artifacts");

/** Reads every protocol ABI from Hardhat's artifacts. */
export async function loadProtocolAbis(artifactsDir: string = DEFAULT_ARTIFACTS_DIR): Promise<ProtocolAbis> {
  const entries = await Promise.all(CONTRACT_KEYS.map(async (key) => {
    const { name, source } = PROTOCOL_CONTRACTS[key];
    const path = resolve(artifactsDir, source, `${name}.json`);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch {
      throw new ChainError(`The ${name} contract artifact is missing (${path}): run \`npm run build\` to compile the contracts.`, { path });
    }
    return [key, (JSON.parse(text) as { abi: Abi }).abi] as const;
  }));
  return Object.fromEntries(entries) as unknown as ProtocolAbis;
}
