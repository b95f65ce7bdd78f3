/**
 * Where the dApp finds the chain and its contracts: the generated deployment (from .data/local-chain.json), with
 * VITE_RPC_URL / VITE_CHAIN_ID overriding it for another chain.
 */
import { deployment as generated, deploymentFile } from "./generated/contracts.ts";

export type ContractKey = "token" | "datanets" | "nodes" | "models" | "settlement";

export interface Deployment {
  rpcUrl: string;
  chainId: number;
  contracts: Record<ContractKey, `0x${string}`>;
}

export class NoDeploymentError extends Error {
  constructor() {
    super(`No deployment found at ${deploymentFile}: start the local chain with \`npm start\` (it writes that file) and reload.`);
    this.name = "NoDeploymentError";
  }
}

export const deployment: Deployment | null = generated
  ? {
      ...generated,
      rpcUrl: import.meta.env.VITE_RPC_URL ?? generated.rpcUrl,
      chainId: Number(import.meta.env.VITE_CHAIN_ID ?? generated.chainId),
    }
  : null;

export function requireDeployment(): Deployment {
  if (!deployment) throw new NoDeploymentError();
  return deployment;
}

export function addressOf(key: ContractKey): `0x${string}` {
  return requireDeployment().contracts[key];
}
