/** The node's settings as commander options (generated from the config field table) and back to config sources. */
import type { Command } from "commander";
import { FIELDS } from "../config/fields.ts";
import type { ConfigSources } from "../config/load.ts";

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The settings a client command (datanet, job) needs: where the chain and the node are, and whose key signs. */
export const CLIENT_FIELDS: readonly string[] = [
  "rpcUrl", "chainId", "deployment", "contracts.token", "contracts.datanets", "contracts.nodes", "contracts.models", "contracts.settlement",
  "dataDir", "http.host", "http.port", "operatorKey", "startBlock", "logLevel",
];

/** Adds --config and one option per setting (or per setting in `only`) to `command`. */
export function addConfigOptions(command: Command, only?: readonly string[]): Command {
  command.option("--config <file>", "JSON config file (also TRIBUTARY_CONFIG)");
  for (const field of FIELDS) {
    if (only && !only.includes(field.path)) continue;
    const repeatable = field.kind === "list" || field.kind === "map";
    const description = `${field.description} [${field.env}]`;
    if (repeatable) command.option(`--${field.flag} <${field.arg}>`, description, (value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    else command.option(`--${field.flag} <${field.arg}>`, description);
  }
  return command;
}

/** The config sources for parsed options (of the settings in `only`, when the command has just those). */
export function configSources(options: Record<string, unknown>, only?: readonly string[]): ConfigSources {
  const flags: Record<string, string | string[]> = {};
  for (const field of FIELDS) {
    if (only && !only.includes(field.path)) continue;
    const value = options[camel(field.flag)];
    if (value !== undefined) flags[field.path] = value as string | string[];
  }
  return { flags, configFile: options.config as string | undefined };
}
