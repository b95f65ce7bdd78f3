/** The node's Prometheus metrics, in a registry of its own (several nodes can share a process in tests). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { TxMetrics } from "../chain/tx-sender.ts";

export interface NodeMetrics {
  registry: Registry;
  followedBlock: Gauge;
  headBlock: Gauge;
  jobs: Gauge<"status" | "phase">;
  txSent: Counter<"call">;
  txFailed: Counter<"call">;
  httpDuration: Histogram<"method" | "route" | "status">;
  tx: TxMetrics;
}

export function createMetrics(): NodeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const txSent = new Counter({ name: "tributary_tx_sent_total", help: "Transactions broadcast (fee bumps included), by contract call", labelNames: ["call"], registers: [registry] });
  const txFailed = new Counter({ name: "tributary_tx_failed_total", help: "Transactions that reverted or could not be sent, by contract call", labelNames: ["call"], registers: [registry] });
  return {
    registry,
    followedBlock: new Gauge({ name: "tributary_followed_block", help: "Last block whose events the node processed", registers: [registry] }),
    headBlock: new Gauge({ name: "tributary_chain_head_block", help: "Latest block the chain reported", registers: [registry] }),
    jobs: new Gauge({ name: "tributary_jobs", help: "Training jobs known to this node, by status and last completed phase", labelNames: ["status", "phase"], registers: [registry] }),
    txSent,
    txFailed,
    httpDuration: new Histogram({
      name: "tributary_http_request_duration_seconds", help: "HTTP request latency", labelNames: ["method", "route", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
    }),
    tx: { sent: (call) => txSent.inc({ call }), failed: (call) => txFailed.inc({ call }) },
  };
}
