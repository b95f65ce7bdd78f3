import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { kroneckerFactors, projectGradientKronecker, type GradientBlock } from "../../../../nodes/src/engine/train/kronecker-projection.ts";
import { randomArray } from "../ops/gradcheck.ts";

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** LoRA-shaped blocks: A [4, 96] and B [80, 4] for three projections. */
function blocks(seed: number, mixWith?: GradientBlock[]): GradientBlock[] {
  const shapes = [[4, 96], [80, 4], [4, 96], [48, 4], [4, 64], [96, 4]];
  return shapes.map(([rows, cols], id) => {
    const data = randomArray(rows * cols, seed + id);
    if (mixWith) for (let i = 0; i < data.length; i++) data[i] += 0.6 * mixWith[id].data[i];
    return { id, rows, cols, data };
  });
}

const flat = (bs: GradientBlock[]): Float32Array => Float32Array.from(bs.flatMap((b) => Array.from(b.data)));

describe("Kronecker-factored gradient projection", () => {
  it("factors k into two near-square sides", () => {
    assert.deepEqual(kroneckerFactors(256), [16, 16]);
    assert.deepEqual(kroneckerFactors(128), [8, 16]);
    assert.deepEqual(kroneckerFactors(7), [1, 7]);
  });

  it("is deterministic, linear, block-order independent in its matrices, and preserves dot products approximately", () => {
    const spec = { dimensions: 1024, seed: 7 };
    const a = blocks(1);
    const b = blocks(100, a);
    const pa = projectGradientKronecker(a, spec);
    assert.deepEqual(pa, projectGradientKronecker(a, spec));
    assert.notDeepEqual(pa, projectGradientKronecker(a, { dimensions: 1024, seed: 8 }));
    const pb = projectGradientKronecker(b, spec);
    const scale = Math.sqrt(dot(flat(a), flat(a)) * dot(flat(b), flat(b)));
    assert.ok(Math.abs(dot(pa, pb) - dot(flat(a), flat(b))) / scale < 0.15, `${dot(pa, pb)} vs ${dot(flat(a), flat(b))}`);
    assert.ok(Math.abs(dot(pa, pa) / dot(flat(a), flat(a)) - 1) < 0.2);
    // Linear: projecting a sum is the sum of the projections (up to float32 rounding).
    const sum = a.map((block, i) => ({ ...block, data: Float32Array.from(block.data, (x, j) => x + b[i].data[j]) }));
    const ps = projectGradientKronecker(sum, spec);
    for (let j = 0; j < 1024; j++) assert.ok(Math.abs(ps[j] - pa[j] - pb[j]) < 1e-4 * (1 + Math.abs(ps[j])));
  });

  it("each block gets its own random matrices: equal blocks under two ids do not project alike", () => {
    const spec = { dimensions: 64, seed: 3 };
    const data = randomArray(4 * 32, 9);
    const p0 = projectGradientKronecker([{ id: 0, rows: 4, cols: 32, data }], spec);
    const p1 = projectGradientKronecker([{ id: 1, rows: 4, cols: 32, data }], spec);
    assert.ok(Math.abs(dot(p0, p1)) < 0.5 * dot(p0, p0));
    assert.throws(() => projectGradientKronecker([{ id: 0, rows: 4, cols: 32, data }, { id: 0, rows: 4, cols: 32, data }], spec), /appears twice/);
  });
});

describe("per-example gradients from batched passes", () => {
  it("equal the B = 1 per-example projections (examples of one and of two windows, batches that split an example)", async () => {
    const { createReferenceBackend } = await import("../../../../nodes/src/engine/backend/reference.ts");
    const { LlamaModel } = await import("../../../../nodes/src/engine/model/llama.ts");
    const { initLlamaWeights } = await import("../../../../nodes/src/engine/model/weights.ts");
    const { createLoraAdapter } = await import("../../../../nodes/src/engine/lora/adapter.ts");
    const { projectedExampleGradients } = await import("../../../../nodes/src/engine/train/projected-gradients.ts");
    const { batchedProjectedExampleGradients } = await import("../../../../nodes/src/engine/train/batched-example-gradients.ts");
    const { TINY, TINY_LORA } = await import("../model/tiny.ts");
    const model = new LlamaModel(TINY, initLlamaWeights(TINY, 1, 0.2), createReferenceBackend());
    const adapter = createLoraAdapter(TINY, TINY_LORA, { seed: 2, baseModel: "tiny" });
    for (const f of adapter.weights.values()) f.B.set(randomArray(f.B.length, 3, 0.2));
    model.setAdapter(adapter);
    const examples = [5, 12, 9, 3, 14].map((length, e) => Int32Array.from({ length }, (_, i) => (i * (7 + e) + e) % TINY.vocabSize));
    const projection = { dimensions: 64, seed: 5, kind: "kronecker-rademacher" as const };
    const single = projectedExampleGradients(model, examples, 8, projection);
    for (const batchSize of [1, 3, 8]) {
      const batched = batchedProjectedExampleGradients(model, examples, 8, projection, batchSize);
      batched.forEach((row, e) => {
        const norm = Math.sqrt(dot(single[e], single[e]));
        for (let j = 0; j < 64; j++) assert.ok(Math.abs(row[j] - single[e][j]) < 1e-4 * norm, `batch ${batchSize}, example ${e}, dim ${j}: ${row[j]} vs ${single[e][j]}`);
      });
    }

    // With tokens left out of the loss (shared text): still the per-example figure, each example weighted by what it
    // has left to score; an example with nothing left is a zero row, and the others do not change for it.
    const masks = examples.map((x, e) => Uint8Array.from(x, (_, i) => (e === 3 ? 1 : (i * 3 + e) % 4 === 0 ? 1 : 0)));
    const maskedSingle = projectedExampleGradients(model, examples, 8, projection, {}, masks);
    assert.ok(maskedSingle.every((row, e) => e === 3 || row.some((x, j) => x !== single[e][j])), "the masks change every example that has a masked target");
    for (const batchSize of [1, 3, 8]) {
      const batched = batchedProjectedExampleGradients(model, examples, 8, projection, batchSize, {}, masks);
      batched.forEach((row, e) => {
        const norm = Math.sqrt(dot(maskedSingle[e], maskedSingle[e]));
        for (let j = 0; j < 64; j++) assert.ok(Math.abs(row[j] - maskedSingle[e][j]) <= 1e-4 * norm, `masked, batch ${batchSize}, example ${e}, dim ${j}: ${row[j]} vs ${maskedSingle[e][j]}`);
      });
      assert.deepEqual(Array.from(batched[3]), new Array(64).fill(0));
    }
  });
});
