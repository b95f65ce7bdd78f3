/**
 * bench/engine-worker measures the caller's event-loop delay with the engine on its worker and on
 * the caller's thread. Timings are not checked here (the machine is shared); what is checked is that
 * the measurement is sound: both placements serve every request, with the same tokens, and report a
 * delay histogram.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { measureWorkerPlacement } from "../../../../bench/engine-worker/measure.ts";
import { BASE_MODEL_FOLDER } from "../../../../bench/inference/model-presets.ts";

describe("bench/engine-worker", () => {
  it("serves every request in both placements with the same tokens and reports the caller's loop delay", async () => {
    const { worker, inThread } = await measureWorkerPlacement({ modelDir: BASE_MODEL_FOLDER, requests: 6, maxTokens: 5, batch: 4, threads: 1 });
    assert.equal(worker.outputs.length, 6);
    assert.deepEqual(worker.outputs, inThread.outputs);
    assert.ok(worker.outputs.some((tokens) => tokens.length === 5));
    for (const result of [worker, inThread]) {
      assert.equal(result.tokens, result.outputs.reduce((sum, t) => sum + t.length, 0));
      for (const value of Object.values(result.delay)) assert.ok(Number.isFinite(value) && value >= 0);
      assert.ok(result.delay.p99 >= result.delay.p50 && result.delay.max >= result.delay.p99);
      assert.ok(result.tokensPerSecond > 0);
    }
  });
});
