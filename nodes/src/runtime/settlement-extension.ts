/**
 * Settlement in `tributary-node start`: when the node serves (`serve.models` set) and `settle.enabled` is not
 * false, the settle extension (nodes/src/settle/) runs its rounds every `settle.intervalSeconds` over the storage
 * extension's store: the vouchers the node took are redeemed and the records they paid for credited on-chain,
 * and with `settle.watch` every node's credit roots are checked too. Its transactions go through the node's one
 * TxSender (the job runner's and on-chain inference's do too), so the operator account's nonce has one owner.
 *
 * Records serving held out of settlement (a failed gradient part) are completed here, by the serving extension's
 * retry run at the start of each round, before the round gathers records: a record completed then is credited by
 * that same round, and the retry's cadence is the settlement's (`settle.gradientMaxAttempts`,
 * `settle.gradientRetrySeconds` bound it). It is wired here, not in either module, so that settle/ never imports
 * serve/ and serve/ never schedules anything of settlement's: records still flow one way, serve → settle.
 */
import { createSettlementExtension } from "../settle/extension.ts";
import type { NodeExtension } from "./extensions.ts";
import type { ServingExtension } from "./serving-extension.ts";
import type { StorageExtension } from "./storage-extension.ts";

export function settlementExtension(storage: StorageExtension, serving?: Pick<ServingExtension, "retryPendingGradients">): NodeExtension {
  return {
    name: "settlement",
    async setup(context) {
      const { serve, settle } = context.config;
      if ((serve?.models ?? []).length === 0 || settle?.enabled === false) return;
      await createSettlementExtension({
        store: storage.storage.store,
        intervalMs: (settle?.intervalSeconds ?? 600) * 1000,
        minVouchers: settle?.minVouchers,
        watch: settle?.watch ?? false,
        // Read when a round runs: the serving extension is set up before this one.
        completeHeldRecords: serving === undefined ? undefined : async () => { await serving.retryPendingGradients?.(); },
      }).setup(context);
      context.logger.info({ intervalSeconds: settle?.intervalSeconds ?? 600, watch: settle?.watch ?? false }, "settlement rounds scheduled");
    },
  };
}
