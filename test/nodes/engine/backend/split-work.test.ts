import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_CHUNKS, chunkBlock, planChunks } from "../../../../nodes/src/engine/backend/wasm/split-work.ts";

function coverage(M: number, N: number, threads: number): number[] {
  const plan = planChunks(M, N, threads, 6, 8);
  const hits = new Array(M * N).fill(0);
  for (let index = 0; index < plan.count; index++) {
    const { r0, r1, c0, c1 } = chunkBlock(plan, index, M, N);
    assert.ok(r0 < r1 && c0 < c1, "no empty chunk");
    for (let i = r0; i < r1; i++) for (let j = c0; j < c1; j++) hits[i * N + j]++;
  }
  return hits;
}

describe("planChunks", () => {
  it("covers every output element exactly once", () => {
    for (const [M, N, threads] of [[100, 30, 2], [7, 1000, 3], [1, 1, 2], [13, 13, 4], [600, 600, 16], [1000, 9, 2]]) {
      assert.ok(coverage(M, N, threads).every((hits) => hits === 1), `${M}x${N} on ${threads}`);
    }
  });

  it("cuts rows for tall outputs and columns for wide ones, on tile boundaries, several chunks per thread", () => {
    assert.deepEqual(planChunks(1024, 256, 2, 6, 8), { byRows: true, chunkSize: 132, count: 8 });
    assert.deepEqual(planChunks(4, 1000, 2, 6, 8), { byRows: false, chunkSize: 128, count: 8 });
  });

  it("keeps row chunks tall enough to pay for repacking b, and small products in one chunk", () => {
    assert.equal(planChunks(100, 64, 2, 6, 8).chunkSize, 48);
    assert.equal(planChunks(6, 8, 4, 6, 8).count, 1);
    assert.equal(planChunks(0, 8, 4, 6, 8).count, 0);
    assert.equal(planChunks(8, 0, 4, 6, 8).count, 0);
  });

  it("never plans more chunks than the claim word can index", () => {
    assert.ok(planChunks(1, 10_000_000, 4096, 6, 8).count <= MAX_CHUNKS);
  });
});
