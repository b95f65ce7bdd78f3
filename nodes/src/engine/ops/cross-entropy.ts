import { requireSize } from "./errors.ts";
import { fastExp } from "./exp.ts";

/** Targets equal to this are not scored (padding, prompt tokens), as in PyTorch's CrossEntropyLoss. */
export const IGNORE_INDEX = -100;

/**
 * Softmax cross-entropy over the vocabulary, averaged over the targets that are not ignored
 * (HF's causal-LM loss, reduction "mean"). `targets` are already shifted: targets[n] is the token
 * that should follow position n, so no shift happens here.
 *
 * logits [N, V] -> probs [N, V] (softmax, kept for the backward), losses [N] (0 where ignored).
 * Returns the mean loss and how many targets counted; the mean of no targets is 0.
 */
export function crossEntropyForward(
  losses: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number,
  ignoreIndex = IGNORE_INDEX,
): { loss: number; count: number } {
  requireSize("logits", logits, N * V);
  requireSize("probs", probs, N * V);
  requireSize("losses", losses, N);
  requireSize("targets", targets, N);
  let total = 0;
  let count = 0;
  for (let n = 0; n < N; n++) {
    const base = n * V;
    // One exp per logit (exp dominates this op's cost): unnormalised probabilities first, their
    // sum gives the log-partition, then one multiply normalises.
    let max = -Infinity;
    for (let i = 0; i < V; i++) if (logits[base + i] > max) max = logits[base + i];
    let sum = 0;
    for (let i = 0; i < V; i++) {
      const e = fastExp(logits[base + i] - max);
      probs[base + i] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let i = 0; i < V; i++) probs[base + i] *= inv;
    const lse = max + Math.log(sum);
    const target = targets[n];
    if (target === ignoreIndex) {
      losses[n] = 0;
      continue;
    }
    if (target < 0 || target >= V) throw new RangeError(`Target ${target} at position ${n} is outside the vocabulary [0, ${V}).`);
    const loss = lse - logits[base + target];
    losses[n] = loss;
    total += loss;
    count++;
  }
  return { loss: count > 0 ? total / count : 0, count };
}

/**
 * dlogits [N, V] = (probs − onehot(target)) · dloss / count, and 0 on ignored rows.
 * dlogits may be the probs buffer itself (each element is read once, then written).
 * `count` is the number of scored targets the mean divided by; pass a larger one to scale the
 * gradient down when accumulating over several micro-batches.
 */
export function crossEntropyBackward(
  dlogits: Float32Array, probs: Float32Array, targets: Int32Array, N: number, V: number, count: number, dloss = 1,
  ignoreIndex = IGNORE_INDEX,
): void {
  requireSize("dlogits", dlogits, N * V);
  const scale = count > 0 ? dloss / count : 0;
  for (let n = 0; n < N; n++) {
    const base = n * V;
    const target = targets[n];
    if (target === ignoreIndex) {
      dlogits.fill(0, base, base + V);
      continue;
    }
    for (let i = 0; i < V; i++) dlogits[base + i] = probs[base + i] * scale;
    dlogits[base + target] -= scale;
  }
}
