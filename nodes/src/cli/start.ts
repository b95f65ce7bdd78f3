/** `tributary-node start`: runs the node until SIGINT or SIGTERM, then shuts down cleanly with exit code 0. */
import { loadConfig, type ConfigSources } from "../config/load.ts";
import { loadExtensions } from "../runtime/extensions.ts";
import { startNode } from "../runtime/node.ts";
import { withBuiltinExtensions } from "../runtime/builtin-extensions.ts";

export async function startCommand(sources: ConfigSources): Promise<number> {
  const config = await loadConfig(sources);
  const extensions = withBuiltinExtensions(await loadExtensions(config.extensions));
  const node = await startNode(config, { extensions });
  console.error(`tributary-node ${node.context.chain.account.address} serving ${node.url}, following chain ${config.chainId} at ${config.rpcUrl}`);
  return new Promise((resolve) => {
    const shutdown = (signal: string): void => {
      node.context.logger.info({ signal }, "signal received");
      node.stop().then(() => resolve(0), (error: unknown) => {
        console.error(`tributary-node: shutdown failed: ${(error as Error).message}`);
        resolve(1);
      });
    };
    process.once("SIGINT", () => shutdown("SIGINT"));
    process.once("SIGTERM", () => shutdown("SIGTERM"));
  });
}
