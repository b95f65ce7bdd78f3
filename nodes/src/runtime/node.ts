/**
 * Assembles a running node: config → state → chain (clients, sender, follower) → API → job runner →
 * extensions, then starts the API, the follower and the runner. `stop()` shuts down in the reverse order:
 * stop following, let the runner finish its step (a running phase is aborted and resumes on restart), run the
 * extensions' shutdown hooks, close the server, close the database.
 */
import type { Logger } from "pino";
import { HealthChecks } from "../api/health.ts";
import { createMetrics, type NodeMetrics } from "../api/metrics.ts";
import { ApiServer } from "../api/server.ts";
import { createChainClients } from "../chain/clients.ts";
import { loadProtocolAbis, resolveProtocolAddresses } from "../chain/contracts.ts";
import { ChainError } from "../chain/errors.ts";
import { EventFollower } from "../chain/follower.ts";
import { ProtocolChain } from "../chain/protocol.ts";
import { TxSender } from "../chain/tx-sender.ts";
import type { NodeConfig } from "../config/load.ts";
import { PhaseRegistry } from "../jobs/pipeline.ts";
import { jobRoutes } from "../jobs/routes.ts";
import { JobRunner } from "../jobs/runner.ts";
import { JOB_STATUSES, openState, type NodeState } from "../state/index.ts";
import type { NodeContext, NodeExtension } from "./extensions.ts";
import { createLogger } from "./logger.ts";

export interface RunningNode {
  /** Base URL of the HTTP API. */
  url: string;
  context: NodeContext;
  follower: EventFollower;
  stop(): Promise<void>;
}

export interface StartNodeOptions {
  extensions?: readonly NodeExtension[];
  logger?: Logger;
  /** Head lag (blocks beyond the confirmations) above which /health reports the chain as behind. */
  maxLagBlocks?: number;
}

/** Updates the jobs gauge from the database. */
function refreshJobMetrics(state: NodeState, metrics: NodeMetrics): void {
  metrics.jobs.reset();
  for (const status of JOB_STATUSES) metrics.jobs.set({ status, phase: "" }, 0);
  for (const { status, phase, count } of state.jobs.counts()) metrics.jobs.inc({ status, phase: phase ?? "" }, count);
}

export async function startNode(config: NodeConfig, options: StartNodeOptions = {}): Promise<RunningNode> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const abis = await loadProtocolAbis();
  const state = openState(config.dataDir);
  const shutdownHooks: Array<() => void | Promise<void>> = [];
  let api: ApiServer | undefined;
  try {
    const { publicClient, account } = createChainClients(config);
    try {
      const reported = await publicClient.getChainId();
      if (reported !== config.chainId) {
        throw new ChainError(`the RPC at ${config.rpcUrl} serves chain ${reported}, but the node is configured for chain ${config.chainId}: fix rpcUrl or chainId`, { reported });
      }
    } catch (error) {
      if (error instanceof ChainError) throw error;
      logger.warn({ rpcUrl: config.rpcUrl, err: (error as Error).message.split("\n")[0] }, "chain RPC unreachable at start; the follower keeps retrying");
    }

    // The derived contracts (ContributorPools) the config left out, read from the contracts that created them.
    const addresses = await resolveProtocolAddresses(publicClient, abis, config.contracts);
    const metrics = createMetrics();
    const sender = new TxSender({
      client: publicClient, account, chainId: config.chainId, abis, addresses,
      logger: logger.child({ module: "tx" }), metrics: metrics.tx,
    });
    const chain = new ProtocolChain({ abis, addresses, client: publicClient, account, sender });
    const follower = new EventFollower({
      client: publicClient, abis, addresses, store: state.chain, confirmations: config.confirmations,
      pollIntervalMs: config.pollIntervalMs, maxBlockRange: config.maxBlockRange, startBlock: config.startBlock,
      logger: logger.child({ module: "follower" }),
    });
    follower.on("progress", ({ head, followed }: { head: bigint; followed: bigint | undefined }) => {
      metrics.headBlock.set(Number(head));
      if (followed !== undefined) metrics.followedBlock.set(Number(followed));
    });

    const health = new HealthChecks();
    const maxLag = BigInt(config.confirmations + (options.maxLagBlocks ?? 10));
    health.add("chain", () => {
      const head = follower.head;
      const followed = follower.followed;
      const lag = head === undefined ? undefined : head - (followed ?? config.startBlock - 1n);
      return {
        ok: follower.lastError === undefined && head !== undefined && lag !== undefined && lag <= maxLag,
        head: head?.toString() ?? null,
        followed: followed?.toString() ?? null,
        lag: lag?.toString() ?? null,
        ...(follower.lastError === undefined ? {} : { error: follower.lastError }),
      };
    });

    api = new ApiServer({ host: config.http.host, port: config.http.port, corsOrigins: config.http.corsOrigins, logger, metrics, health });
    const phases = new PhaseRegistry();
    const jobs = new JobRunner({
      state, chain, phases, dataDir: config.dataDir, logger: logger.child({ module: "jobs" }), pollIntervalMs: config.pollIntervalMs,
      leaseCheckIntervalMs: Math.min(60_000, config.pollIntervalMs * 10),
      policy: { capabilities: config.jobs.capabilities, baseModels: config.jobs.baseModels, minFee: config.jobs.minFee, minSecondsBeforeDeadline: 60n },
    });
    follower.subscribe(jobs.subscription);
    api.addRoutes("jobs", jobRoutes(state, jobs));
    jobs.on("update", () => refreshJobMetrics(state, metrics));
    refreshJobMetrics(state, metrics);

    const server = api;
    const context: NodeContext = {
      config, logger, state, chain, metrics, health, phases, jobs,
      addRoutes: (name, plugin) => server.addRoutes(name, plugin),
      subscribe: (subscription) => follower.subscribe(subscription),
      onShutdown: (hook) => shutdownHooks.push(hook),
    };
    for (const extension of options.extensions ?? []) {
      await extension.setup(context);
      logger.info({ extension: extension.name }, "extension loaded");
    }

    const url = await api.listen();
    follower.start();
    jobs.start();
    logger.info({ url, operator: account.address, chainId: config.chainId, rpcUrl: config.rpcUrl, followed: follower.followed?.toString() ?? null }, "node started");

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        logger.info({}, "node stopping");
        await follower.stop();
        await jobs.stop();
        for (const hook of shutdownHooks.reverse()) {
          try {
            await hook();
          } catch (error) {
            logger.error({ err: (error as Error).message }, "shutdown hook failed");
          }
        }
        await server.close();
        state.close();
        logger.info({}, "node stopped");
      })();
      return stopping;
    };
    return { url, context, follower, stop };
  } catch (error) {
    // What the extensions set up before the failure (a started IPFS node) must not keep the process alive.
    for (const hook of shutdownHooks.reverse()) await Promise.resolve().then(hook).catch(() => undefined);
    await api?.close().catch(() => undefined);
    state.close();
    throw error;
  }
}
