#!/usr/bin/env node
/**
 * tributary-node: the compute node's command line (commander). `generate`, `verify-batch` and `verify-sketch` parse their own
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
import { datanetContribute, datanetContributions, datanetCreate, datanetDecide, datanetPublish } from "./datanet.ts";
import { jobCreate, jobWatch } from "./job.ts";
import { NodeApiError, NodeClient } from "./node-client.ts";
import { addConfigOptions, CLIENT_FIELDS, configSources } from "./node-options.ts";
import { InvalidHyperparametersError } from "../jobs/hyperparameters.ts";
import type { NodeConfig } from "../config/load.ts";
import { operatorFaucet, operatorRegister, operatorStake } from "./operator.ts";
import { startCommand } from "./start.ts";
import { jobsListCommand, statusCommand } from "./status.ts";
import { verifyBatchCommand } from "./verify-batch.ts";
import { verifySketchCommand } from "./verify-sketch.ts";
import { claimCommand } from "./claim.ts";
import { CreditError } from "../settle/credits.ts";
import { watchCommand } from "./watch.ts";

/** Commands with their own argument parsing: passed through as they are. */
const PASSTHROUGH: Record<string, { run: (args: string[]) => Promise<number>; summary: string }> = {
  generate: { run: generateCommand, summary: "generate text with a local model folder and an optional LoRA adapter" },
  "export-gguf": { run: exportGgufCommand, summary: "write a model folder or a PEFT adapter as GGUF (llama.cpp, Ollama)" },
  "verify-batch": { run: verifyBatchCommand, summary: "recompute a settlement batch from public data and report discrepancies" },
  "verify-sketch": { run: verifySketchCommand, summary: "rebuild a model's gradient sketch from public data and report discrepancies" },
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

  addConfigOptions(program.command("claim").description("claim your credited tokens from a node's contributor pool"))
    .requiredOption("--node <address>", "the node's operator address")
    .option("--api <url>", "the node's API (default: its registered endpoint)")
    .option("--account <address>", "claim for this account (default: the configured key's)")
    .action(async (options: Record<string, unknown>) => {
      setExit(await claimCommand(await openChainSession({ ...configSources(options), createKeyFile: false }), {
        node: options.node as string, api: options.api as string | undefined, account: options.account as string | undefined,
      }));
    });
  addConfigOptions(program.command("watch").description("recompute every node's settlement batches and challenge bad credit roots"))
    .option("--once", "scan once and exit (1 if a bad batch was found)")
    .option("--dry-run", "report only; never challenge")
    .action(async (options: Record<string, unknown>) => {
      setExit(await watchCommand(await openChainSession({ ...configSources(options), createKeyFile: false }), { once: options.once === true, dryRun: options.dryRun === true }));
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
  addRoleCommands(program, setExit);
  return program;
}

/** The running node the CLI talks to: --node, TRIBUTARY_NODE_URL, or this config's own API address. */
function nodeClient(options: Record<string, unknown>, config: NodeConfig): NodeClient {
  const url = (options.node as string | undefined) ?? process.env.TRIBUTARY_NODE_URL ?? `http://${config.http.host.includes(":") ? `[${config.http.host}]` : config.http.host}:${config.http.port}`;
  return new NodeClient(url);
}

const NODE_OPTION = ["--node <url>", "a running node's API (default: TRIBUTARY_NODE_URL, else this config's host and port)"] as const;

/** Contributors', curators' and model builders' commands; they sign with the configured key (--operator-key). */
function addRoleCommands(program: Command, setExit: (code: number) => void): void {
  const session = (options: Record<string, unknown>) => openChainSession({ ...configSources(options, CLIENT_FIELDS), createKeyFile: false });

  const datanet = program.command("datanet").description("create Datanets, contribute, curate and publish versions");
  const withOptions = (command: Command) => addConfigOptions(command, CLIENT_FIELDS);
  withOptions(datanet.command("create").description("describe a Datanet on IPFS and create it on-chain"))
    .option(...NODE_OPTION)
    .option("--name <name>", "the Datanet's name")
    .option("--description <text>", "what the Datanet is for")
    .option("--licence <spdx>", "licence of its data, e.g. CC-BY-4.0")
    .option("--stake <tokens>", "stake asked with each contribution (default 0)")
    .option("--max-bytes <n>", "largest contribution in bytes (default 16 MiB)")
    .option("--forfeit-rejected", "a rejected contribution's stake goes to the owner (default: refunded)")
    .action(async (options: Record<string, unknown>) => {
      const s = await session(options);
      await datanetCreate(s, nodeClient(options, s.config), options as never);
    });
  withOptions(datanet.command("contribute").description("upload a file through a node and register it on-chain (shows the stake first)")
    .argument("<datanetId>").argument("<file>", ".txt, .md or .jsonl (UTF-8)"))
    .option(...NODE_OPTION)
    .option("--title <title>", "default: the file name")
    .option("--licence <spdx>", "default: the Datanet's licence")
    .option("--language <tag>", "BCP 47 language tag (default en)")
    .option("--description <text>", "a note about the contribution")
    .option("--type <media-type>", "text/plain, text/markdown or application/jsonl (default: from the extension)")
    .option("--yes", "send without asking (required when not on a terminal)")
    .action(async (datanetId: string, file: string, options: Record<string, unknown>) => {
      const s = await session(options);
      await datanetContribute(s, nodeClient(options, s.config), datanetId, file, options as never);
    });
  withOptions(datanet.command("contributions").description("list a Datanet's contributions and their status").argument("<datanetId>"))
    .option("--json", "print JSON")
    .action(async (datanetId: string, options: Record<string, unknown>) => {
      await datanetContributions(await session(options), datanetId, options.json === true);
    });
  for (const accept of [true, false]) {
    withOptions(datanet.command(accept ? "accept" : "reject").description(`${accept ? "accept" : "reject"} pending contributions (owner or curator)`)
      .argument("<datanetId>").argument("[ids...]", "contribution ids"))
      .option("--pending", "every pending contribution")
      .action(async (datanetId: string, ids: string[], options: Record<string, unknown>) => {
        await datanetDecide(await session(options), datanetId, ids, accept, options.pending === true);
      });
  }
  withOptions(datanet.command("publish").description("build the version manifest through a node, check it, publish its root on-chain").argument("<datanetId>"))
    .option(...NODE_OPTION)
    .action(async (datanetId: string, options: Record<string, unknown>) => {
      const s = await session(options);
      await datanetPublish(s, nodeClient(options, s.config), datanetId);
    });

  const job = program.command("job").description("create and watch training jobs (ModelFactory)");
  const withJobOptions = (command: Command) => addConfigOptions(command, CLIENT_FIELDS);
  withJobOptions(job.command("create").description("check hyper-parameters, store them, and create a paid training job"))
    .option(...NODE_OPTION)
    .option("--base-model <id>", "on-chain base model id")
    .option("--datanet <id>", "Datanet id")
    .option("--version <n>", "Datanet version (default: the latest)")
    .option("--hyperparameters <file>", "hyper-parameters JSON document")
    .option("--preset <name>", "tiny, standard or thorough (default standard)")
    .option("--fee <tokens>", "fee paid to the node that completes the job")
    .option("--deadline <when>", "2h, 3d, ... or a Unix time (default 1d)")
    .action(async (options: Record<string, unknown>) => {
      const s = await session(options);
      await jobCreate(s, nodeClient(options, s.config), options as never);
    });
  withJobOptions(job.command("watch").description("follow a job's progress on a node until it ends (exit 0 when completed)").argument("<jobId>"))
    .option(...NODE_OPTION)
    .option("--wait <seconds>", "how long to wait for the node (to see the job, or to come back) (default 120)")
    .action(async (jobId: string, options: Record<string, unknown>) => {
      // Watching needs only the node's URL: the chain settings may be absent.
      const config = await loadConfig({ ...configSources(options, CLIENT_FIELDS), createKeyFile: false }).catch(() => undefined);
      const client = options.node || process.env.TRIBUTARY_NODE_URL || !config ? new NodeClient((options.node as string | undefined) ?? process.env.TRIBUTARY_NODE_URL ?? "http://127.0.0.1:8700") : nodeClient(options, config);
      setExit(await jobWatch(client, jobId, { waitSeconds: options.wait === undefined ? undefined : Number(options.wait) }));
    });
}

/** Turns a failure into a message a user can act on, and an exit code. */
function report(error: unknown): number {
  if (error instanceof ConfigError || error instanceof UsageError || error instanceof ExtensionError || error instanceof InvalidHyperparametersError) {
    console.error(`tributary-node: ${error.message}`);
    return 2;
  }
  if (error instanceof ChainError || error instanceof StateError || error instanceof NodeApiError || error instanceof CreditError) {
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
