/**
 * How other modules plug into a node. An extension is set up once the node's state, chain, API and job runner
 * exist and before anything starts; it adds routes, phases, health checks, event subscriptions and shutdown
 * hooks through the context. Storage, engine, serving and attribution each ship one.
 */
import { pathToFileURL } from "node:url";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { HealthChecks } from "../api/health.ts";
import type { NodeMetrics } from "../api/metrics.ts";
import type { RoutePlugin } from "../api/server.ts";
import type { ContractKey } from "../chain/contracts.ts";
import type { EventSubscription } from "../chain/follower.ts";
import type { ProtocolChain } from "../chain/protocol.ts";
import type { NodeConfig } from "../config/load.ts";
import type { PhaseRegistry } from "../jobs/pipeline.ts";
import type { JobRunner } from "../jobs/runner.ts";
import type { NodeState } from "../state/index.ts";

export interface NodeContext {
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly state: NodeState;
  readonly chain: ProtocolChain;
  readonly metrics: NodeMetrics;
  readonly health: HealthChecks;
  readonly phases: PhaseRegistry;
  readonly jobs: JobRunner;
  /** Adds HTTP routes (in their own Fastify plugin scope). */
  addRoutes(name: string, plugin: RoutePlugin): void;
  /** Delivers these contract events to `subscription` (confirmed, in order, idempotently keyed by event id). */
  subscribe<K extends ContractKey>(subscription: EventSubscription<K>): void;
  /** Runs at shutdown, after the follower and job runner stopped and before the database closes (last added first). */
  onShutdown(hook: () => void | Promise<void>): void;
}

export interface NodeExtension {
  readonly name: string;
  setup(context: NodeContext): void | Promise<void>;
}

export type { FastifyInstance, RoutePlugin };

export class ExtensionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExtensionError";
  }
}

/** Imports extension modules: each must default-export a NodeExtension. */
export async function loadExtensions(paths: readonly string[]): Promise<NodeExtension[]> {
  const extensions: NodeExtension[] = [];
  for (const path of paths) {
    let module: { default?: unknown };
    try {
      module = (await import(pathToFileURL(path).href)) as { default?: unknown };
    } catch (error) {
      throw new ExtensionError(`cannot load extension ${path}: ${(error as Error).message}`);
    }
    const extension = module.default as Partial<NodeExtension> | undefined;
    if (typeof extension?.setup !== "function" || typeof extension.name !== "string") {
      throw new ExtensionError(`extension ${path} must default-export { name: string, setup(context) }`);
    }
    extensions.push(extension as NodeExtension);
  }
  return extensions;
}
