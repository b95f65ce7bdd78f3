/**
 * The built-in `storage` extension (set up before the configured ones, see builtin-extensions.ts): opens the content store the `storage` setting names (embedded Helia under
 *   `<dataDir>/ipfs`, listening on `p2p.listen`, or an external Kubo), serves the storage routes (contribution
 *   uploads, the `/ipfs` gateway) and the document routes (Datanet metadata, hyper-parameters, version
 *   manifests), adds a `storage` health entry, and with Helia starts the PeerNetwork: it dials `p2p.peers` and
 *   gossips the job runner's progress on TOPICS.jobs. Everything closes at shutdown.
 */
import type { HealthResult } from "../api/health.ts";
import { datanetRoutes } from "../api/datanet-routes.ts";
import { registerStorageRoutes } from "../api/storage-routes.ts";
import type { NodeConfig } from "../config/load.ts";
import { remainingPhases } from "../jobs/pipeline.ts";
import type { JobUpdate } from "../jobs/runner.ts";
import { JOB_STATUSES as GOSSIP_JOB_STATUSES, TOPICS, type JobProgress as GossipJobProgress } from "../p2p/messages.ts";
import { PeerNetwork } from "../p2p/peer-network.ts";
import type { ContentStore } from "../storage/content-store.ts";
import type { HeliaNode } from "../storage/helia-node.ts";
import { openContentStore } from "../storage/open-store.ts";
import type { NodeContext, NodeExtension } from "./extensions.ts";

export interface NodeStorage {
  store: ContentStore;
  /** The embedded libp2p node and its gossip (Helia only). */
  helia?: HeliaNode;
  peers?: PeerNetwork;
}

function storeUrl(config: NodeConfig): string {
  return config.storage.kind === "helia" ? "helia:" : `kubo+${config.storage.url}`;
}

const GOSSIP_STATUS_OF_PHASE: Record<string, (typeof GOSSIP_JOB_STATUSES)[number]> = {
  fetch: "claimed", verify: "claimed", train: "training", evaluate: "evaluating", sketch: "uploading", upload: "uploading", submit: "uploading",
};

/** A runner update as a gossip message (the topic's status names); undefined for updates not worth gossiping. */
export function progressMessage(config: NodeConfig, update: JobUpdate): GossipJobProgress | undefined {
  let status: (typeof GOSSIP_JOB_STATUSES)[number];
  if (update.status === "failed") status = "failed";
  else if (update.status === "completed") status = "submitted";
  else if (update.status === "running") status = GOSSIP_STATUS_OF_PHASE[remainingPhases(update.phase)[0] ?? "submit"];
  else return undefined;
  const p = update.progress ?? {};
  const totalSteps = Math.max(0, Math.floor(p.totalSteps ?? 0));
  const step = Math.max(0, Math.floor(Math.min(p.step ?? 0, totalSteps > 0 ? totalSteps : Number.MAX_SAFE_INTEGER)));
  const finite = (n: number | undefined) => n !== undefined && Number.isFinite(n) && n >= 0;
  const message = (p.message ?? update.reason ?? undefined)?.slice(0, 1000);
  return {
    kind: "job-progress", chainId: config.chainId, jobId: update.jobId.toString(), status, step, totalSteps,
    ...(finite(p.loss) ? { loss: p.loss } : {}),
    ...(finite(p.tokensPerSecond) ? { tokensPerSecond: p.tokensPerSecond } : {}),
    ...(finite(p.etaSeconds) ? { etaSeconds: p.etaSeconds } : {}),
    ...(message ? { message } : {}),
    sentAt: Date.now(),
  };
}

export class StorageExtension implements NodeExtension {
  readonly name = "storage";
  #storage: NodeStorage | undefined;

  /** The opened store (after setup). */
  get storage(): NodeStorage {
    if (!this.#storage) throw new Error("the storage extension has not been set up yet");
    return this.#storage;
  }

  async setup(context: NodeContext): Promise<void> {
    const { config, logger } = context;
    const log = logger.child({ module: "storage" });
    const opened = await openContentStore(storeUrl(config), {
      dataDir: config.dataDir, listen: [...config.p2p.listen],
      onCorruptBlock: (cid) => log.warn({ cid: cid.toString() }, "a stored block failed its CID check and was dropped"),
    });
    const storage: NodeStorage = { store: opened.store, helia: opened.node };
    this.#storage = storage;
    context.onShutdown(() => storage.store.close());

    context.addRoutes("storage", (app) => registerStorageRoutes(app, { store: storage.store }));
    context.addRoutes("datanets", datanetRoutes({ store: storage.store, chain: context.chain, fromBlock: config.startBlock }));

    if (opened.node) {
      const peers = new PeerNetwork(opened.node.libp2p, {
        onRejected: (topic, from, error) => log.debug({ topic, from, err: error.message }, "gossip message rejected"),
      });
      peers.start();
      storage.peers = peers;
      context.onShutdown(() => peers.stop());
      log.info({ peerId: peers.peerId, listen: peers.multiaddrs() }, "IPFS node started");
      if (config.p2p.peers.length > 0) {
        // Dialed in the background: a peer that is down must not hold up the node's start.
        peers.connectAll(config.p2p.peers).then(({ connected, failed }) => {
          log.info({ connected }, "connected to configured peers");
          for (const error of failed) log.warn({ peer: error.address, err: error.message }, "configured peer unreachable");
        }, () => undefined);
      }
      context.jobs.on("update", (update: JobUpdate) => {
        const message = progressMessage(config, update);
        if (!message) return;
        peers.announce(TOPICS.jobs, message).catch((error: unknown) => log.debug({ err: (error as Error).message }, "job progress not gossiped"));
      });
    }

    context.health.add("storage", async (): Promise<HealthResult> => {
      const result: HealthResult = { ok: true, kind: storage.store.kind };
      if (storage.helia) {
        result.ok = storage.helia.libp2p.status === "started";
        result.peerId = storage.helia.libp2p.peerId.toString();
        result.listen = storage.helia.libp2p.getMultiaddrs().map(String);
        result.peers = storage.helia.libp2p.getPeers().length;
      }
      return result;
    });
  }
}
