/**
 * Settlement in a running node, as a NodeExtension: the scheduler runs every `intervalMs` (and at start, which
 * finishes a batch a killed process left signed), `GET /v1/credits/:account` answers a contributor's cumulative
 * credit and Merkle proof against the node's final root, and, with `watch`, the batch watcher checks every
 * node's roots on the same schedule and challenges bad ones with the operator's wallet.
 */
import { createWalletClient, defineChain, getAddress, http, isAddress, type Abi } from "viem";
import type { NodeExtension } from "../runtime/extensions.ts";
import type { ContentStore } from "../storage/content-store.ts";
import { BatchWatcher } from "./batch-watcher.ts";
import { creditOf } from "./credits.ts";
import { createManifestLookup } from "./manifest-lookup.ts";
import { SettlementScheduler, loadSettlementAbis } from "./settlement-scheduler.ts";

export interface SettlementExtensionOptions {
  store: ContentStore;
  /** How often a settlement round runs (default 10 minutes). */
  intervalMs?: number;
  /** Redeem once this many channels have newer vouchers (default 1). */
  minVouchers?: number;
  /** Also watch every node's credit roots and challenge bad ones. */
  watch?: boolean;
}

export function createSettlementExtension(options: SettlementExtensionOptions): NodeExtension {
  return {
    name: "settle",
    async setup(context) {
      const { chain, state, config, logger } = context;
      const abis = await loadSettlementAbis();
      const scheduler = new SettlementScheduler({
        database: state.database, store: options.store, client: chain.client, account: chain.account, chainId: config.chainId,
        settlement: chain.addresses.settlement, abis, minVouchers: options.minVouchers,
        manifests: createManifestLookup(chain.client, chain.addresses.datanets, options.store),
      });
      const viemChain = defineChain({ id: config.chainId, name: `tributary-${config.chainId}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [config.rpcUrl] } } });
      const watcher = options.watch
        ? new BatchWatcher({
          database: state.database, client: chain.client, store: options.store, logger,
          settlement: { address: chain.addresses.settlement, abi: abis.settlement }, pools: { abi: abis.pools },
          token: { address: chain.addresses.token, abi: chain.abis.token as Abi },
          data: { models: { address: chain.addresses.models, abi: chain.abis.models }, datanets: chain.addresses.datanets },
          wallet: createWalletClient({ account: chain.account, chain: viemChain, transport: http(config.rpcUrl) }),
        })
        : undefined;

      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      let inFlight: Promise<void> = Promise.resolve();
      const round = async (): Promise<void> => {
        try {
          const result = await scheduler.runOnce();
          if (result.redeemed || result.credited || result.resumed) logger.info({ ...result, redeemed: result.redeemed && { ...result.redeemed, batchId: result.redeemed.batchId.toString() }, credited: result.credited && { ...result.credited, batchId: result.credited.batchId.toString() } }, "settlement round");
        } catch (error) {
          // The RPC down, a revert: the batch stays journaled and the next round finishes it.
          logger.warn({ err: (error as Error).message.split("\n")[0] }, "settlement round failed; retrying next round");
        }
        if (watcher) {
          try {
            await watcher.scan();
          } catch (error) {
            logger.warn({ err: (error as Error).message.split("\n")[0] }, "watcher scan failed; retrying next round");
          }
        }
        if (!stopped) timer = setTimeout(() => { inFlight = round(); }, options.intervalMs ?? 600_000);
      };
      timer = setTimeout(() => { inFlight = round(); }, 0);
      context.onShutdown(async () => {
        // A round in flight finishes (its batch is journaled either way); no new one starts.
        stopped = true;
        clearTimeout(timer);
        await inFlight;
      });

      context.addRoutes("settle", async (app) => {
        app.get<{ Params: { account: string } }>("/v1/credits/:account", async (request, reply) => {
          const { account } = request.params;
          if (!isAddress(account, { strict: false })) {
            return reply.code(400).send({ error: { code: "invalid_account", field: "account", message: `"${account}" is not an address` } });
          }
          const entry = await creditOf(scheduler, getAddress(account));
          if (entry === undefined) {
            return reply.code(404).send({ error: { code: "no_credit", field: "account", message: `node ${scheduler.node}'s final credit root does not credit ${account}` } });
          }
          return entry;
        });
      });
    },
  };
}
