import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { binomialUpperTail, clopperPearson } from "../../../bench/attribution-quality/binomial.ts";
import { counterfactualEffects, counterfactualRank, counterfactualTop, specificEffects } from "../../../bench/attribution-quality/counterfactual.ts";
import { accountCentered } from "../../../bench/attribution-quality/account-centering.ts";
import { contributorAddress } from "../../../bench/attribution-quality/planted-datanet.ts";
import { cholesky, dampedCovarianceFactor, forwardSubstitute, preconditionGradients } from "../../../bench/attribution-quality/preconditioned-gradients.ts";
import { gradientInfluence, type GradientSketch } from "../../../nodes/src/attribution/gradient-influence.ts";
import { BenchmarkInputError } from "../../../bench/attribution-quality/errors.ts";

const close = (a: number, b: number, eps = 1e-6) => assert.ok(Math.abs(a - b) < eps, `${a} ≠ ${b}`);

describe("exact binomial interval and p-value", () => {
  it("matches published Clopper-Pearson bounds", () => {
    const half = clopperPearson(5, 10);
    close(half.low, 0.187086, 1e-5);
    close(half.high, 0.812914, 1e-5);
    const none = clopperPearson(0, 10);
    assert.equal(none.low, 0);
    close(none.high, 1 - 0.025 ** (1 / 10));
    const all = clopperPearson(10, 10);
    close(all.low, 0.025 ** (1 / 10));
    assert.equal(all.high, 1);
    // At the bounds the tails are exactly α/2.
    const k = 9, n = 56;
    const b = clopperPearson(k, n);
    close(binomialUpperTail(n, k, b.low), 0.025, 1e-9);
    close(1 - binomialUpperTail(n, k + 1, b.high), 0.025, 1e-9);
    assert.throws(() => clopperPearson(3, 2), BenchmarkInputError);
  });

  it("gives the one-sided p-value of a top-1 count against chance", () => {
    close(binomialUpperTail(4, 4, 0.5), 1 / 16, 1e-12);
    close(binomialUpperTail(4, 3, 0.5), 5 / 16, 1e-12);
    assert.equal(binomialUpperTail(56, 0, 1 / 14), 1);
    assert.ok(binomialUpperTail(56, 15, 1 / 14) < 1e-4, "15 of 56 against 1/14 is far above chance");
    assert.ok(binomialUpperTail(56, 5, 1 / 14) > 0.3, "5 of 56 is what chance gives");
  });
});

describe("counterfactual effects from random halves", () => {
  // 3 accounts, 4 halves; the loss reduction is 1 whenever account 2 is in the half.
  const subsets = [[0, 2], [1, 2], [0, 1], [1]];
  const actual = [1, 1, 0, 0];
  it("estimates each account's effect as mean inside minus mean outside", () => {
    const effects = counterfactualEffects(3, subsets, actual);
    close(effects[0]!, (1 + 0) / 2 - (1 + 0) / 2);
    close(effects[1]!, (1 + 0 + 0) / 3 - 1);
    close(effects[2]!, 1);
    assert.equal(counterfactualTop(effects), 2);
    assert.equal(counterfactualRank(effects, 2), 1);
    assert.equal(counterfactualRank(effects, 1), 3);
  });
  it("has no estimate for an account every half holds, and checks the lengths", () => {
    const effects = counterfactualEffects(2, [[0, 1], [0]], [1, 0]);
    assert.equal(effects[0], null);
    assert.equal(counterfactualTop([null, null]), null);
    assert.equal(counterfactualRank(effects, 0), null);
    assert.throws(() => counterfactualEffects(2, [[0]], [1, 2]), BenchmarkInputError);
  });
});

describe("output-specific effects and account-centered scores", () => {
  it("takes each account's mean effect over the outputs away, so a hub helping every output no longer tops them all", () => {
    // Account 0 helps every output by 1; account 1 helps only output 0 (by 0.6), account 2 only output 1 (by 0.6).
    const effects = [[1, 0.6, 0], [1, 0, 0.6], [1, null, 0]];
    assert.equal(counterfactualTop(effects[0]), 0);
    const specific = specificEffects(effects);
    assert.deepEqual(specific.map((e) => counterfactualTop(e)), [1, 2, 0]);
    close(specific[0][1]!, 0.6 - 0.3);
    assert.equal(specific[2][1], null);
    close(specific[2][0]!, 0);
  });

  it("centers each account's share on its mean over the outputs, shifted to stay positive", () => {
    const [a, b] = [contributorAddress(0), contributorAddress(1)];
    const shares = [new Map([[a, 0.8], [b, 0.2]]), new Map([[a, 0.6], [b, 0.4]])];
    const centered = accountCentered(shares, [a, b]);
    close(centered[0].get(a)!, 1 + 0.1);
    close(centered[0].get(b)!, 1 - 0.1);
    close(centered[1].get(b)!, 1 + 0.1, 1e-9);
    assert.ok([...centered[1].values()].every((x) => x > 0));
  });
});

describe("TRAK-style preconditioning of projected gradients", () => {
  it("factors a positive definite matrix and inverts by forward substitution", () => {
    const a = Float64Array.from([4, 2, 2, 3]);
    const l = cholesky(a, 2);
    close(l[0], 2); close(l[1], 0); close(l[2], 1); close(l[3], Math.SQRT2);
    const x = forwardSubstitute(l, 2, [2, 3]);
    close(x[0], 1); close(x[1], 2 / Math.SQRT2);
    assert.throws(() => cholesky(Float64Array.from([1, 2, 2, 1]), 2), BenchmarkInputError);
  });

  it("whitens so that inner products become gₒᵀ (GᵀG/E + λI)⁻¹ gₑ", () => {
    // G rows (2, 1) and (1, 0): covariance GᵀG/E = [[2.5, 1], [1, 0.5]] (E = 2); mean eigenvalue 1.5, λ = 0.1 × 1.5.
    const rows = Float32Array.from([2, 1, 1, 0]);
    const a = [2.5 + 0.15, 1, 1, 0.5 + 0.15];
    const det = a[0] * a[3] - a[1] * a[2];
    const inverse = [a[3] / det, -a[1] / det, -a[2] / det, a[0] / det];
    const l = dampedCovarianceFactor(rows, 2, 2, 0.1);
    const go = [0.3, -0.7], ge = [2, 1];
    const wo = forwardSubstitute(l, 2, go), we = forwardSubstitute(l, 2, ge);
    const expected = go[0] * (inverse[0] * ge[0] + inverse[1] * ge[1]) + go[1] * (inverse[2] * ge[0] + inverse[3] * ge[1]);
    close(wo[0] * we[0] + wo[1] * we[1], expected, 1e-9);
    assert.throws(() => dampedCovarianceFactor(rows, 2, 2, 0), BenchmarkInputError);
  });

  it("turns a sketch into one the node's gradientInfluence scores by the preconditioned product", () => {
    // Two examples along a direction every example shares (axis 0) and one along a rare direction (axis 1).
    const sketch: GradientSketch = { dims: 2, exampleContributionIds: [1n, 2n, 3n], checkpoints: [{ learningRate: 0.5, exampleGradients: Float32Array.from([3, 0, 3, 0, 0, 0.5]) }] };
    const output = [{ learningRate: 0.5, gradient: Float32Array.from([1, 1]) }];
    const raw = gradientInfluence(sketch, output, "dot");
    assert.ok(raw.get(1n)! > raw.get(3n)!, "by the raw product the shared direction wins");
    const p = preconditionGradients(sketch, [output], 0.1);
    const whitened = gradientInfluence(p.sketch, p.outputs[0], "dot");
    assert.ok(whitened.get(3n)! > whitened.get(1n)!, "preconditioned, the rare direction wins");
    assert.equal(p.sketch.checkpoints[0].learningRate, 0.5);
  });
});
