/**
 * The node CLI run the way an operator runs it, as its own process, for the tests that check cross-process behaviour:
 * a one-shot command (`tributary-node status`, `operator register` ...) run to its end, and a node started with
 * `tributary-node start ...`, which is waited for until it says where it serves; both keep everything the process
 * prints so a failing assertion can show it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { waitUntil } from "./local-chain.ts";

export const NODE_CLI = fileURLToPath(new URL("../../../../nodes/src/cli/main.ts", import.meta.url));

export interface NodeCliResult {
  /** The exit code (null when a signal ended it). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI with `args` to its end. A command still running after `timeoutMs` (longer than any test that runs one
 * waits) is killed, so a hung one cannot outlive its test; its result then has a null code.
 */
export function runNodeCli(args: readonly string[], timeoutMs = 900_000): Promise<NodeCliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [NODE_CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface NodeCliProcess {
  child: ChildProcess;
  /** The HTTP address the node printed (`serving http://...,`). */
  url: string;
  /** Everything the node printed so far, stdout and stderr together. */
  output(): string;
  /** Resolves with the exit code once the process has exited (null when a signal ended it). */
  exited: Promise<number | null>;
}

/**
 * Runs `start` with `args` (and `env`, the test's own environment by default) and resolves once the node serves;
 * rejects with the node's output if it exits first (killing it if it does not serve in `timeoutMs`).
 */
export async function startNodeCli(args: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<NodeCliProcess> {
  const child = spawn(process.execPath, [NODE_CLI, "start", ...args], { stdio: ["ignore", "pipe", "pipe"], env });
  // Listened for from the start, so an exit before the caller looks is not missed.
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  try {
    const url = await waitUntil("the node to listen", () => {
      if (child.exitCode !== null) throw new Error(`node exited early:\n${output}`);
      return /serving (http:\/\/\S+),/.exec(output)?.[1];
    }, timeoutMs);
    return { child, url, output: () => output, exited };
  } catch (error) {
    // The caller never gets the child: a node that hangs before serving must not outlive the test.
    child.kill("SIGKILL");
    throw error;
  }
}
