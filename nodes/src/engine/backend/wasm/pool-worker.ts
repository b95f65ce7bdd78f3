/**
 * A kernel worker thread: instantiates the matmul kernels on the shared memory and joins every job
 * published on the control block (see pool-protocol.ts) until told to stop.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { instantiateKernels } from "./kernel-module.ts";
import { FIELD, GENERATION, JOB_KIND, WORKER_SPIN_POLLS, runClaimedChunks, waitWhileEquals } from "./pool-protocol.ts";

export interface PoolWorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  /** This thread's scratch for packed panels (scratchBytes() bytes in the shared memory). */
  scratch: number;
  errorPort: MessagePort;
}

const data = workerData as PoolWorkerData;
const kernels = instantiateKernels(data.module, data.memory);
const control = new Int32Array(data.control);
const reportError = (error: unknown) => data.errorPort.postMessage(error instanceof Error ? error.message : String(error));
// Read before saying ready: the pool publishes nothing until every worker is ready, so no job (or
// stop) can slip in between this load and the first wait.
let served = Atomics.load(control, GENERATION);
parentPort?.postMessage("ready");

for (;;) {
  served = waitWhileEquals(control, GENERATION, served, WORKER_SPIN_POLLS);
  if (control[FIELD.kind] === JOB_KIND.stop) break;
  runClaimedChunks(control, served, kernels, data.scratch, reportError);
}
data.errorPort.close();
