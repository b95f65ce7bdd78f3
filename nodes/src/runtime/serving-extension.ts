/**
 * Serving in `tributary-node start`: with `serve.models` set (model ids, or "all": every deployed model whose base
 * model the node holds), the node starts an Engine of its own for serving (a training step blocks its worker's
 * generation steps, so training keeps the job Engine), sets up the serve extension (nodes/src/serve/) over the
 * storage extension's store, and announces the served models (id, price, endpoint) on gossip `tributary/models/1`
 * at start and then every `announceEveryMs`. Listed ids are chosen at start; with "all", a model minted while the
 * node runs is served (and announced) from its ModelMinted event on, so a freshly trained model can be used at once.
 */
import type { Address } from "viem";
import { Engine } from "../engine/worker/index.ts";
import { TOPICS, type ModelAnnouncement } from "../p2p/index.ts";
import { createServeExtension, type ServeExtension } from "../serve/extension.ts";
import { DEFAULT_GRADIENT_RETRY } from "../serve/gradient-retry.ts";
import type { NodeContext, NodeExtension } from "./extensions.ts";
import type { StorageExtension } from "./storage-extension.ts";

/** How often served models are announced on gossip (peers drop announcements older than a few minutes). */
export const ANNOUNCE_EVERY_MS = 60_000;

/** The ids `serve.models` names: its ids, or for "all" each minted model whose base model the node holds. */
export async function servedModelIds(context: NodeContext, wanted: readonly string[]): Promise<bigint[]> {
  if (!wanted.includes("all")) return wanted.map(BigInt);
  const count = await context.chain.read("models", "modelCount", []);
  const ids: bigint[] = [];
  for (let modelId = 1n; modelId <= count; modelId++) {
    const provenance = await context.chain.read("models", "getProvenance", [modelId]);
    if (context.config.jobs.baseModels.has(provenance.baseModelId)) ids.push(modelId);
  }
  return ids;
}

/** The serving extension of `start`; once set up, `retryPendingGradients` is its serve extension's (undefined when not serving). */
export interface ServingExtension extends NodeExtension {
  readonly retryPendingGradients: ServeExtension["retryPendingGradients"];
}

export function servingExtension(storage: StorageExtension, options: { announceEveryMs?: number } = {}): ServingExtension {
  let serve: ServeExtension | undefined;
  return {
    name: "serving",
    get retryPendingGradients() {
      return serve?.retryPendingGradients;
    },
    async setup(context) {
      const wanted = context.config.serve?.models ?? [];
      if (wanted.length === 0) return;
      const log = context.logger.child({ module: "serving" });
      const modelIds = await servedModelIds(context, wanted);
      const serveNewModels = wanted.includes("all");
      if (modelIds.length === 0) {
        log.info({ baseModels: [...context.config.jobs.baseModels.keys()].map(String) }, "serve.models is \"all\" and no deployed model uses a base model this node holds yet: models minted from now on are served");
      }
      // Set once gossip is set up (a Kubo-stored node has none): a newly served model is announced at once.
      let announceNow = (): void => undefined;
      const engine = await Engine.start();
      // Hooks run last added first: the serve extension's own hooks, then this engine's close.
      context.onShutdown(() => engine.close());
      // The retry of held-out records is run by settlement's rounds, so its settings are `settle.*`.
      const settle = context.config.settle;
      const backoffMs = (settle?.gradientRetrySeconds ?? DEFAULT_GRADIENT_RETRY.backoffMs / 1000) * 1000;
      serve = createServeExtension({
        engine, store: storage.storage.store, models: modelIds.map((modelId) => ({ modelId })), serveNewModels,
        onModelServed: (modelId) => {
          modelIds.push(modelId);
          announceNow();
        },
        gradientRetry: {
          maxAttempts: settle?.gradientMaxAttempts ?? DEFAULT_GRADIENT_RETRY.maxAttempts,
          backoffMs,
          maxBackoffMs: Math.max(DEFAULT_GRADIENT_RETRY.maxBackoffMs, backoffMs),
        },
      });
      await serve.setup(context);

      const peers = storage.storage.peers;
      if (!peers) return; // Kubo storage: no gossip of this node's own
      const operator = context.chain.account.address;
      const announce = async (): Promise<void> => {
        if (modelIds.length === 0) return;
        const registered = await context.chain.read("nodes", "getNode", [operator]) as { endpoint: string };
        if (!registered.endpoint) {
          log.warn({ operator }, "not announcing served models: this operator has no endpoint in the NodeRegistry (run `tributary-node operator register`)");
          return;
        }
        const models = [];
        for (const modelId of modelIds) {
          const [, , pricePer1kTokens] = await context.chain.read("models", "modelTerms", [modelId]);
          models.push({ modelId: modelId.toString(), pricePer1kTokens: pricePer1kTokens.toString() });
        }
        const message: ModelAnnouncement = {
          kind: "models", endpoint: `${registered.endpoint.replace(/\/+$/, "")}/v1`, chainId: context.config.chainId, operator: operator as Address, models, sentAt: Date.now(),
        };
        await peers.announce(TOPICS.models, message);
      };
      const announceLogged = () => announce().catch((error: unknown) => log.debug({ err: (error as Error).message.split("\n")[0] }, "served models not announced"));
      announceNow = () => void announceLogged();
      void announceLogged();
      const timer = setInterval(announceLogged, options.announceEveryMs ?? ANNOUNCE_EVERY_MS);
      context.onShutdown(() => clearInterval(timer));
    },
  };
}
