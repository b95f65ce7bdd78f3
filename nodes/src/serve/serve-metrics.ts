/** Serving's Prometheus metrics, in the node's registry: requests, queue, adapter cache, payments, attribution, held-out records. */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Engine } from "../engine/worker/index.ts";
import type { AdapterTiers } from "./adapter-tiers.ts";

export interface ServeMetrics {
  requests: Counter<"endpoint" | "status">;
  queue: Gauge;
  vouchersAccepted: Counter<"model">;
  paymentsRefused: Counter<"code">;
  attributionSeconds: Histogram<"model">;
  attributionGradientSeconds: Histogram<"model">;
  /** Records whose held-out gradient part a retry completed (they settle from then on). */
  gradientCompleted: Counter;
  /** Records given up after the last gradient attempt the policy allows (held out of settlement until an operator acts). */
  gradientGivenUp: Counter;
}

export function createServeMetrics(
  registry: Registry, engine: Engine, tiers: AdapterTiers, queued: () => number, pendingGradients: () => { retrying: number; givenUp: number },
): ServeMetrics {
  const registers = [registry];
  // Adapter-cache figures come from the engine's worker when Prometheus scrapes.
  const cacheStat = (name: string, help: string, pick: (s: { hits: number; misses: number; usedBytes: number; adapters: number; evictions: number }) => number) =>
    new Gauge({
      name, help, labelNames: ["base_model"], registers,
      async collect() {
        this.reset();
        const stats = await engine.stats().catch(() => undefined);
        for (const [model, { adapters }] of Object.entries(stats?.models ?? {})) this.set({ base_model: model }, pick(adapters));
      },
    });
  cacheStat("tributary_adapter_cache_bytes", "Bytes of adapter weights held in the engine's memory (hot tier)", (s) => s.usedBytes);
  cacheStat("tributary_adapter_cache_adapters", "Adapters held in the engine's memory", (s) => s.adapters);
  cacheStat("tributary_adapter_cache_hits", "Adapter cache hits since the model was loaded", (s) => s.hits);
  cacheStat("tributary_adapter_cache_misses", "Adapter cache misses (loads from disk) since the model was loaded", (s) => s.misses);
  cacheStat("tributary_adapter_cache_evictions", "Adapters evicted from memory since the model was loaded", (s) => s.evictions);
  cacheStat("tributary_adapter_cache_hit_ratio", "Adapter cache hits / (hits + misses)", (s) => (s.hits + s.misses === 0 ? 0 : s.hits / (s.hits + s.misses)));
  new Gauge({
    name: "tributary_adapter_loads", help: "Adapter requests by the tier that served them (memory: registered; disk; ipfs)", labelNames: ["tier"], registers,
    collect() {
      for (const [tier, count] of Object.entries(tiers.loads)) this.set({ tier }, count);
    },
  });
  new Gauge({
    name: "tributary_attribution_gradient_pending", labelNames: ["state"], registers,
    help: "Records held out of settlement because their gradient part failed, by state (retrying: another attempt is scheduled; given_up: none is)",
    collect() {
      const counts = pendingGradients();
      this.set({ state: "retrying" }, counts.retrying);
      this.set({ state: "given_up" }, counts.givenUp);
    },
  });
  return {
    gradientCompleted: new Counter({ name: "tributary_attribution_gradient_completed_total", help: "Held-out records whose gradient part a retry completed", registers }),
    gradientGivenUp: new Counter({ name: "tributary_attribution_gradient_given_up_total", help: "Held-out records given up after their last gradient attempt", registers }),
    requests: new Counter({ name: "tributary_serve_requests_total", help: "OpenAI API requests by endpoint and status", labelNames: ["endpoint", "status"], registers }),
    queue: new Gauge({ name: "tributary_serve_generations", help: "Generations admitted and not finished (waiting or running)", registers, collect() { this.set(queued()); } }),
    vouchersAccepted: new Counter({ name: "tributary_vouchers_accepted_total", help: "Vouchers accepted and stored, by model", labelNames: ["model"], registers }),
    paymentsRefused: new Counter({ name: "tributary_payments_refused_total", help: "Requests refused for payment, by error code", labelNames: ["code"], registers }),
    attributionSeconds: new Histogram({
      name: "tributary_attribution_seconds", help: "Attribution cost per response (span matching, output gradients when the model has a sketch, record storage on sqlite and IPFS)", labelNames: ["model"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30], registers,
    }),
    attributionGradientSeconds: new Histogram({
      name: "tributary_attribution_gradient_seconds", help: "Gradient half of attribution per response (output gradients at the sketch's TracIn checkpoints, on the engine worker)", labelNames: ["model"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers,
    }),
  };
}
