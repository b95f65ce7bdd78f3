/**
 * The base-model training script's helpers: packing documents into one token stream, picking evaluation
 * windows, planning steps for a wall-clock budget, and the loss log a resumed run truncates.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TextTokenizer } from "../../../../nodes/src/engine/tokenizer/text-tokenizer.ts";
import { evenlySpaced, packDocuments } from "../../../../scripts/base-model/token-stream.ts";
import { stepsForBudget } from "../../../../scripts/base-model/step-budget.ts";
import { LossLog } from "../../../../scripts/base-model/loss-log.ts";
import { BaseModelRunError } from "../../../../scripts/base-model/errors.ts";
import { BASE_MODEL_CONFIG, parameterCount } from "../../../../scripts/base-model/recipe.ts";
import { llamaWeightShapes } from "../../../../nodes/src/engine/model/weights.ts";

/** One token per character code, enough to see where separators go. */
const charTokenizer = { encode: (text: string) => [...text].map((c) => c.charCodeAt(0)) } as unknown as TextTokenizer;

describe("packDocuments", () => {
  it("puts the separator before every document and once at the end", () => {
    assert.deepEqual([...packDocuments(charTokenizer, ["ab", "c"], 0)], [0, 97, 98, 0, 99, 0]);
  });
});

describe("evenlySpaced", () => {
  it("keeps the first and last item and spreads the rest", () => {
    assert.deepEqual(evenlySpaced([0, 1, 2, 3, 4, 5, 6, 7, 8], 3), [0, 4, 8]);
    assert.deepEqual(evenlySpaced([1, 2], 5), [1, 2]);
  });

  it("refuses a count below one", () => {
    assert.throws(() => evenlySpaced([1], 0), BaseModelRunError);
  });
});

describe("stepsForBudget", () => {
  it("fills what the budget leaves after evaluation and export, with a safety margin", () => {
    const steps = stepsForBudget({
      budgetSeconds: 600, elapsedSeconds: 40, stepsDone: 30, secondsPerStep: 1, evalSeconds: 5, evaluations: 10, finishSeconds: 60, safety: 0.9,
    });
    assert.equal(steps, 30 + Math.floor((600 - 40 - 50 - 60) * 0.9));
  });

  it("explains when the budget leaves no time to train", () => {
    assert.throws(
      () => stepsForBudget({ budgetSeconds: 60, elapsedSeconds: 40, stepsDone: 30, secondsPerStep: 1, evalSeconds: 5, evaluations: 10, finishSeconds: 60 }),
      (error: unknown) => error instanceof BaseModelRunError && /leaves no time to train/.test(error.message),
    );
  });
});

describe("LossLog", () => {
  it("drops the steps after the checkpoint a resumed run starts from", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tributary-loss-log-"));
    try {
      const first = await LossLog.open(dir, -1);
      for (let step = 0; step <= 5; step++) await first.append({ step, loss: 10 - step, tokens: step * 8, seconds: step * 2 });
      const resumed = await LossLog.open(dir, 3);
      assert.deepEqual(resumed.all.map((e) => e.step), [0, 1, 2, 3]);
      assert.equal(resumed.secondsSoFar, 6);
      await resumed.append({ step: 4, loss: 6, tokens: 32, seconds: 8 });
      assert.deepEqual((await LossLog.open(dir, 100)).all.map((e) => e.step), [0, 1, 2, 3, 4]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("parameterCount", () => {
  it("agrees with the tensors the model has", () => {
    const total = [...llamaWeightShapes(BASE_MODEL_CONFIG).values()].reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);
    assert.equal(parameterCount(BASE_MODEL_CONFIG), total);
  });
});
