import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeGradientSketch, encodeGradientSketch, gradientInfluence, InvalidGradientSketchError, type GradientSketch } from "../../../nodes/src/attribution/index.ts";
import { datanetFixture } from "./fixtures.ts";

describe("gradient influence (TracIn-CP)", () => {
  const sketch: GradientSketch = {
    dims: 2,
    exampleContributionIds: [1n, 1n, 2n, 3n],
    checkpoints: [
      { learningRate: 0.5, exampleGradients: Float32Array.of(1, 0, 0, 1, 2, 2, -1, 0) },
      { learningRate: 0.25, exampleGradients: Float32Array.of(1, 1, 1, 1, 0, 4, -1, -1) },
    ],
  };
  const output = [
    { learningRate: 0.5, gradient: Float32Array.of(1, 2) },
    { learningRate: 0.25, gradient: Float32Array.of(2, 0) },
  ];

  it("sums lr * <g_output, g_example> over checkpoints and averages a contribution's examples", () => {
    const influence = gradientInfluence(sketch, output);
    // example 0: 0.5*1 + 0.25*2 = 1; example 1: 0.5*2 + 0.25*2 = 1.5 -> contribution 1 mean 1.25
    // contribution 2: 0.5*6 + 0.25*0 = 3; contribution 3: 0.5*-1 + 0.25*-2 = -1 (dropped: negative)
    assert.deepEqual([...influence], [
      [1n, 1.25],
      [2n, 3],
    ]);
  });

  it("with cosine similarity, normalizes each gradient per checkpoint so an example's norm no longer decides its rank", () => {
    const cosine = gradientInfluence(sketch, output, "cosine");
    // checkpoint 0, |g_o| = √5: ex0 1/√5, ex1 2/√5, ex2 6/(√5·√8), ex3 −1/√5; checkpoint 1, g_o = (2, 0): ex0 1/√2, ex1 1/√2, ex2 0, ex3 −1/√2
    const c = (a: number, b: number) => 0.5 * a + 0.25 * b;
    const expected = new Map([[1n, (c(1 / Math.sqrt(5), Math.SQRT1_2) + c(2 / Math.sqrt(5), Math.SQRT1_2)) / 2], [2n, c(6 / Math.sqrt(40), 0)]]);
    for (const [id, value] of expected) assert.ok(Math.abs(cosine.get(id)! - value) < 1e-12, `${id}: ${cosine.get(id)} vs ${value}`);
    assert.equal(cosine.has(3n), false);
    // Raw dot ranks contribution 2 (a large gradient) first; cosine ranks contribution 1 (better aligned) first.
    assert.ok(gradientInfluence(sketch, output).get(2n)! > gradientInfluence(sketch, output).get(1n)!);
    assert.ok(cosine.get(1n)! > cosine.get(2n)!);
    // The sketch's provenance names the similarity; the argument overrides it.
    const provenance = { projection: { kind: "kronecker-rademacher" as const, seed: 1, dims: 2 }, sequenceLength: 8, baseModel: `0x${"ab".repeat(32)}` as const, checkpoints: [
      { step: 1, learningRate: 0.5, digest: `0x${"01".repeat(32)}` as const }, { step: 2, learningRate: 0.25, digest: `0x${"02".repeat(32)}` as const }] };
    assert.deepEqual(gradientInfluence({ ...sketch, provenance: { ...provenance, similarity: "cosine" } }, output), cosine);
    assert.deepEqual(gradientInfluence({ ...sketch, provenance: { ...provenance, similarity: "cosine" } }, output, "dot"), gradientInfluence(sketch, output));
    assert.throws(() => gradientInfluence({ ...sketch, provenance: { ...provenance, similarity: "l2" as "dot" } }, output), /similarity l2/);
    assert.throws(() => gradientInfluence({ ...sketch, provenance: { ...provenance, lastLayers: 0 } }, output), /lastLayers 0/);
  });

  it("rejects mismatched checkpoints, dims and learning rates", () => {
    assert.throws(() => gradientInfluence(sketch, output.slice(0, 1)), /gradients at 1 checkpoints; the sketch has 2/);
    assert.throws(() => gradientInfluence(sketch, [output[0], { learningRate: 0.1, gradient: Float32Array.of(1, 1) }]), /learning rate 0.1 differs/);
    assert.throws(() => gradientInfluence(sketch, [output[0], { learningRate: 0.25, gradient: Float32Array.of(1) }]), InvalidGradientSketchError);
    assert.throws(() => gradientInfluence({ ...sketch, dims: 3 }, output), /holds 8 floats; 4 examples x 3 dims needs 12/);
  });

  it("round-trips through its binary file", () => {
    const { sketch: original } = datanetFixture();
    const loaded = decodeGradientSketch(encodeGradientSketch(original));
    assert.equal(loaded.dims, original.dims);
    assert.deepEqual(loaded.exampleContributionIds, original.exampleContributionIds);
    assert.deepEqual(loaded.checkpoints.map((c) => c.learningRate), original.checkpoints.map((c) => c.learningRate));
    loaded.checkpoints.forEach((c, i) => assert.deepEqual(c.exampleGradients, original.checkpoints[i].exampleGradients));
    assert.throws(() => decodeGradientSketch(encodeGradientSketch(original).subarray(0, 40)), /size 40 does not match/);
    // A NaN or infinite gradient would silently void its contribution's influence: the file is refused.
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const poisoned = { ...original, checkpoints: original.checkpoints.map((c, i) => ({ ...c, exampleGradients: Float32Array.from(c.exampleGradients, (x, j) => (i === 1 && j === original.dims ? bad : x)) })) };
      assert.throws(() => decodeGradientSketch(encodeGradientSketch(poisoned)), /checkpoint 1, example 1 holds a non-finite gradient/);
    }
  });
});
