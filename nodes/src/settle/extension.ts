/**
 * Settlement in a running node, as a NodeExtension: the scheduler runs every `intervalMs` (and at start, which
 * finishes a batch a killed process left signed), `GET /v1/credits/:account` answers a contributor's cumulative
 * credit and Merkle proof against the node's final root, and, with `watch`, the batch watcher checks every
 * node's roots on the same schedule and challenges bad ones. Every transaction (batches, the watcher's bond
 * approval and challenge) goes through the node's one TxSender, which owns the operator account's nonce: the job
 * runner and on-chain inference send through it too, so they never collide.
 */
import { getAddress, isAddress, isAddressEqual, type Abi } from "viem";
import type { ContractKey } from "../chain/contracts.ts";
import type { ProtocolChain } from "../chain/protocol.ts";
import type { NodeExtension } from "../runtime/extensions.ts";
import type { ContentStore } from "../storage/content-store.ts";
import { BatchWatcher, type ContractCallSender } from "./batch-watcher.ts";
import { creditOf } from "./credits.ts";
import { createManifestLookup } from "./manifest-lookup.ts";
import { SettlementScheduler, loadSettlementAbis, type SettlementSchedulerOptions } from "./settlement-scheduler.ts";

/** Contract calls through the node's sender, by the protocol contract the address belongs to. */
function senderCalls(chain: ProtocolChain): ContractCallSender {
  return async ({ address, functionName, args }) => {
    const key = (Object.keys(chain.addresses) as ContractKey[]).find((k) => isAddressEqual(chain.addresses[k], address));
    if (key === undefined) throw new Error(`${address} is not a protocol contract this node knows`);
    const { hash } = await chain.sender.write({ contract: key, functionName: functionName as never, args: args as never });
    return hash;
  };
}

export interface SettlementExtensionOptions {
  store: ContentStore;
  /** How often a settlement round runs (default 10 minutes). */
  intervalMs?: number;
  /** Redeem once this many channels have newer vouchers (default 1). */
  minVouchers?: number;
  /** Test hook: the scheduler's step hook (after a batch is journaled, after it is broadcast). */
  onStep?: SettlementSchedulerOptions["onStep"];
  /** Also watch every node's credit roots and challenge bad ones. */
  watch?: boolean;
  /** Completes held-out records before each round gathers records (serving's gradient retry; the scheduler's option). */
  completeHeldRecords?: SettlementSchedulerOptions["completeHeldRecords"];
}

export function createSettlementExtension(options: SettlementExtensionOptions): NodeExtension {
  return {
    name: "settle",
    async setup(context) {
      const { chain, state, config, logger } = context;
      const abis = await loadSettlementAbis();
      const scheduler = new SettlementScheduler({
        database: state.database, store: options.store, client: chain.client, sender: chain.sender, chainId: config.chainId,
        settlement: chain.addresses.settlement, abis, minVouchers: options.minVouchers, onStep: options.onStep, logger,
        completeHeldRecords: options.completeHeldRecords,
        manifests: createManifestLookup(chain.client, chain.addresses.datanets, options.store),
      });
      const watcher = options.watch
        ? new BatchWatcher({
          database: state.database, client: chain.client, store: options.store, logger,
          settlement: { address: chain.addresses.settlement, abi: abis.settlement }, pools: { abi: abis.pools },
          token: { address: chain.addresses.token, abi: chain.abis.token as Abi },
          data: { models: { address: chain.addresses.models, abi: chain.abis.models }, datanets: chain.addresses.datanets },
          send: senderCalls(chain), fromBlock: config.startBlock, baseModelDirs: [...config.jobs.baseModels.values()],
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
