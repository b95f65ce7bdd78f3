/**
 * A real `hardhat node` on a free 127.0.0.1 port with the protocol deployed through the same code path as
 * `npm start` (scripts/deploy/local-chain.ts), plus the accounts and calls the node tests need.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createPublicClient, createWalletClient, defineChain, http, keccak256, parseEther, toHex, type Address, type Hex, type PublicClient,
} from "viem";
import { mnemonicToAccount, privateKeyToAccount, type HDAccount, type PrivateKeyAccount } from "viem/accounts";
import { deployProtocol, startHardhatNode, type Deployment, type LocalChain } from "../../../../scripts/deploy/local-chain.ts";
import { findFreePort } from "../../../../scripts/deploy/ports.ts";
import { loadProtocolAbis, type ContractKey, type ProtocolAbis, type ProtocolAddresses } from "../../../../nodes/src/chain/contracts.ts";

const MNEMONIC = "test test test test test test test test test test test junk";
export const account = (index: number): HDAccount => mnemonicToAccount(MNEMONIC, { addressIndex: index });
export const privateKeyOf = (a: HDAccount): Hex => toHex(a.getHdKey().privateKey!);
/** Hardhat's account `index` as a private-key account (what the node's sender signs with). */
export const localAccount = (index: number): PrivateKeyAccount => privateKeyToAccount(privateKeyOf(account(index)));

export interface TestChain {
  dir: string;
  chain: LocalChain;
  deployment: Deployment;
  addresses: ProtocolAddresses;
  abis: ProtocolAbis;
  client: PublicClient;
  /** Sends a contract call from `from` and waits for its receipt. */
  send(from: HDAccount, contract: ContractKey, functionName: string, args: readonly unknown[]): Promise<Hex>;
  rpc(method: string, params?: unknown[]): Promise<unknown>;
  /** Stops the chain process (an RPC outage) ... */
  stopChain(): Promise<void>;
  /** ... and starts a fresh one on the same port with the protocol redeployed (same addresses). */
  restartChain(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestChain(): Promise<TestChain> {
  const dir = await mkdtemp(join(tmpdir(), "tributary-node-test-"));
  const port = await findFreePort();
  const deploymentId = `test-${port}-${process.pid}`;
  let chain = await startHardhatNode({ port, logFile: join(dir, "hardhat-node.log") });
  let deployment: Awaited<ReturnType<typeof deployProtocol>>;
  try {
    deployment = await deployProtocol(chain.rpcUrl, chain.chainId, { deploymentId });
  } catch (error) {
    // A chain left running would keep the test file's process, and the whole run, waiting forever.
    await chain.stop();
    throw error;
  }
  const abis = await loadProtocolAbis();
  const viemChain = defineChain({
    id: chain.chainId, name: "test", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [chain.rpcUrl] } },
  });
  const client = createPublicClient({ chain: viemChain, transport: http(chain.rpcUrl, { retryCount: 0 }), pollingInterval: 50 }) as PublicClient;
  const addresses = deployment.contracts as unknown as ProtocolAddresses;
  const test: TestChain = {
    dir, chain, deployment, addresses, abis, client,
    async send(from, contract, functionName, args) {
      const wallet = createWalletClient({ account: from, chain: viemChain, transport: http(chain.rpcUrl) });
      const hash = await wallet.writeContract({ address: addresses[contract], abi: abis[contract], functionName, args } as never);
      const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
      if (receipt.status !== "success") throw new Error(`${contract}.${functionName} reverted`);
      return hash;
    },
    rpc: (method, params = []) => client.request({ method: method as never, params: params as never }),
    async stopChain() {
      await chain.stop();
    },
    async restartChain() {
      chain = await startHardhatNode({ port, logFile: join(dir, "hardhat-node.log"), appendLog: true });
      test.chain = chain;
      await deployProtocol(chain.rpcUrl, chain.chainId, { deploymentId });
    },
    async close() {
      await chain.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return test;
}

export const MIN_STAKE = parseEther("100");

/**
 * A published Datanet version (1, version 1), base model 1, and a requester (account 1) funded and approved
 * to pay job fees. Governance is account 0.
 */
export async function prepareJobMarket(t: TestChain): Promise<{ requester: HDAccount }> {
  const governance = account(0);
  const requester = account(1);
  await t.send(governance, "datanets", "createDatanet", ["bafy-datanet", "CC-BY-4.0", { stake: 0n, maxBytes: 1_000_000, forfeitRejectedStake: false }]);
  const digest = keccak256(toHex("contribution"));
  await t.send(governance, "datanets", "contribute", [1n, digest, 10n, "bafy-contribution", 0n, false]);
  const id = (await t.client.readContract({ address: t.addresses.datanets, abi: t.abis.datanets, functionName: "contributionIdOf", args: [1n, digest, governance.address] })) as bigint;
  await t.send(governance, "datanets", "acceptContributions", [1n, [id]]);
  await t.send(governance, "datanets", "publishVersion", [1n, keccak256(toHex("root")), "bafy-manifest", 1, 1]);
  await t.send(governance, "models", "registerBaseModel", ["tributary-base-v0", "bafy-base", "Apache-2.0"]);
  await t.send(governance, "token", "transfer", [requester.address, parseEther("10000")]);
  await t.send(requester, "token", "approve", [t.addresses.models, parseEther("10000")]);
  return { requester };
}

/** Creates a training job on `baseModelId` with `fee` tokens, due in two hours of chain time. */
export async function createJob(t: TestChain, requester: HDAccount, fee: bigint, baseModelId = 1n): Promise<Hex> {
  const now = (await t.client.getBlock()).timestamp;
  return t.send(requester, "models", "createJob", [{ datanetId: 1n, datanetVersion: 1, baseModelId, hyperParamsCid: "bafy-hparams", fee, deadline: now + 7_200n }]);
}

export async function waitUntil<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export type { Address };
