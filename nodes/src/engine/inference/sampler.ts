import { InvalidRequestError } from "./errors.ts";
import type { Rng } from "../train/rng.ts";

/** How the next token is picked from the logits. temperature 0 is greedy (argmax). */
export interface SamplingParams {
  temperature: number;
  /** Keep only the k most likely tokens; 0 keeps all. */
  topK: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all. */
  topP: number;
}

export const GREEDY: SamplingParams = { temperature: 0, topK: 0, topP: 1 };

/** Throws InvalidRequestError naming the field unless the parameters make sense. */
export function validateSamplingParams({ temperature, topK, topP }: SamplingParams): void {
  if (!Number.isFinite(temperature) || temperature < 0) throw new InvalidRequestError("temperature", "must be a finite number ≥ 0", temperature);
  if (!Number.isInteger(topK) || topK < 0) throw new InvalidRequestError("topK", "must be an integer ≥ 0", topK);
  if (!Number.isFinite(topP) || topP <= 0 || topP > 1) throw new InvalidRequestError("topP", "must be in (0, 1]", topP);
}

/** Index of the largest logit; the lowest index wins a tie so the choice never depends on anything else. */
export function argmax(logits: Float32Array, offset: number, V: number): number {
  let best = 0;
  let bestValue = logits[offset];
  for (let i = 1; i < V; i++) {
    if (logits[offset + i] > bestValue) {
      bestValue = logits[offset + i];
      best = i;
    }
  }
  return best;
}

/**
 * Picks a token from logits[offset .. offset+V). With temperature > 0: the logits are divided by the
 * temperature, cut to the top-k, turned into probabilities, cut to the top-p nucleus, renormalized,
 * and one token is drawn with the sequence's own generator (exactly one draw per token, so the
 * stream of draws does not depend on the parameters).
 *
 * Sampling runs once per sequence per step over the whole vocabulary, so it avoids a full sort:
 * top-k keeps a small sorted list, and top-p alone finds its cut-off weight with a native numeric sort.
 */
export function sampleToken(logits: Float32Array, offset: number, V: number, params: SamplingParams, random: Rng): number {
  if (params.temperature === 0) return argmax(logits, offset, V);
  const u = random.nextFloat();
  const invT = 1 / params.temperature;
  if (params.topK > 0 && params.topK < V) {
    const order = topKIndices(logits, offset, V, params.topK);
    const max = logits[offset + order[0]];
    const weights = new Float64Array(order.length);
    let sum = 0;
    for (let i = 0; i < order.length; i++) sum += weights[i] = Math.exp((logits[offset + order[i]] - max) * invT);
    let kept = order.length;
    if (params.topP < 1) {
      // The list is sorted by descending weight: the nucleus is a prefix of it.
      let cumulative = 0;
      for (let i = 0; i < order.length; i++) {
        cumulative += weights[i];
        if (cumulative >= params.topP * sum) {
          kept = i + 1;
          break;
        }
      }
      sum = 0;
      for (let i = 0; i < kept; i++) sum += weights[i];
    }
    return drawFrom(weights, order, kept, u * sum);
  }
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[offset + i] > max) max = logits[offset + i];
  const weights = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) sum += weights[i] = Math.exp((logits[offset + i] - max) * invT);
  if (params.topP < 1) {
    // Nucleus without sorting indices: the smallest weight that is still inside it, then keep all
    // tokens at least that likely (ties with it included, so the set does not depend on token order).
    const sorted = Float64Array.from(weights).sort();
    let cumulative = 0;
    let threshold = sorted[V - 1];
    for (let i = V - 1; i >= 0; i--) {
      cumulative += sorted[i];
      threshold = sorted[i];
      if (cumulative >= params.topP * sum) break;
    }
    sum = 0;
    for (let i = 0; i < V; i++) {
      if (weights[i] < threshold) weights[i] = 0;
      sum += weights[i];
    }
  }
  return drawFrom(weights, null, V, u * sum);
}

/**
 * Indices of the k largest logits, largest first, the lower index first among equals. An insertion
 * into a sorted list of k: most logits are below the current k-th and cost one comparison.
 */
function topKIndices(logits: Float32Array, offset: number, V: number, k: number): Int32Array {
  const index = new Int32Array(k);
  const value = new Float32Array(k);
  let size = 0;
  for (let i = 0; i < V; i++) {
    const x = logits[offset + i];
    if (size === k && x <= value[k - 1]) continue;
    let at = size < k ? size++ : k - 1;
    // Strictly greater moves ahead, so an equal logit stays behind the lower index already there.
    while (at > 0 && value[at - 1] < x) {
      value[at] = value[at - 1];
      index[at] = index[at - 1];
      at--;
    }
    value[at] = x;
    index[at] = i;
  }
  return index;
}

/** The first candidate whose cumulative weight passes `target`; the last one with weight if rounding leaves it short. */
function drawFrom(weights: Float64Array, order: Int32Array | null, n: number, target: number): number {
  let cumulative = 0;
  let last = 0;
  for (let i = 0; i < n; i++) {
    if (weights[i] === 0) continue;
    last = i;
    cumulative += weights[i];
    if (cumulative > target) return order ? order[i] : i;
  }
  return order ? order[last] : last;
}
