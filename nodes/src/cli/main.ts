#!/usr/bin/env node
/**
 * tributary-node: the compute node's command line (commander). `generate` and `verify-batch` parse their own
 * arguments and are handed them untouched; the node and operator commands share the node's settings (flags,
 * TRIBUTARY_* environment, a JSON config file; see `tributary-node start --help`).
 * Exit codes: 0 done, 1 the command failed (chain, revert), 2 it could not run (bad arguments or settings).
 */
import { resolve } from "node:path";
import { Command, CommanderError } from "commander";
import { ChainError } from "../chain/errors.ts";
import { ConfigError } from "../config/errors.ts";
import { loadConfig } from "../config/load.ts";
import { StateError } from "../state/index.ts";
import { ExtensionError } from "../runtime/extensions.ts";
import { openChainSession } from "./chain-session.ts";
import { UsageError } from "./errors.ts";
import { exportGgufCommand } from "./export-gguf.ts";
import { generateCommand } from "./generate.ts";
import { addConfigOptions, configSources } from "./node-options.ts";
import { operatorFaucet, operatorRegister, operatorStake } from "./operator.ts";
import { startCommand } from "./start.ts";
import { jobsListCommand, statusCommand } from "./status.ts";
import { verifyBatchCommand } from "./verify-batch.ts";

/** Commands with their own argument parsing: passed through as they are. */
const PASSTHROUGH: Record<string, { run: (args: string[]) => Promise<number>; summary: string }> = {
  generate: { run: generateCommand, summary: "generate text with a local model folder and an optional LoRA adapter" },
  "export-gguf": { run: exportGgufCommand, summary: "write a model folder or a PEFT adapter as GGUF (llama.cpp, Ollama)" },
  "verify-batch": { run: verifyBatchCommand, summary: "recompute a settlement batch from public data and report discrepancies" },
};

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command("tributary-node")
    .description("Tributary compute node: trains, stores and serves attributable language models")
    .exitOverride()
    .showHelpAfterError();
  for (const [name, { summary }] of Object.entries(PASSTHROUGH)) {
    program.command(name).description(`${summary} (see ${name} --help)`).allowUnknownOption().helpOption(false).argument("[args...]");
  }

  addConfigOptions(program.command("start").description("run the node: follow the chain, take training jobs, serve the API"))
    .action(async (options: Record<string, unknown>) => setExit(await startCommand(configSources(options))));

  addConfigOptions(program.command("status").description("chain, operator stake, followed block and jobs"))
    .option("--json", "print JSON")
    .action(async (options: Record<string, unknown>) => {
      await statusCommand(await openChainSession({ ...configSources(options), createKeyFile: false }), options.json === true);
    });

  const jobs = program.command("jobs").description("training jobs this node knows");
  addConfigOptions(jobs.command("list").description("list jobs from the node's database"))
    .option("--json", "print JSON")
    .action(async (options: Record<string, unknown>) => {
      const sources = configSources(options);
      const config = await loadConfig({ ...sources, createKeyFile: false }).catch((error: unknown) => {
        // Listing needs only the data dir; the chain settings may legitimately be absent here.
        if (error instanceof ConfigError && error.issues.every((i) => i.field !== "dataDir")) return undefined;
        throw error;
      });
      const dataDir = config?.dataDir ?? resolve(String(sources.flags?.dataDir ?? process.env.TRIBUTARY_DATA_DIR ?? ".data/node"));
      jobsListCommand(dataDir, options.json === true);
    });

  const operator = program.command("operator").description("the operator's registration and stake in the NodeRegistry");
  addConfigOptions(operator.command("register").description("register this node (peer id, endpoint, capabilities) with a stake"))
    .option("--peer-id <id>", "the node's libp2p peer id")
    .option("--endpoint <url>", "public API endpoint (default: http://<host>:<port>)")
    .option("--stake <tokens>", "stake to deposit (default: the registry's minimum)")
    .action(async (options: Record<string, unknown>) => {
      // Registering is a natural first command: create the key file if needed (the balance check names the address to fund).
      await operatorRegister(await openChainSession(configSources(options)), {
        peerId: options.peerId as string | undefined, endpoint: options.endpoint as string | undefined,
        capability: options.capability as string[] | undefined, stake: options.stake as string | undefined,
      });
    });
  addConfigOptions(operator.command("faucet").description("take the test token's faucet amount (local and test networks)"))
    .action(async (options: Record<string, unknown>) => {
      await operatorFaucet(await openChainSession(configSources(options)));
    });
  addConfigOptions(operator.command("stake").description("approve and add <amount> tokens of stake").argument("<amount>", "tokens, e.g. 100 or 2.5"))
    .action(async (amount: string, options: Record<string, unknown>) => {
      await operatorStake(await openChainSession({ ...configSources(options), createKeyFile: false }), amount);
    });
  return program;
}

/** Turns a failure into a message a user can act on, and an exit code. */
function report(error: unknown): number {
  if (error instanceof ConfigError || error instanceof UsageError || error instanceof ExtensionError) {
    console.error(`tributary-node: ${error.message}`);
    return 2;
  }
  if (error instanceof ChainError || error instanceof StateError) {
    console.error(`tributary-node: ${error.message}`);
    return 1;
  }
  const message = (error as Error)?.message ?? String(error);
  if (/fetch failed|ECONNREFUSED|HTTP request failed|timed out/i.test(message)) {
    console.error(`tributary-node: the chain RPC is unreachable (${message.split("\n")[0]}); is the chain running (npm start) and rpcUrl right?`);
    return 1;
  }
  throw error;
}

export async function main(argv: string[]): Promise<number> {
  const passthrough = PASSTHROUGH[argv[0] ?? ""];
  if (passthrough) return passthrough.run(argv.slice(1));
  let exitCode = 0;
  const program = buildProgram((code) => { exitCode = code; });
  if (argv.length === 0) {
    program.outputHelp();
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    return report(error);
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  // Clients may hold sockets open (keep-alive); the command is over.
  process.exit(code);
}
