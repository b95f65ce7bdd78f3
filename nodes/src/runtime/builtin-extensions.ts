/**
 * The extensions `tributary-node start` always runs, around the ones its config loads:
 * - `storage` first (storage-extension.ts), so the others can use the store;
 * - the configured extensions;
 * - `datanet-phases` last: the `fetch`, `verify` and `upload` job phases over the store and the chain, and
 *   `train`, `sketch` and `evaluate` on the worker Engine (started on first use, closed at shutdown), for
 *   whichever of them no configured extension registered (a configured extension may replace a built-in phase);
 * - `serving` (serving-extension.ts) when `serve.models` names models: the OpenAI-compatible API on an Engine of
 *   its own, and the served models announced on gossip;
 * - `settlement` (settlement-extension.ts) while serving, unless `settle.enabled` is false: settlement rounds on a
 *   timer (and the batch watcher with `settle.watch`), sending through the node's one TxSender; each round first
 *   retries serving's held-out records (a failed gradient part), so a completed one settles in that round.
 */
import { Engine } from "../engine/worker/index.ts";
import { evaluatePhase, sketchPhase, trainPhase } from "../jobs/phases/engine-phases.ts";
import { fetchPhase, verifyPhase } from "../jobs/phases/fetch-verify.ts";
import { uploadPhase } from "../jobs/phases/upload.ts";
import type { PhaseHandler, RegistrablePhase } from "../jobs/pipeline.ts";
import type { NodeExtension } from "./extensions.ts";
import { servingExtension } from "./serving-extension.ts";
import { settlementExtension } from "./settlement-extension.ts";
import { StorageExtension } from "./storage-extension.ts";

/** Registers each data phase no loaded extension provides. */
export function datanetPhasesExtension(storage: StorageExtension): NodeExtension {
  return {
    name: "datanet-phases",
    setup(context) {
      const deps = { store: storage.storage.store, chain: context.chain, fromBlock: context.config.startBlock };
      let started: Promise<Engine> | undefined;
      const engine = { engine: () => (started ??= Engine.start()) };
      context.onShutdown(async () => {
        if (started) await (await started).close();
      });
      const builtIn: Array<[RegistrablePhase, PhaseHandler]> = [
        ["fetch", fetchPhase(deps)], ["verify", verifyPhase(deps)], ["train", trainPhase(engine)],
        ["sketch", sketchPhase(engine)], ["evaluate", evaluatePhase(engine)], ["upload", uploadPhase(deps)],
      ];
      for (const [phase, handler] of builtIn) {
        if (context.phases.get(phase)) context.logger.info({ phase }, "a loaded extension provides this phase; the built-in one is not used");
        else context.phases.register(phase, handler);
      }
    },
  };
}

/** The extensions `tributary-node start` runs: storage first, then the configured ones, the built-in phases, serving, settlement. */
export function withBuiltinExtensions(loaded: readonly NodeExtension[]): NodeExtension[] {
  const storage = new StorageExtension();
  const serving = servingExtension(storage);
  return [storage, ...loaded, datanetPhasesExtension(storage), serving, settlementExtension(storage, serving)];
}
