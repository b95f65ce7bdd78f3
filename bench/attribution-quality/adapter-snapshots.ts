/**
 * Copies of an adapter's factors at TracIn checkpoints. TracIn-CP needs the training examples' and
 * the output's gradients at the same parameters, and the outputs only exist after training, so the
 * adapter is saved at each checkpoint and put back in place later to take the gradients there.
 */
import type { LoraAdapter } from "../../nodes/src/engine/lora/adapter.ts";
import type { LoraFactors } from "../../nodes/src/engine/ops/lora-linear.ts";
import { BenchmarkInputError } from "./errors.ts";

export interface AdapterSnapshot {
  /** Optimizer steps taken when the snapshot was made. */
  step: number;
  /** The learning rate TracIn weights this checkpoint by: the one of the step that led to it. */
  learningRate: number;
  factors: Map<string, LoraFactors>;
}

export function snapshotAdapter(adapter: LoraAdapter, step: number, learningRate: number): AdapterSnapshot {
  const factors = new Map<string, LoraFactors>();
  for (const [key, { A, B }] of adapter.weights) factors.set(key, { A: Float32Array.from(A), B: Float32Array.from(B) });
  return { step, learningRate, factors };
}

/** Writes the snapshot's factors into the adapter's own buffers (so a model or decoder holding the adapter sees them). */
export function restoreSnapshot(adapter: LoraAdapter, snapshot: AdapterSnapshot): void {
  for (const [key, { A, B }] of adapter.weights) {
    const saved = snapshot.factors.get(key);
    if (!saved || saved.A.length !== A.length || saved.B.length !== B.length) {
      throw new BenchmarkInputError(`The snapshot of step ${snapshot.step} does not fit the adapter at ${key}.`, { key, step: snapshot.step });
    }
    A.set(saved.A);
    B.set(saved.B);
  }
}

/** Runs `work` with the adapter at the snapshot's parameters, then puts the adapter's current parameters back. */
export function atSnapshot<T>(adapter: LoraAdapter, snapshot: AdapterSnapshot, work: () => T): T {
  const current = snapshotAdapter(adapter, -1, 1);
  restoreSnapshot(adapter, snapshot);
  try {
    return work();
  } finally {
    restoreSnapshot(adapter, current);
  }
}
