import { Rng } from "../../nodes/src/engine/train/rng.ts";

/** A shuffled copy, drawn with the engine's seeded generator so the benchmark's data is the same on every run. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  return new Rng(seed).shuffle([...items]);
}
