import { TrainingConfigError } from "./errors.ts";

export interface LearningRateSchedule {
  /** The learning rate at the end of warm-up. */
  peak: number;
  /** Steps of linear warm-up from peak/warmupSteps up to peak. */
  warmupSteps: number;
  /** Total optimizer steps; the cosine reaches `min` at the last one. */
  totalSteps: number;
  /** Floor of the cosine decay (0 by default). */
  min?: number;
}

export function validateSchedule(s: LearningRateSchedule): void {
  if (!(s.peak > 0)) throw new TrainingConfigError("learningRate", s.peak, "must be positive");
  if (!Number.isInteger(s.totalSteps) || s.totalSteps <= 0) throw new TrainingConfigError("totalSteps", s.totalSteps, "must be a positive integer");
  if (!Number.isInteger(s.warmupSteps) || s.warmupSteps < 0 || s.warmupSteps > s.totalSteps) {
    throw new TrainingConfigError("warmupSteps", s.warmupSteps, `must be an integer in [0, totalSteps=${s.totalSteps}]`);
  }
  if ((s.min ?? 0) < 0 || (s.min ?? 0) > s.peak) throw new TrainingConfigError("minLearningRate", s.min, "must be in [0, peak]");
}

/**
 * Learning rate of optimizer step `step` (0-based): linear warm-up, then half a cosine from peak
 * down to min. Warm-up starts at peak/warmupSteps rather than 0 so the first step is not wasted.
 */
export function learningRateAt(step: number, s: LearningRateSchedule): number {
  const min = s.min ?? 0;
  if (step < s.warmupSteps) return (s.peak * (step + 1)) / s.warmupSteps;
  const decaySteps = s.totalSteps - s.warmupSteps;
  if (decaySteps <= 1) return s.peak;
  const progress = Math.min(1, (step - s.warmupSteps) / (decaySteps - 1));
  return min + 0.5 * (s.peak - min) * (1 + Math.cos(Math.PI * progress));
}
