/**
 * The protocol's contracts as the node knows them: one key per deployed contract, its Solidity name and where
 * Hardhat writes its artifact. ABIs are read from those artifacts at run time and typed from the viem types
 * Hardhat generates, so a contract change reaches the node by rebuilding (`npm run build`), not by editing here.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { ArtifactMap } from "hardhat/types/artifacts";
import type { Abi, Address, PublicClient } from "viem";
import { backoffDelay, sleep } from "./backoff.ts";
import { ChainError } from "./errors.ts";

export const PROTOCOL_CONTRACTS = {
  token: { name: "TributaryToken", source: "contracts/token/TributaryToken.sol" },
  datanets: { name: "DatanetRegistry", source: "contracts/datanets/DatanetRegistry.sol" },
  nodes: { name: "NodeRegistry", source: "contracts/nodes/NodeRegistry.sol" },
  models: { name: "ModelRegistry", source: "contracts/models/ModelRegistry.sol" },
  settlement: { name: "Settlement", source: "contracts/settlement/Settlement.sol" },
  contributorPools: { name: "ContributorPools", source: "contracts/settlement/ContributorPools.sol" },
} as const;

export type ContractKey = keyof typeof PROTOCOL_CONTRACTS;
export const CONTRACT_KEYS = Object.keys(PROTOCOL_CONTRACTS) as ContractKey[];
export type ContractName<K extends ContractKey> = (typeof PROTOCOL_CONTRACTS)[K]["name"];
export type ContractAbi<K extends ContractKey> = ArtifactMap[ContractName<K>]["abi"];
export type ProtocolAbis = { readonly [K in ContractKey]: ContractAbi<K> };
export type ProtocolAddresses = { readonly [K in ContractKey]: Address };

/**
 * Contracts another contract created, whose address the node reads from it when the config does not give one:
 * the Settlement deploys its ContributorPools (claims, disputes) and names it by `contributorPools()`.
 */
export const DERIVED_CONTRACTS = { contributorPools: { from: "settlement", getter: "contributorPools" } } as const;
export type DerivedContractKey = keyof typeof DERIVED_CONTRACTS;
/** The contracts a config must name (the deployment file does); derived ones are optional there. */
export const CONFIGURED_CONTRACT_KEYS = CONTRACT_KEYS.filter((k) => !(k in DERIVED_CONTRACTS)) as Exclude<ContractKey, DerivedContractKey>[];
export type ConfiguredAddresses = Omit<ProtocolAddresses, DerivedContractKey> & { readonly [K in DerivedContractKey]?: Address };

/** Fills each derived contract's address the config left out by calling its getter on the creating contract. */
export async function resolveProtocolAddresses(
  client: PublicClient, abis: ProtocolAbis, configured: ConfiguredAddresses, options: { attempts?: number; signal?: AbortSignal } = {},
): Promise<ProtocolAddresses> {
  const resolved: Record<string, Address> = { ...configured } as Record<string, Address>;
  for (const [key, { from, getter }] of Object.entries(DERIVED_CONTRACTS)) {
    if (resolved[key] !== undefined) continue;
    const attempts = options.attempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        resolved[key] = await client.readContract({ address: configured[from], abi: abis[from] as Abi, functionName: getter }) as Address;
        break;
      } catch (error) {
        if (attempt >= attempts || options.signal?.aborted) {
          throw new ChainError(
            `cannot read ${PROTOCOL_CONTRACTS[from].name}.${getter}() at ${configured[from]} for the ${PROTOCOL_CONTRACTS[key as ContractKey].name} address `
              + `(${(error as Error).message.split("\n")[0]}): check the chain is reachable, or set contracts.${key} (--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}-address)`,
            { contract: key },
          );
        }
        await sleep(backoffDelay(attempt), options.signal);
      }
    }
  }
  return resolved as unknown as ProtocolAddresses;
}

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
