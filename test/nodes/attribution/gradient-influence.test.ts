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
  });
});
