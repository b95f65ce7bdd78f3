/**
 * The loss curve on disk (loss-curve.jsonl in the checkpoint directory), one line per optimizer step.
 * A resumed run redoes the steps after its checkpoint, so opening the log for a resume drops those lines
 * first: the curve then reads exactly as an uninterrupted run's would, with wall time summed over runs.
 */
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

const LOG_FILE = "loss-curve.jsonl";

export interface LossLogEntry {
  step: number;
  /** Mean training loss of the step (nats/token); absent on the step-0 line, which only has evalLoss. */
  loss?: number;
  evalLoss?: number;
  lr?: number;
  gradNorm?: number;
  /** Training tokens seen so far. */
  tokens: number;
  /** Wall-clock seconds spent training so far, over every run that led here. */
  seconds: number;
}

export class LossLog {
  readonly path: string;
  private entries: LossLogEntry[];

  private constructor(path: string, entries: LossLogEntry[]) {
    this.path = path;
    this.entries = entries;
  }

  /** Opens the log of a run at `step`: lines for later steps (from a run that died after its checkpoint) are dropped. */
  static async open(dir: string, step: number): Promise<LossLog> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, LOG_FILE);
    let text = "";
    try {
      text = await readFile(path, "utf8");
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== "ENOENT") throw cause;
    }
    const entries = text.split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line) as LossLogEntry)
      .filter((entry) => entry.step <= step);
    await writeFile(path, entries.map((entry) => JSON.stringify(entry) + "\n").join(""));
    return new LossLog(path, entries);
  }

  get all(): readonly LossLogEntry[] {
    return this.entries;
  }

  /** Training seconds of the last entry: where this run's clock starts. */
  get secondsSoFar(): number {
    return this.entries.at(-1)?.seconds ?? 0;
  }

  async append(entry: LossLogEntry): Promise<void> {
    this.entries.push(entry);
    await appendFile(this.path, JSON.stringify(entry) + "\n");
  }
}
