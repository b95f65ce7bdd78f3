import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCheckpoint, saveCheckpoint, type CheckpointTensor } from "../../../../nodes/src/engine/train/checkpoint.ts";
import { CheckpointError } from "../../../../nodes/src/engine/train/errors.ts";

const tensor = (name: string, values: number[]): CheckpointTensor => ({
  name, data: Float32Array.from(values), m: Float32Array.from(values, (x) => x / 10), v: Float32Array.from(values, (x) => x * x),
});
const dataOrder = { epoch: 1, cursor: 2, epochRngState: [1, 2, 3, 4] };

describe("training checkpoints", () => {
  it("round-trip tensors, moments and state, keeping only the latest tensor file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tributary-ckpt-"));
    try {
      await saveCheckpoint(dir, { step: 1, optimizerStep: 1, dataOrder }, [tensor("a", [1, 2]), tensor("b", [3])]);
      await saveCheckpoint(dir, { step: 2, optimizerStep: 2, dataOrder }, [tensor("a", [5, 6]), tensor("b", [7])]);
      assert.deepEqual((await readdir(dir)).sort(), ["tensors-2.bin", "trainer-state.json"]);
      const into = [tensor("a", [0, 0]), tensor("b", [0])];
      assert.deepEqual(await loadCheckpoint(dir, into), { step: 2, optimizerStep: 2, dataOrder });
      assert.deepEqual(into, [tensor("a", [5, 6]), tensor("b", [7])]);

      await assert.rejects(loadCheckpoint(dir, [tensor("a", [0, 0]), tensor("c", [0])]), (e: unknown) => e instanceof CheckpointError && /"b" \[1\].*"c" \[1\]/.test(e.message));
      await truncate(join(dir, "tensors-2.bin"), 8);
      await assert.rejects(loadCheckpoint(dir, into), /truncated/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
