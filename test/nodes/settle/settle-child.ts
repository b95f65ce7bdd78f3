/**
 * A settlement process for the SIGKILL test: runs one scheduler round on the given database and kills itself
 * with SIGKILL at the named step (after the batch is journaled, or after it is broadcast), as a crash would.
 * argv: <db> <ipfsDir> <rpcUrl> <chainId> <settlement> <operatorKey> <killAt: signed|broadcast>
 */
import { createPublicClient, defineChain, http, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { SettlementScheduler, loadSettlementAbis } from "../../../nodes/src/settle/settlement-scheduler.ts";
import { NodeDatabase } from "../../../nodes/src/state/database.ts";
import { openContentStore } from "../../../nodes/src/storage/index.ts";
import { loadProtocolAbis } from "../../../nodes/src/chain/contracts.ts";
import { MANIFEST, txSender } from "./settle-fixture.ts";

const [dbPath, ipfsDir, rpcUrl, chainId, settlement, operatorKey, killAt] = process.argv.slice(2);
const chain = defineChain({ id: Number(chainId), name: "test", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } });
const client = createPublicClient({ chain, transport: http(rpcUrl) }) as PublicClient;
const { store } = await openContentStore("helia:", { dataDir: ipfsDir, fetchTimeoutMs: 10_000 });
const scheduler = new SettlementScheduler({
  database: NodeDatabase.open(dbPath), store, client, chainId: Number(chainId),
  sender: txSender(client, privateKeyToAccount(operatorKey as Hex), Number(chainId), await loadProtocolAbis(), { settlement: settlement as Address }),
  settlement: settlement as Address, abis: await loadSettlementAbis(), manifests: async () => MANIFEST,
  onStep: (step) => {
    if (step === killAt) process.kill(process.pid, "SIGKILL");
  },
});
await scheduler.runOnce();
process.exit(3); // not reached when the kill step comes
