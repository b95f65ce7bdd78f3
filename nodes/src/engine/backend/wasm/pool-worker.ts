/**
 * A kernel worker thread: instantiates the matmul kernels on each of the backend's shared memories and
 * joins every job published on the control block (see pool-protocol.ts) until told to stop.
 *
 * The backend starts with one memory and adds more as weights outgrow it (wasm32 caps one at 4 GiB);
 * each new one arrives on `memoryPort`, posted before the first job that uses it, and is picked up
 * synchronously when a job names a memory this thread has not seen yet.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import { instantiateKernels } from "./kernel-module.ts";
import { FIELD, GENERATION, JOB_KIND, WORKER_SPIN_POLLS, runClaimedChunks, waitWhileEquals, type KernelSeat } from "./pool-protocol.ts";

/** One shared memory as a worker receives it, with this worker's scratch for packed panels (scratchBytes() bytes) in it. */
export interface WorkerMemory {
  memory: WebAssembly.Memory;
  scratch: number;
}

export interface PoolWorkerData {
  module: WebAssembly.Module;
  control: SharedArrayBuffer;
  /** The memories known at start (the backend's first). */
  memories: WorkerMemory[];
  /** Later memories, one WorkerMemory message each, in order. */
  memoryPort: MessagePort;
  errorPort: MessagePort;
}

const data = workerData as PoolWorkerData;
const seats: KernelSeat[] = data.memories.map(seatOn);
const control = new Int32Array(data.control);
const reportError = (error: unknown) => data.errorPort.postMessage(error instanceof Error ? error.message : String(error));

function seatOn({ memory, scratch }: WorkerMemory): KernelSeat {
  return { kernels: instantiateKernels(data.module, memory), scratch };
}

function seatFor(memory: number): KernelSeat {
  while (seats.length <= memory) {
    const message = receiveMessageOnPort(data.memoryPort);
    if (message === undefined) throw new Error(`The job names shared memory ${memory}, which this kernel worker was never sent.`);
    seats.push(seatOn(message.message as WorkerMemory));
  }
  return seats[memory];
}

// Read before saying ready: the pool publishes nothing until every worker is ready, so no job (or
// stop) can slip in between this load and the first wait.
let served = Atomics.load(control, GENERATION);
parentPort?.postMessage("ready");

for (;;) {
  served = waitWhileEquals(control, GENERATION, served, WORKER_SPIN_POLLS);
  if (control[FIELD.kind] === JOB_KIND.stop) break;
  runClaimedChunks(control, served, seatFor, reportError);
}
data.errorPort.close();
data.memoryPort.close();
