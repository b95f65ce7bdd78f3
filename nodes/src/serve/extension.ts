/**
 * Serving as a NodeExtension: `createServeExtension(options)` plugs the OpenAI-compatible API, the payment
 * checks and attribution into a node. At setup it reads the served models' provenance from the chain and
 * loads their base models into the engine; adapters and span indexes load on first use.
 *
 *   const node = await startNode(config, { extensions: [createServeExtension({ engine, store, models: [{ modelId: 1n }] })] });
 *
 * Once set up, the extension's `retryPendingGradients` tries the gradient part of held-out records again (their next
 * attempt due), logs what it did and counts it in the metrics. Serving never calls it on its own: settlement calls it
 * before a round gathers records (nodes/src/runtime/settlement-extension.ts), so the retry runs exactly where a
 * completed record matters, one pass at a time.
 */
import { join } from "node:path";
import type { Engine } from "../engine/worker/index.ts";
import type { NodeContext, NodeExtension } from "../runtime/extensions.ts";
import type { ContentStore } from "../storage/content-store.ts";
import { AdapterTiers } from "./adapter-tiers.ts";
import { AttributionService, type GradientRetryReport } from "./attribution-service.ts";
import { DeployedModels, type ServedModelConfig } from "./deployed-models.ts";
import { gradientRetryPass, type GradientRetryPolicy } from "./gradient-retry.ts";
import { openAiRoutes } from "./openai-routes.ts";
import { localBackend, upstreamBackend, type UpstreamSettings } from "./upstream.ts";
import { OnchainInference } from "./onchain-inference.ts";
import { PaymentGate, protocolPaymentChain, type PaymentChain } from "./payment-gate.ts";
import { createServeMetrics } from "./serve-metrics.ts";
import { VoucherStore } from "./voucher-store.ts";

export interface ServeOptions {
  /** The engine (started by the caller, who closes it after the node stops). */
  engine: Engine;
  /** Where adapters, span indexes and records come from and go to (IPFS); optional with local files only. */
  store?: ContentStore;
  models: readonly ServedModelConfig[];
  /** Generations admitted at once (waiting or running); more get 429 (default 64). */
  maxQueued?: number;
  /** Positions per sequence (default: the base model's). */
  contextLength?: number;
  /** Replaces the chain reads of the payment checks (unit tests). */
  paymentChain?: PaymentChain;
  /**
   * Hands generation to another OpenAI-compatible server (vLLM, LoRAX) that has the adapters loaded; this node
   * keeps tokenization (prices), vouchers, attribution, records and settlement. The engine then needs only
   * the base model's tokenizer loaded, not the adapters.
   */
  upstream?: UpstreamSettings;
  /** Attribution of every paid response (default true); false only to measure its cost (no records, nothing credited). */
  attribution?: boolean;
  /** Serve `requestInference` requests naming this node (default: true when a content store is given). */
  onchainInference?: boolean;
  /**
   * Also serve every model minted while the node runs whose base model it holds (`serve.models` "all"), from its
   * ModelMinted event on, with no restart; `onModelServed` hears of each one added.
   */
  serveNewModels?: boolean;
  onModelServed?: (modelId: bigint) => void;
  /** When a record's failed gradient part is tried again (default DEFAULT_GRADIENT_RETRY, nodes/src/serve/gradient-retry.ts). */
  gradientRetry?: GradientRetryPolicy;
}

export interface ServeExtension extends NodeExtension {
  /**
   * After setup: one retry pass over the held-out records whose next attempt is due (AttributionService
   * `retryPendingGradients`), logged and counted; undefined before setup. Concurrent calls share the pass.
   */
  readonly retryPendingGradients: (() => Promise<GradientRetryReport>) | undefined;
}

export function createServeExtension(options: ServeOptions): ServeExtension {
  let retryPendingGradients: (() => Promise<GradientRetryReport>) | undefined;
  return {
    name: "serve",
    get retryPendingGradients() {
      return retryPendingGradients;
    },
    async setup(context: NodeContext) {
      const { config, chain, state, metrics, health } = context;
      const models = await DeployedModels.load({
        chain, engine: options.engine, models: options.models, baseModelDirs: config.jobs.baseModels, contextLength: options.contextLength,
      });
      const tiers = new AdapterTiers({ engine: options.engine, store: options.store, diskDir: join(config.dataDir, "adapters") });
      const paymentChain = options.paymentChain ?? protocolPaymentChain(chain);
      const domain = { chainId: config.chainId, settlement: chain.addresses.settlement };
      const node = chain.account.address;
      const payments = new PaymentGate({ chain: paymentChain, store: new VoucherStore(state.database), domain, node });
      const attribution = new AttributionService({ database: state.database, store: options.store, engine: options.engine, gradientRetry: options.gradientRetry });
      let queued = () => 0;
      const serveMetrics = createServeMetrics(metrics.registry, options.engine, tiers, () => queued(), () => attribution.pendingGradientCounts());
      retryPendingGradients = gradientRetryPass({ attribution, models, metrics: serveMetrics, logger: context.logger.child({ module: "serve" }) });
      const backend = options.upstream ? upstreamBackend(options.engine, options.upstream) : localBackend(options.engine);
      if (options.store !== undefined && options.onchainInference !== false) {
        const onchain = new OnchainInference({
          database: state.database, chain, engine: options.engine, backend, models, tiers, attribution, store: options.store, logger: context.logger,
        });
        context.subscribe({ contract: "settlement", events: ["InferenceRequested"], handle: (event) => onchain.handle(event) });
        context.onShutdown(() => onchain.stop());
        void onchain.kick(); // requests left open by an earlier run
      }
      const routes = openAiRoutes({
        engine: options.engine, backend, attributionEnabled: options.attribution !== false, models, tiers, payments, paymentChain, attribution, metrics: serveMetrics, node, domain,
        maxQueued: options.maxQueued ?? 64,
      });
      queued = routes.queued;
      context.addRoutes("openai", routes);
      if (options.serveNewModels) {
        const log = context.logger.child({ module: "serve" });
        context.subscribe({
          contract: "models", events: ["ModelMinted"],
          handle(event) {
            const { modelId, baseModelId } = event.args as { modelId: bigint; baseModelId: bigint };
            if (models.resolve(modelId.toString()) || !config.jobs.baseModels.has(baseModelId)) return;
            // Not awaited: loading a base model must not hold up the follower (and the job events behind it).
            models.add({ modelId }).then(
              () => {
                log.info({ modelId: modelId.toString() }, "serving a newly minted model");
                options.onModelServed?.(modelId);
              },
              (error: unknown) => log.error({ modelId: modelId.toString(), err: (error as Error).message }, "cannot serve the newly minted model"),
            );
          },
        });
      }
      health.add("serve", async () => {
        const loaded = new Set((await options.engine.models()).map((m) => m.modelId));
        const missing = models.list().filter((m) => !loaded.has(m.engineModel)).map((m) => m.name);
        return { ok: missing.length === 0, models: models.list().length, queued: routes.queued(), ...(missing.length === 0 ? {} : { missing }) };
      });
      context.logger.info({ models: models.list().map((m) => m.name) }, "serving models");
    },
  };
}
