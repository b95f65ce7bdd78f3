import { Rng } from "../../../../nodes/src/engine/train/rng.ts";

/**
 * A toy "language" for training tests: a Markov chain in which every token has two possible
 * successors, so a model that learns it reaches about ln 2 ≈ 0.69 nats per token, far below the
 * ln V of a model that knows nothing.
 */
export function markovCorpus(V: number, sequences: number, length: number, seed: number, language = 1234): Int32Array[] {
  const rules = new Rng(language);
  const successors = Array.from({ length: V }, () => [rules.nextInt(V), rules.nextInt(V)]);
  const rng = new Rng(seed);
  return Array.from({ length: sequences }, () => {
    const seq = new Int32Array(length);
    seq[0] = rng.nextInt(V);
    for (let t = 1; t < length; t++) seq[t] = successors[seq[t - 1]][rng.nextInt(2)];
    return seq;
  });
}
