/**
 * The control block the calling thread and the kernel workers share (an Int32Array on its own
 * SharedArrayBuffer), and the chunk loop every thread runs on it.
 *
 * A job is one matmul cut into chunks (split-work.ts). The caller writes the job, sets CLAIM to
 * (generation, chunk count), bumps GENERATION and wakes the workers; then every thread, the caller
 * included, claims chunks one at a time until none are left, so a thread that wakes late or runs
 * on a busy core simply takes fewer. The caller returns once DONE counts every chunk: it never
 * waits for a worker that claimed nothing.
 *
 * CLAIM holds the generation next to the count of unclaimed chunks, and a claim is a compare-exchange that
 * checks it: a worker that read a job just as the caller replaced it fails the check instead of
 * running a chunk of the wrong job. Every sleep is `Atomics.wait(slot, valueJustLoaded)`, so a
 * wake-up between the load and the wait cannot be lost.
 */
import { chunkBlock, type ChunkPlan } from "./split-work.ts";
import type { MatmulKernels } from "./kernel-module.ts";

export const GENERATION = 0;
export const CLAIM = 1;
export const DONE = 2;
/** Set to 1 when a chunk threw; its message is posted on the thread's error port. */
export const FAILED = 3;

const JOB = 8;
/** Job field offsets in the control block. */
export const FIELD = {
  kind: JOB, out: JOB + 1, a: JOB + 2, b: JOB + 3, M: JOB + 4, K: JOB + 5, N: JOB + 6,
  flags: JOB + 7, byRows: JOB + 8, chunkSize: JOB + 9, count: JOB + 10, memory: JOB + 11,
} as const;
export const CONTROL_INTS = JOB + 16;

export const JOB_KIND = { gemm: 0, stop: 1 } as const;

/** Low bits of the claim word: chunks not yet claimed. The rest: the job's generation. */
const INDEX_BITS = 12;
const INDEX_MASK = (1 << INDEX_BITS) - 1;
const GENERATION_MASK = (1 << (32 - INDEX_BITS)) - 1;

/**
 * Polls before sleeping. A futex wake-up costs tens of microseconds; a worker that just finished
 * usually gets the next job within a short spin (the engine issues matmuls back to back), and the
 * caller's wait for the last chunk is usually shorter still. Short, so a busy machine loses little.
 */
export const WORKER_SPIN_POLLS = 4000;
export const CALLER_SPIN_POLLS = 20000;

/**
 * A matmul as the kernels see it: byte addresses in one of the backend's shared memories (`memory`,
 * an index in the order the pool learnt them; 0 when absent) plus the chunk plan.
 */
export interface GemmJob {
  out: number; a: number; b: number;
  M: number; K: number; N: number; flags: number;
  plan: ChunkPlan;
  memory?: number;
}

/** A thread's kernel instance and scratch on one shared memory. */
export interface KernelSeat {
  kernels: MatmulKernels;
  scratch: number;
}

/** The claim word of job `generation` with `unclaimed` chunks left. */
export function claimWord(generation: number, unclaimed: number): number {
  return ((generation & GENERATION_MASK) << INDEX_BITS) | unclaimed;
}

export function writeJob(control: Int32Array, job: GemmJob): void {
  control[FIELD.kind] = JOB_KIND.gemm;
  control[FIELD.out] = job.out;
  control[FIELD.a] = job.a;
  control[FIELD.b] = job.b;
  control[FIELD.M] = job.M;
  control[FIELD.K] = job.K;
  control[FIELD.N] = job.N;
  control[FIELD.flags] = job.flags;
  control[FIELD.byRows] = job.plan.byRows ? 1 : 0;
  control[FIELD.chunkSize] = job.plan.chunkSize;
  control[FIELD.count] = job.plan.count;
  control[FIELD.memory] = job.memory ?? 0;
}

/**
 * Claims and runs chunks of job `generation` until none are left (or the job was replaced). A chunk
 * that throws is still counted as done, after `onError` has reported it, so no thread waits forever.
 *
 * The claim word counts the chunks not yet claimed, so the check needs nothing but the word itself,
 * and the job's fields are read only after a successful claim: the caller rewrites them only once
 * every claimed chunk is done, so they cannot change under a thread that holds a claim.
 */
export function runClaimedChunks(control: Int32Array, generation: number, seatFor: (memory: number) => KernelSeat, onError: (error: unknown) => void): void {
  const expected = generation & GENERATION_MASK;
  for (;;) {
    const claim = Atomics.load(control, CLAIM);
    if (((claim >>> INDEX_BITS) & GENERATION_MASK) !== expected) return;
    const unclaimed = claim & INDEX_MASK;
    if (unclaimed === 0) return;
    if (Atomics.compareExchange(control, CLAIM, claim, claim - 1) !== claim) continue;
    const M = control[FIELD.M], N = control[FIELD.N];
    const plan: ChunkPlan = { byRows: control[FIELD.byRows] === 1, chunkSize: control[FIELD.chunkSize], count: control[FIELD.count] };
    const { r0, r1, c0, c1 } = chunkBlock(plan, unclaimed - 1, M, N);
    try {
      const { kernels, scratch } = seatFor(control[FIELD.memory]);
      kernels.gemm(control[FIELD.out], control[FIELD.a], control[FIELD.b], M, control[FIELD.K], N, control[FIELD.flags], r0, r1, c0, c1, scratch);
    } catch (error) {
      onError(error);
      Atomics.store(control, FAILED, 1);
    }
    if (Atomics.add(control, DONE, 1) + 1 === plan.count) Atomics.notify(control, DONE);
  }
}

/** Waits until `control[slot]` differs from `value`, polling `spins` times before sleeping. */
export function waitWhileEquals(control: Int32Array, slot: number, value: number, spins: number): number {
  let current = Atomics.load(control, slot);
  for (let polls = 0; current === value && polls < spins; polls++) current = Atomics.load(control, slot);
  while (current === value) {
    Atomics.wait(control, slot, value);
    current = Atomics.load(control, slot);
  }
  return current;
}
