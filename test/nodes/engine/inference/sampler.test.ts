import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { argmax, sampleToken, validateSamplingParams } from "../../../../nodes/src/engine/inference/sampler.ts";
import { InvalidRequestError } from "../../../../nodes/src/engine/inference/errors.ts";
import { Rng } from "../../../../nodes/src/engine/train/rng.ts";

const logits = Float32Array.from([0.5, 2.0, -1.0, 1.9, 0.0, 2.0]);
const V = logits.length;

function counts(params: { temperature: number; topK: number; topP: number }, seed: number, draws: number): number[] {
  const random = new Rng(seed);
  const seen = new Array<number>(V).fill(0);
  for (let i = 0; i < draws; i++) seen[sampleToken(logits, 0, V, params, random)]++;
  return seen;
}

describe("sampleToken", () => {
  it("greedy picks the largest logit, the lowest index on a tie, and draws nothing", () => {
    assert.equal(argmax(logits, 0, V), 1);
    const random = new Rng(1);
    const before = new Rng(1).nextUint32();
    assert.equal(sampleToken(logits, 0, V, { temperature: 0, topK: 0, topP: 1 }, random), 1);
    assert.equal(random.nextUint32(), before);
  });

  it("reads the row at the given offset", () => {
    const rows = new Float32Array(2 * V);
    rows.set(logits, V);
    assert.equal(sampleToken(rows, V, V, { temperature: 0, topK: 0, topP: 1 }, new Rng(1)), 1);
  });

  it("the same seed draws the same tokens", () => {
    const params = { temperature: 0.8, topK: 0, topP: 1 };
    assert.deepEqual(counts(params, 42, 50), counts(params, 42, 50));
    const a = new Rng(9);
    const b = new Rng(9);
    for (let i = 0; i < 20; i++) assert.equal(sampleToken(logits, 0, V, params, a), sampleToken(logits, 0, V, params, b));
  });

  it("top-k keeps only the k most likely tokens", () => {
    const seen = counts({ temperature: 1, topK: 3, topP: 1 }, 3, 2000);
    assert.deepEqual(seen.map((n) => n > 0), [false, true, false, true, false, true]);
  });

  it("top-p keeps the smallest nucleus that reaches p", () => {
    // Probabilities ~ [0.09, 0.31, 0.02, 0.28, 0.05, 0.31] (T=1): the top three hold 0.90.
    const seen = counts({ temperature: 1, topK: 0, topP: 0.85 }, 5, 2000);
    assert.deepEqual(seen.map((n) => n > 0), [false, true, false, true, false, true]);
    // Tokens 1 and 5 tie for the top: a nucleus that needs only one of them keeps both.
    const narrow = counts({ temperature: 1, topK: 0, topP: 0.2 }, 5, 200);
    assert.deepEqual(narrow.map((n) => n > 0), [false, true, false, false, false, true]);
    // With top-k the candidates are ordered (lower index first among equals), so the cut is exact.
    const ordered = counts({ temperature: 1, topK: 4, topP: 0.2 }, 5, 200);
    assert.deepEqual(ordered.map((n) => n > 0), [false, true, false, false, false, false]);
  });

  it("follows the softmax distribution without truncation", () => {
    const draws = 20000;
    const seen = counts({ temperature: 1, topK: 0, topP: 1 }, 11, draws);
    const exp = Array.from(logits, Math.exp);
    const total = exp.reduce((a, b) => a + b, 0);
    seen.forEach((n, i) => assert.ok(Math.abs(n / draws - exp[i] / total) < 0.015, `token ${i}: ${n / draws} vs ${exp[i] / total}`));
  });

  it("low temperature concentrates on the best tokens", () => {
    const seen = counts({ temperature: 0.05, topK: 0, topP: 1 }, 2, 500);
    assert.equal(seen[0] + seen[2] + seen[4], 0);
  });

  it("rejects parameters that make no sense, naming the field", () => {
    assert.throws(() => validateSamplingParams({ temperature: -1, topK: 0, topP: 1 }), (e: unknown) => e instanceof InvalidRequestError && e.details.field === "temperature");
    assert.throws(() => validateSamplingParams({ temperature: 1, topK: 1.5, topP: 1 }), (e: unknown) => e instanceof InvalidRequestError && e.details.field === "topK");
    assert.throws(() => validateSamplingParams({ temperature: 1, topK: 0, topP: 0 }), (e: unknown) => e instanceof InvalidRequestError && e.details.field === "topP");
  });
});
