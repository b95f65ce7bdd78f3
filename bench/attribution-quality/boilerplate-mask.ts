/**
 * An experiment on the gradient half: leave text that several accounts share (boilerplate, templates) out of the
 * loss whose gradient is taken, on both sides — every training example's row of the sketch and every output's
 * gradient. A shared header or footer otherwise adds the same large gradient direction to every contributor's rows
 * and to every output that carries it, and can swamp what is distinctive (the topical regime with its template, in
 * docs/benchmarks.md). Span attribution already splits shared text among its holders; this asks whether the
 * gradient, freed of it, finds the contributor whose own material the output continues.
 *
 * Shared text: every n-gram (n = 8, the span minimum) held by contributions of at least two accounts. A target
 * token inside such an n-gram is not scored. Not what the node does (its records score every output token): a
 * benchmark variant, measured against the node's scoring on the same outputs.
 */
import type { Address } from "viem";
import type { GradientSketch, OutputGradientCheckpoint } from "../../nodes/src/attribution/gradient-influence.ts";
import type { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import { IGNORE_INDEX } from "../../nodes/src/engine/ops/cross-entropy.ts";
import { makeBatch, windowSequences } from "../../nodes/src/engine/train/data.ts";
import { adapterGradientOf, projectAdapterGradient, type GradientProjection } from "../../nodes/src/engine/train/projected-gradients.ts";
import type { TracInCheckpoint } from "../../nodes/src/engine/train/tracin-checkpoint.ts";
import { concat } from "./templated-datanet.ts";

const key = (tokens: Int32Array, start: number, n: number): string => tokens.subarray(start, start + n).join(",");

/** The n-grams held by contributions of at least two accounts. */
export function sharedNgrams(contributions: readonly { account: Address; tokens: Int32Array }[], n: number): Set<string> {
  const holders = new Map<string, Set<Address>>();
  for (const { account, tokens } of contributions) {
    for (let i = 0; i + n <= tokens.length; i++) {
      const k = key(tokens, i, n);
      let set = holders.get(k);
      if (set === undefined) holders.set(k, (set = new Set()));
      set.add(account);
    }
  }
  return new Set([...holders].filter(([, accounts]) => accounts.size >= 2).map(([k]) => k));
}

/** 1 for each token inside a shared n-gram. */
export function boilerplateMask(tokens: Int32Array, shared: ReadonlySet<string>, n: number): Uint8Array {
  const mask = new Uint8Array(tokens.length);
  for (let i = 0; i + n <= tokens.length; i++) if (shared.has(key(tokens, i, n))) mask.fill(1, i, i + n);
  return mask;
}

/** A window's batch with the targets inside shared text (and, for an output, before `firstScored`) not scored. */
function maskedBatch(window: Int32Array, mask: Uint8Array, T: number, firstScored = 0): { tokens: Int32Array; targets: Int32Array; count: number } {
  const batch = makeBatch([window], 1, T);
  let count = 0;
  for (let t = 0; t < T; t++) {
    if (batch.targets[t] === IGNORE_INDEX) continue;
    if (t < firstScored || mask[t + 1] === 1) batch.targets[t] = IGNORE_INDEX;
    else count++;
  }
  return { ...batch, count };
}

/** The projected gradient of the loss over `batches`' scored targets; zero when nothing is left to score. */
function projected(model: LlamaModel, batches: { tokens: Int32Array; targets: Int32Array; count: number }[], T: number, projection: GradientProjection): Float32Array {
  if (batches.every((b) => b.count === 0)) return new Float32Array(projection.dimensions);
  adapterGradientOf(model, batches, T, {});
  return projectAdapterGradient(model, projection);
}

/**
 * The sketch's rows and the outputs' gradients again, at the same checkpoints and with the same projection as
 * `sketch` (built over every layer), with shared text left out of every loss.
 */
export function boilerplateMaskedGradients(
  model: LlamaModel, checkpoints: readonly TracInCheckpoint[], sketch: GradientSketch, examples: readonly { tokens: Int32Array }[],
  outputs: readonly { prompt: Int32Array; output: Int32Array }[], shared: ReadonlySet<string>, n: number, T: number, projection: GradientProjection,
): { sketch: GradientSketch; outputs: OutputGradientCheckpoint[][] } {
  const previous = model.getAdapter();
  const rows: Float32Array[] = [];
  const perOutput: OutputGradientCheckpoint[][] = outputs.map(() => []);
  try {
    checkpoints.forEach((checkpoint) => {
      model.setAdapter(checkpoint.adapter);
      const exampleRows = examples.map(({ tokens }) =>
        projected(model, windowSequences([tokens], T).map((w) => maskedBatch(w, boilerplateMask(w, shared, n), T)), T, projection));
      const all = new Float32Array(exampleRows.length * projection.dimensions);
      exampleRows.forEach((row, e) => all.set(row, e * projection.dimensions));
      rows.push(all);
      outputs.forEach(({ prompt, output }, z) => {
        const sequence = concat(prompt, output);
        const window = sequence.subarray(Math.max(0, sequence.length - (T + 1)));
        const firstScored = window.length - output.length - 1;
        perOutput[z].push({ learningRate: checkpoint.learningRate, gradient: projected(model, [maskedBatch(window, boilerplateMask(window, shared, n), T, firstScored)], T, projection) });
      });
    });
  } finally {
    model.setAdapter(previous);
  }
  return {
    sketch: { ...sketch, checkpoints: sketch.checkpoints.map((c, i) => ({ ...c, exampleGradients: rows[i] })) },
    outputs: perOutput,
  };
}
