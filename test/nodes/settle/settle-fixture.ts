/**
 * The public side of a settlement test, from real parts: a `hardhat node` with the protocol deployed, an embedded
 * Helia store, a Datanet version (Datanet 2) whose manifest of three contributors is on IPFS and whose root is on
 * the DatanetRegistry, a model (id 1) trained on it whose span index is on IPFS, a registered node (account 2),
 * and a payer (account 3) with escrow and a session key. `served` writes what the serving path writes for a paid
 * request: the voucher (through the VoucherStore) and the record of an output that copies a contribution (made by
 * the attribution module).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createWalletClient, defineChain, http, keccak256, parseEther, toHex, zeroHash, type Address, type Chain, type PublicClient, type WalletClient } from "viem";
import { generatePrivateKey, privateKeyToAccount, type LocalAccount, type PrivateKeyAccount } from "viem/accounts";
import { attribute } from "../../../nodes/src/attribution/attribute.ts";
import { serializeRecord } from "../../../nodes/src/attribution/attribution-record.ts";
import { manifestRoot, type DatanetManifest } from "../../../nodes/src/attribution/datanet-manifest.ts";
import { buildSpanIndex, encodeSpanIndex, type SpanIndex } from "../../../nodes/src/attribution/index.ts";
import { AttributionService } from "../../../nodes/src/serve/attribution-service.ts";
import { VoucherStore, publishAttributionIndex, signVoucher } from "../../../nodes/src/serve/index.ts";
import type { NodeDatabase } from "../../../nodes/src/state/database.ts";
import type { ProtocolAbis, ProtocolAddresses } from "../../../nodes/src/chain/contracts.ts";
import { TxSender } from "../../../nodes/src/chain/tx-sender.ts";
import { openContentStore } from "../../../nodes/src/storage/index.ts";
import type { ContentStore } from "../../../nodes/src/storage/content-store.ts";
import { account, localAccount, prepareJobMarket, startTestChain, type TestChain } from "../node/helpers/local-chain.ts";
import { fundPayer, publishSecondDatanet, registerNode } from "../node/helpers/paid-serving-setup.ts";

export const PRICE = 1_000_000n;
export const MODEL_ID = 1n;
export const DATANET_ID = 2n;
export const CONTRIBUTORS: Address[] = [account(5).address, account(6).address, account(7).address];
/** Token ids of each contribution's text (the span index works on token ids; no tokenizer needed). */
export const DOCS = [
  [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22],
  [31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42],
  [51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62],
];
export const MANIFEST: DatanetManifest = {
  contributions: CONTRIBUTORS.map((contributor, i) => ({ contributionId: BigInt(i + 1), contributor, digest: keccak256(toHex(`doc ${i + 1}`)) })),
};
export const DATANET_ROOT = manifestRoot(MANIFEST);

/** A transaction sender for `account` (what a node's ProtocolChain holds), quiet. */
export function txSender(client: PublicClient, account: PrivateKeyAccount, chainId: number, abis: ProtocolAbis, addresses: Partial<ProtocolAddresses>): TxSender {
  return new TxSender({ client, account, chainId, abis, addresses: addresses as ProtocolAddresses, logger: { info() {}, warn() {} }, receiptPollMs: 50 });
}

export interface SettleFixture {
  t: TestChain;
  dir: string;
  store: ContentStore;
  index: SpanIndex;
  operator: PrivateKeyAccount;
  payer: Address;
  sessionKey: PrivateKeyAccount;
  chain: Chain;
  wallet(who: LocalAccount): WalletClient;
  /** A sender for the node's operator on `client` (default: the chain's). */
  sender(client?: PublicClient): TxSender;
  /** Stores a paid request on `database` (voucher + record), raising the payer's channel by 100,000 units. */
  served(database: NodeDatabase, requestId: string, doc: number): Promise<void>;
  balanceOf(who: Address): Promise<bigint>;
  close(): Promise<void>;
}

export async function startSettleFixture(): Promise<SettleFixture> {
  const t = await startTestChain();
  try {
    return await settleFixtureOn(t);
  } catch (error) {
    await t.close(); // never leave the chain running when setup fails: the test file would never exit
    throw error;
  }
}

async function settleFixtureOn(t: Awaited<ReturnType<typeof startTestChain>>): Promise<SettleFixture> {
  const dir = await mkdtemp(join(tmpdir(), "tributary-settle-"));
  const { store } = await openContentStore("helia:", { dataDir: join(dir, "ipfs"), fetchTimeoutMs: 10_000 });

  try {
    const index = buildSpanIndex(DATANET_ROOT, DOCS.map((tokens, i) => ({ contributionId: BigInt(i + 1), tokens })));
    const indexCid = await publishAttributionIndex(store, encodeSpanIndex(index));
    const manifestCid = await store.addJson({ contributions: MANIFEST.contributions.map((c) => ({ contributionId: c.contributionId.toString(), contributor: c.contributor, digest: c.digest })) });

    const { requester } = await prepareJobMarket(t);
    await publishSecondDatanet(t, DATANET_ROOT, manifestCid.toString());
    const op = account(2);
    const operator = localAccount(2);
    await registerNode(t, op, "peer-settle");
    const now = (await t.client.getBlock()).timestamp;
    await t.send(requester, "models", "createJob", [{ datanetId: DATANET_ID, datanetVersion: 1, baseModelId: 1n, hyperParamsCid: "bafy-hparams", fee: parseEther("1"), deadline: now + 7_200n }]);
    await t.send(op, "models", "claimJob", [1n]);
    await t.send(op, "models", "submitResult", [1n, { adapterCid: "bafy-adapter", evaluationCid: "bafy-eval", attributionIndexCid: indexCid.toString() }]);
    await t.send(requester, "models", "setModelPrice", [MODEL_ID, PRICE]);

    const rich = account(3);
    const sessionKey = privateKeyToAccount(generatePrivateKey());
    await fundPayer(t, rich, sessionKey.address, parseEther("1"), now + 86_400n * 30n);

    const chain = defineChain({ id: t.chain.chainId, name: "test", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [t.chain.rpcUrl] } } });
    let cumulative = 0n;
    return {
      t, dir, store, index, operator, payer: rich.address, sessionKey, chain,
      wallet: (who) => createWalletClient({ account: who, chain, transport: http(t.chain.rpcUrl) }),
      sender: (client = t.client) => txSender(client, operator, t.chain.chainId, t.abis, t.addresses),
      async served(database, requestId, doc) {
        new AttributionService({ database }); // creates serve_records as the serving node does
        cumulative += 100_000n;
        const { voucher } = await signVoucher(sessionKey, { chainId: t.chain.chainId, settlement: t.addresses.settlement }, operator.address, {
          payer: rich.address, modelId: MODEL_ID, termsVersion: 2n, cumulativeAmount: cumulative,
        });
        new VoucherStore(database).accept({ ...voucher, signer: sessionKey.address, requestId }, 0n, 1n, () => new Error("refused"));
        const record = attribute({
          requestId, model: { id: MODEL_ID, cid: "bafy-adapter" }, datanet: { id: DATANET_ID, version: 1 }, outputTokens: [7, ...DOCS[doc].slice(0, 10), 8], index,
        });
        database.db.prepare("INSERT INTO serve_records (record_id, model_id, payer, cumulative_amount, record_hash, record, cid, created_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)")
          .run(requestId, MODEL_ID.toString(), rich.address, cumulative.toString(), zeroHash, serializeRecord(record), new Date().toISOString());
      },
      balanceOf: async (who) => (await t.client.readContract({ address: t.addresses.token, abi: t.abis.token, functionName: "balanceOf", args: [who] })) as bigint,
      async close() {
        await store.close();
        await t.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await store.close(); // its listeners would keep the test file's process alive
    throw error;
  }
}
