#!/usr/bin/env node
/**
 * tributary-node: the compute node's command line. Each command lives in its own module and gets
 * its arguments (after the command name) and returns the process exit code.
 */
import { generateCommand } from "./generate.ts";
import { verifyBatchCommand } from "./verify-batch.ts";

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  generate: { run: generateCommand, summary: "generate text with a local model folder and an optional LoRA adapter" },
  "verify-batch": { run: verifyBatchCommand, summary: "recompute a settlement batch from public data and report discrepancies" },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(14)} ${c.summary}`);
  return ["Usage: tributary-node <command> [options]", "", "Commands:", ...lines, "", "Run tributary-node <command> --help for its options."].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`tributary-node: unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  return command.run(args);
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
