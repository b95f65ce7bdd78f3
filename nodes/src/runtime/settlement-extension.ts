/**
 * Settlement in `tributary-node start`: when the node serves (`serve.models` set) and `settle.enabled` is not
 * false, the settle extension (nodes/src/settle/) runs its rounds every `settle.intervalSeconds` over the storage
 * extension's store: the vouchers the node took are redeemed and the records they paid for credited on-chain,
 * and with `settle.watch` every node's credit roots are checked too. Its transactions go through the node's one
 * TxSender (the job runner's and on-chain inference's do too), so the operator account's nonce has one owner.
 */
import { createSettlementExtension } from "../settle/extension.ts";
import type { NodeExtension } from "./extensions.ts";
import type { StorageExtension } from "./storage-extension.ts";

export function settlementExtension(storage: StorageExtension): NodeExtension {
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
      }).setup(context);
      context.logger.info({ intervalSeconds: settle?.intervalSeconds ?? 600, watch: settle?.watch ?? false }, "settlement rounds scheduled");
    },
  };
}
