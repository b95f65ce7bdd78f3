import type { Backend } from "../../nodes/src/engine/backend/backend.ts";
import type { PeerConfig, RunSettings } from "./configs.ts";
import { OurTrainingSide } from "./ours.ts";
import { median } from "./median.ts";
import { TimedBackend, type MatmulShapeTotal } from "./timed-backend.ts";

/** Where one of our training steps spends its time: the backend's matmuls (by shape) and the rest. */
export interface StepBreakdown {
  config: PeerConfig;
  steps: number;
  stepSeconds: number;
  matmulSeconds: number;
  matmulFlops: number;
  shapes: MatmulShapeTotal[];
}

/**
 * Trains `settings.steps` steps of our side through a TimedBackend, after an untimed warm-up run,
 * and returns per-step averages. Everything not in a matmul (attention's softmax, cross-entropy,
 * norms, RoPE, SwiGLU, AdamW, copies) is plain TypeScript on the calling thread.
 */
export async function measureBreakdown(config: PeerConfig, backend: Backend, settings: RunSettings): Promise<StepBreakdown> {
  const timed = new TimedBackend(backend);
  const side = new OurTrainingSide(config, timed);
  await side.train({ ...settings, steps: Math.max(1, settings.warmup), warmup: 0 });
  timed.reset();
  const { stepSeconds } = await side.train({ ...settings, warmup: 0 });
  const shapes = timed.matmulTotals();
  const steps = stepSeconds.length;
  return {
    config, steps,
    stepSeconds: median(stepSeconds),
    matmulSeconds: shapes.reduce((sum, s) => sum + s.seconds, 0) / steps,
    matmulFlops: shapes.reduce((sum, s) => sum + s.flops, 0) / steps,
    shapes,
  };
}

/** Console and markdown lines: the split, then the `top` most expensive matmul shapes. */
export function describeBreakdown(breakdown: StepBreakdown, top = 6): string[] {
  const { stepSeconds, matmulSeconds, matmulFlops, steps, shapes } = breakdown;
  const other = Math.max(0, stepSeconds - matmulSeconds);
  const lines = [
    `${breakdown.config.name}: step ${(stepSeconds * 1000).toFixed(0)} ms = matmul ${(matmulSeconds * 1000).toFixed(0)} ms ` +
      `(${(matmulFlops / 1e9).toFixed(2)} GFLOP at ${(matmulFlops / matmulSeconds / 1e9).toFixed(1)} GFLOP/s) + ` +
      `everything else ${(other * 1000).toFixed(0)} ms (${((100 * other) / stepSeconds).toFixed(0)}%)`,
  ];
  for (const s of shapes.slice(0, top)) {
    lines.push(`  ${s.shape}: ${(s.calls / steps).toFixed(0)} calls/step, ${((s.seconds / steps) * 1000).toFixed(1)} ms/step, ` +
      `${(s.flops / s.seconds / 1e9).toFixed(1)} GFLOP/s`);
  }
  return lines;
}
