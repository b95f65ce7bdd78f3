/**
 * How many optimizer steps fit a wall-clock budget, so the warm-up + cosine schedule ends (and the final
 * evaluation and export are done) inside it rather than being cut off half way down the cosine.
 */
import { BaseModelRunError } from "./errors.ts";

export interface StepBudgetInput {
  budgetSeconds: number;
  /** Already spent: loading, tokenizing, the calibration steps. */
  elapsedSeconds: number;
  /** Steps already taken (the calibration steps count: they are the run's first steps). */
  stepsDone: number;
  secondsPerStep: number;
  /** One periodic held-out evaluation. */
  evalSeconds: number;
  /** Periodic evaluations the plan makes (every 10% of the run). */
  evaluations: number;
  /** Final evaluation of the full splits, export, reload and sample generation. */
  finishSeconds: number;
  /** Fraction of the remaining time planned for steps; the rest absorbs throughput drift on a shared machine. */
  safety?: number;
}

export function stepsForBudget(input: StepBudgetInput): number {
  const safety = input.safety ?? 0.92;
  for (const [name, value] of Object.entries(input)) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new BaseModelRunError(`Step budget input ${name} must be a finite number ≥ 0, got ${value}.`, { [name]: value });
    }
  }
  if (input.secondsPerStep <= 0) throw new BaseModelRunError("secondsPerStep must be positive.", { secondsPerStep: input.secondsPerStep });
  const left = input.budgetSeconds - input.elapsedSeconds - input.evalSeconds * input.evaluations - input.finishSeconds;
  const more = Math.floor((left * safety) / input.secondsPerStep);
  if (more < 1) {
    throw new BaseModelRunError(
      `A budget of ${(input.budgetSeconds / 60).toFixed(1)} min leaves no time to train: ${input.elapsedSeconds.toFixed(0)} s spent, `
      + `${(input.evalSeconds * input.evaluations + input.finishSeconds).toFixed(0)} s needed for evaluation and export.`,
      { ...input },
    );
  }
  return input.stepsDone + more;
}
