import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AdamW } from "../../../../nodes/src/engine/train/adamw.ts";
import { clipGradientNorm } from "../../../../nodes/src/engine/train/clip.ts";
import { learningRateAt, validateSchedule } from "../../../../nodes/src/engine/train/schedule.ts";
import { TrainingConfigError } from "../../../../nodes/src/engine/train/errors.ts";

describe("AdamW, schedule and clipping", () => {
  it("AdamW takes torch.optim.AdamW's steps (decoupled decay, bias correction)", () => {
    const data = Float32Array.of(1, -2);
    const grad = new Float32Array(2);
    const opt = new AdamW([{ name: "w", data, grad }], { weightDecay: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8 });
    const expected = [1, -2];
    const m = [0, 0];
    const v = [0, 0];
    const grads = [[0.5, -1], [0.25, 2], [-1, 0.1]];
    grads.forEach((g, t) => {
      grad.set(g);
      opt.step(0.01);
      for (let i = 0; i < 2; i++) {
        expected[i] *= 1 - 0.01 * 0.1;
        m[i] = 0.9 * m[i] + 0.1 * g[i];
        v[i] = 0.99 * v[i] + 0.01 * g[i] * g[i];
        expected[i] -= (0.01 * (m[i] / (1 - 0.9 ** (t + 1)))) / (Math.sqrt(v[i] / (1 - 0.99 ** (t + 1))) + 1e-8);
      }
    });
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(data[i] - expected[i]) < 1e-6, `${data[i]} vs ${expected[i]}`);
    assert.equal(opt.stepCount, 3);
  });

  it("AdamW leaves norm weights undecayed by default", () => {
    const norm = Float32Array.of(1);
    const opt = new AdamW([{ name: "model.norm.weight", data: norm, grad: new Float32Array(1) }], { weightDecay: 0.5 });
    opt.step(0.1);
    assert.equal(norm[0], 1);
  });

  it("warm-up rises linearly, then a cosine falls to the floor", () => {
    const s = { peak: 1, warmupSteps: 4, totalSteps: 14, min: 0.1 };
    assert.deepEqual([0, 1, 2, 3].map((t) => learningRateAt(t, s)), [0.25, 0.5, 0.75, 1]);
    assert.ok(Math.abs(learningRateAt(4, s) - 1) < 1e-12);
    assert.ok(Math.abs(learningRateAt(13, s) - 0.1) < 1e-12);
    assert.ok(Math.abs(learningRateAt(8.5, s) - 0.55) < 1e-12);
    assert.throws(() => validateSchedule({ peak: 1, warmupSteps: 20, totalSteps: 10 }), TrainingConfigError);
  });

  it("clipping scales all gradients by one factor to the max global norm", () => {
    const a = Float32Array.of(3, 0);
    const b = Float32Array.of(4);
    assert.equal(clipGradientNorm([a, b], 1), 5);
    assert.ok(Math.abs(Math.hypot(a[0], a[1], b[0]) - 1) < 1e-5);
    assert.ok(Math.abs(a[0] / b[0] - 0.75) < 1e-6);
    const c = Float32Array.of(0.1);
    clipGradientNorm([c], 1);
    assert.equal(c[0], Math.fround(0.1));
  });
});
