import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { KernelWorkerError } from "../errors.ts";
import type { MatmulKernels } from "./kernel-module.ts";
import type { PoolWorkerData } from "./pool-worker.ts";
import {
  CALLER_SPIN_POLLS, CLAIM, CONTROL_INTS, DONE, FAILED, FIELD, GENERATION, JOB_KIND,
  claimWord, runClaimedChunks, waitWhileEquals, writeJob, type GemmJob, type KernelSeat,
} from "./pool-protocol.ts";

export interface KernelThreadPoolOptions {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** The calling thread's kernel instance and scratch: it works on every job too. */
  callerKernels: MatmulKernels;
  callerScratch: number;
  /** One scratch address per worker (scratchBytes() each, in the shared memory). */
  workerScratch: number[];
}

/**
 * Worker threads running the matmul kernels on a shared memory, with the calling thread as one more
 * member (see pool-protocol.ts). `run` is synchronous: it returns when every chunk of the job is
 * done. Workers are unref'd, so a pool that is never disposed does not keep the process alive.
 * `addMemory` extends the pool to another shared memory (memory 1, 2, ...: the one it started on is
 * memory 0); a job names the memory its addresses point into.
 */
export class KernelThreadPool {
  /** Worker threads, the caller not counted. */
  readonly size: number;
  readonly #workers: Worker[];
  readonly #errorPorts: MessagePort[];
  readonly #memoryPorts: MessagePort[];
  readonly #control: Int32Array;
  /** The calling thread's kernels and scratch, one per memory. */
  readonly #callerSeats: KernelSeat[];
  #generation = 0;
  #disposed = false;

  private constructor(workers: Worker[], errorPorts: MessagePort[], memoryPorts: MessagePort[], control: Int32Array, options: KernelThreadPoolOptions) {
    this.size = workers.length;
    this.#workers = workers;
    this.#errorPorts = errorPorts;
    this.#memoryPorts = memoryPorts;
    this.#control = control;
    this.#callerSeats = [{ kernels: options.callerKernels, scratch: options.callerScratch }];
  }

  static async start(options: KernelThreadPoolOptions): Promise<KernelThreadPool> {
    const { module, memory, workerScratch } = options;
    const control = new Int32Array(new SharedArrayBuffer(CONTROL_INTS * Int32Array.BYTES_PER_ELEMENT));
    const workers: Worker[] = [];
    const errorPorts: MessagePort[] = [];
    const memoryPorts: MessagePort[] = [];
    const ready: Promise<void>[] = [];
    for (const scratch of workerScratch) {
      const { port1, port2 } = new MessageChannel();
      const memoryChannel = new MessageChannel();
      const data: PoolWorkerData = {
        module, control: control.buffer as SharedArrayBuffer, memories: [{ memory, scratch }], memoryPort: memoryChannel.port2, errorPort: port2,
      };
      const worker = new Worker(new URL("./pool-worker.ts", import.meta.url), { workerData: data, transferList: [port2, memoryChannel.port2] });
      memoryPorts.push(memoryChannel.port1);
      // The worker says "ready" once its kernels are instantiated, so one that fails to load
      // rejects here rather than silently never taking a chunk.
      ready.push(new Promise((resolve, reject) => {
        worker.once("message", () => resolve());
        worker.once("error", reject);
      }));
      workers.push(worker);
      errorPorts.push(port1);
    }
    try {
      await Promise.all(ready);
    } catch (cause) {
      await Promise.all(workers.map((worker) => worker.terminate()));
      throw new KernelWorkerError("A matmul worker thread failed to start.", { cause });
    }
    for (const worker of workers) worker.unref();
    for (const port of errorPorts) port.unref();
    for (const port of memoryPorts) port.unref();
    return new KernelThreadPool(workers, errorPorts, memoryPorts, control, options);
  }

  /**
   * Extends the pool to another shared memory and returns its index for GemmJob.memory. The workers
   * receive it (with their scratch in it, `workerScratch[i]` for worker i) before any job can name it.
   */
  addMemory(memory: WebAssembly.Memory, caller: KernelSeat, workerScratch: number[]): number {
    if (workerScratch.length !== this.size) {
      throw new KernelWorkerError(`addMemory needs one scratch address per worker (${this.size}), got ${workerScratch.length}.`, {});
    }
    this.#memoryPorts.forEach((port, i) => port.postMessage({ memory, scratch: workerScratch[i] }));
    this.#callerSeats.push(caller);
    return this.#callerSeats.length - 1;
  }

  /** Runs every chunk of `job` on the workers and the calling thread; throws KernelWorkerError if a chunk threw. */
  run(job: GemmJob): void {
    if ((job.memory ?? 0) >= this.#callerSeats.length) {
      throw new KernelWorkerError(`The job names shared memory ${job.memory}, which was never added to the pool.`, { memory: job.memory });
    }
    const control = this.#control;
    const count = job.plan.count;
    if (count === 0) return;
    const generation = ++this.#generation;
    writeJob(control, job);
    Atomics.store(control, DONE, 0);
    Atomics.store(control, FAILED, 0);
    Atomics.store(control, CLAIM, claimWord(generation, count));
    Atomics.store(control, GENERATION, generation);
    Atomics.notify(control, GENERATION);

    const errors: string[] = [];
    const seats = this.#callerSeats;
    runClaimedChunks(control, generation, (memory) => seats[memory], (error) => {
      errors.push(error instanceof Error ? error.message : String(error));
    });
    // Only chunks a worker has claimed are outstanding here, and their workers are running.
    let done = Atomics.load(control, DONE);
    while (done !== count) done = waitWhileEquals(control, DONE, done, CALLER_SPIN_POLLS);

    if (Atomics.load(control, FAILED) === 0) return;
    for (const port of this.#errorPorts) {
      for (let message = receiveMessageOnPort(port); message !== undefined; message = receiveMessageOnPort(port)) {
        errors.push(String(message.message));
      }
    }
    throw new KernelWorkerError(`A matmul kernel failed: ${errors.join("; ") || "no message"}.`, { causes: errors });
  }

  /** Stops the workers and waits for them to exit. Idempotent. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    // Ref'd again so the event loop stays up until the exits are seen (an awaited dispose() at the
    // end of a script would otherwise leave an unsettled promise).
    const exited = this.#workers.map((worker) => {
      worker.ref();
      return new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    });
    this.#control[FIELD.kind] = JOB_KIND.stop;
    Atomics.store(this.#control, GENERATION, ++this.#generation);
    Atomics.notify(this.#control, GENERATION);
    await Promise.all(exited);
    for (const port of this.#errorPorts) port.close();
    for (const port of this.#memoryPorts) port.close();
  }
}
