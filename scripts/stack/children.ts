/**
 * The stack's child processes: each started in its own process group (detached) with its output in a log file, so
 * stopping one signals the whole group (Vite's and the node's workers included) and nothing is left behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly logFile: string;
  /** Whether the process (the group's leader) is still running. */
  running(): boolean;
  /** SIGTERM to the group, SIGKILL to it after `graceMs`; resolves once the leader has exited. */
  stop(graceMs?: number): Promise<void>;
}

export class ChildExitedError extends Error {
  constructor(name: string, code: number | null, signal: NodeJS.Signals | null, logFile: string) {
    super(`${name} exited unexpectedly (${signal ?? `code ${code}`}); see its log: ${logFile}`);
    this.name = "ChildExitedError";
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // The group is already gone.
  }
}

/** Starts `command args` in its own process group, stdout and stderr appended to `logFile`. */
export function startChild(name: string, command: string, args: string[], options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string }): Child {
  const log = createWriteStream(options.logFile, { flags: "a" });
  log.write(`\n--- ${new Date().toISOString()} ${command} ${args.join(" ")}\n`);
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  child.once("close", () => log.end());
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    name, process: child, logFile: options.logFile, running,
    async stop(graceMs = 10_000) {
      if (!running()) {
        // The leader is gone but a worker it started may not be.
        signalGroup(child, "SIGKILL");
        return;
      }
      const exited = once(child, "exit");
      signalGroup(child, "SIGTERM");
      const timer = setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      signalGroup(child, "SIGKILL");
    },
  };
}

/** Polls `check` every 250 ms until it returns a value, `child` exits (an error naming its log) or `timeoutMs` passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, options: { timeoutMs: number; child?: Child }): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (options.child && !options.child.running()) {
      const { exitCode, signalCode } = options.child.process;
      throw new ChildExitedError(options.child.name, exitCode, signalCode, options.child.logFile);
    }
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs / 1000} s waiting for ${what}${options.child ? `; see ${options.child.logFile}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
