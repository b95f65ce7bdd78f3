/**
 * `tributary-node watch`: follows every node's credit roots, recomputes each batch document from chain + IPFS
 * with the verifier, and challenges a root that does not recompute (bond from the configured wallet; `--dry-run`
 * only reports). Verdicts and the followed block are kept in `<dataDir>/watcher.sqlite`. Runs until SIGINT or
 * SIGTERM; `--once` scans once and exits (1 when a bad batch was found).
 */
import { join } from "node:path";
import { createWalletClient, defineChain, http, type Abi } from "viem";
import { BatchWatcher } from "../settle/batch-watcher.ts";
import { loadSettlementAbis } from "../settle/settlement-scheduler.ts";
import { NodeDatabase } from "../state/database.ts";
import { openContentStore } from "../storage/index.ts";
import type { ChainSession } from "./chain-session.ts";

export async function watchCommand(session: ChainSession, options: { once?: boolean; dryRun?: boolean }): Promise<number> {
  const { chain, config, logger } = session;
  const database = NodeDatabase.open(join(config.dataDir, "watcher.sqlite"));
  const storageUrl = config.storage.kind === "helia" ? "helia:" : `kubo+${config.storage.url}`;
  const { store } = await openContentStore(storageUrl, { dataDir: join(config.dataDir, "watcher-ipfs"), fetchTimeoutMs: 30_000 });
  const abis = await loadSettlementAbis();
  const viemChain = defineChain({ id: config.chainId, name: `tributary-${config.chainId}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [config.rpcUrl] } } });
  const watcher = new BatchWatcher({
    database, client: chain.client, store, logger,
    settlement: { address: chain.addresses.settlement, abi: abis.settlement }, pools: { abi: abis.pools },
    token: { address: chain.addresses.token, abi: chain.abis.token as Abi },
    data: { models: { address: chain.addresses.models, abi: chain.abis.models }, datanets: chain.addresses.datanets },
    wallet: options.dryRun ? undefined : createWalletClient({ account: chain.account, chain: viemChain, transport: http(config.rpcUrl) }),
    fromBlock: config.startBlock,
  });
  const print = (verdicts: Awaited<ReturnType<BatchWatcher["scan"]>>): boolean => {
    for (const v of verdicts) {
      console.log(`${v.ok ? "ok  " : "BAD "} node ${v.node} batch ${v.batchId} root ${v.root} (${v.cid})${v.challenged ? ` challenged in ${v.challengeTx}` : ""}`);
      for (const d of v.discrepancies.slice(0, 5)) console.log(`       ${d.code}: ${d.message}`);
    }
    return verdicts.every((v) => v.ok);
  };
  try {
    if (options.once) return print(await watcher.scan()) ? 0 : 1;
    let stop = false;
    process.once("SIGINT", () => { stop = true; });
    process.once("SIGTERM", () => { stop = true; });
    while (!stop) {
      try {
        print(await watcher.scan());
      } catch (error) {
        logger.warn({ err: (error as Error).message.split("\n")[0] }, "scan failed; retrying");
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(config.pollIntervalMs, 1_000)));
    }
    return 0;
  } finally {
    await store.close();
    database.close();
  }
}
