/**
 * The stack's view of the local chain: Hardhat's well-known dev accounts (local-only test keys) with the demo's roles,
 * clients for the deployed protocol, and the base-model catalog entry for the committed model.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createPublicClient, createWalletClient, defineChain, http, toHex, type Hex, type PublicClient } from "viem";
import { mnemonicToAccount, type HDAccount } from "viem/accounts";
import { CID } from "multiformats/cid";
import * as json from "multiformats/codecs/json";
import { sha256 } from "multiformats/hashes/sha2";
import { loadProtocolAbis, type ContractKey, type ProtocolAbis, type ProtocolAddresses } from "../../nodes/src/chain/contracts.ts";
import type { Deployment } from "../deploy/local-chain.ts";

/** Hardhat's default mnemonic: its keys are public, for local chains only. */
const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

export const ROLES = [
  { index: 0, role: "deployer, governance and the demo Datanet's owner and curator" },
  { index: 1, role: "node operator (the stack's compute node signs with it)" },
  { index: 2, role: "model builder (paid the demo training job, owns the demo model)" },
  { index: 3, role: "contributor (Jargon File entries 0-c)" },
  { index: 4, role: "contributor (entries d-h)" },
  { index: 5, role: "contributor (entries i-o)" },
  { index: 6, role: "contributor (entries p-z)" },
  { index: 7, role: "settlement watcher (recomputes batches, challenges bad credit roots; when present)" },
  { index: 8, role: "demo payer (escrow and a session key; paid the seeded chat completions)" },
] as const;
export const OPERATOR = 1;
export const MODEL_BUILDER = 2;
export const CONTRIBUTORS = [3, 4, 5, 6];
export const WATCHER = 7;
export const PAYER = 8;
/** The demo payer's session key (a dev key too: local only): signs the seeded requests' vouchers. */
export const SESSION_KEY = 9;

export const devAccount = (index: number): HDAccount => mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: index });
export const devKey = (index: number): Hex => toHex(devAccount(index).getHdKey().privateKey!);

export class TransactionRevertedError extends Error {
  constructor(contract: string, functionName: string, hash: Hex) {
    super(`${contract}.${functionName} reverted (tx ${hash})`);
    this.name = "TransactionRevertedError";
  }
}

export interface StackChain {
  client: PublicClient;
  addresses: ProtocolAddresses;
  abis: ProtocolAbis;
  read<T = unknown>(contract: ContractKey, functionName: string, args?: readonly unknown[]): Promise<T>;
  send(fromIndex: number, contract: ContractKey, functionName: string, args: readonly unknown[]): Promise<Hex>;
  rpc(method: string, params?: unknown[]): Promise<unknown>;
}

export async function connectChain(deployment: Deployment): Promise<StackChain> {
  const abis = await loadProtocolAbis();
  const chain = defineChain({
    id: deployment.chainId, name: "Tributary local", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [deployment.rpcUrl] } },
  });
  const client = createPublicClient({ chain, transport: http(deployment.rpcUrl), pollingInterval: 100 }) as PublicClient;
  const addresses = deployment.contracts as unknown as ProtocolAddresses;
  return {
    client, addresses, abis,
    read: (contract, functionName, args = []) =>
      client.readContract({ address: addresses[contract], abi: abis[contract], functionName, args } as never) as never,
    async send(fromIndex, contract, functionName, args) {
      const wallet = createWalletClient({ account: devAccount(fromIndex), chain, transport: http(deployment.rpcUrl) });
      const hash = await wallet.writeContract({ address: addresses[contract], abi: abis[contract], functionName, args } as never);
      const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 100 });
      if (receipt.status !== "success") throw new TransactionRevertedError(contract, functionName, hash);
      return hash;
    },
    rpc: (method, params = []) => client.request({ method: method as never, params: params as never }),
  };
}

/**
 * The catalog's manifest CID for a model folder: the CIDv1 (JSON codec, sha2-256) of a
 * document listing every file with its size and SHA-256, so the on-chain entry pins down the exact weights and
 * tokenizer the node holds.
 */
export async function baseModelManifestCid(modelDir: string, name: string): Promise<string> {
  const files = [];
  for (const file of (await readdir(modelDir)).sort()) {
    const bytes = await readFile(join(modelDir, file));
    files.push({ path: file, size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") });
  }
  const document = { format: "tributary.base-model-manifest/1", name, files };
  return CID.create(1, json.code, await sha256.digest(json.encode(document))).toString();
}
