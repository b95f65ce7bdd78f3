import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Address } from "viem";
import { METHODS, type Method } from "../../../bench/attribution-quality/attribute-output.ts";
import { qualityMetrics, type QualityMetrics, type TopContributor } from "../../../bench/attribution-quality/quality-metrics.ts";
import { renderConsoleReport, renderMarkdownReport, type BenchmarkReport } from "../../../bench/attribution-quality/report.ts";
import type { TrialResult } from "../../../bench/attribution-quality/trial.ts";

const owner = "0x00000000000000000000000000000000000000a1" as Address;
const other = "0x00000000000000000000000000000000000000b0" as Address;
const perMethod = <T>(value: T) => Object.fromEntries(METHODS.map((m) => [m, value])) as Record<Method, T>;

/** A two-prompt trial: the first planted prompt credited to its owner, the second to nobody strongly. */
function trial(): TrialResult {
  const planted = [{ owner, top: { contributor: owner, share: 0.8 } }, { owner, top: { contributor: other, share: 0.3 } }];
  const unrelated: TopContributor[] = [{ contributor: other, share: 0.2 }];
  return {
    seed: 1, datanet: { contributors: 2, contributions: 4, indexTokens: 100, root: "0x" }, base: "random Llama (C=8, seed 1)", lora: "rank 2",
    training: { steps: 10, firstLoss: 9, finalLoss: 1, seconds: 2, tokensPerSecond: 500, checkpoints: [{ step: 5, learningRate: 0.01 }, { step: 10, learningRate: 0.001 }] },
    memorization: { exact: 1, total: 2, meanCopied: 30, outputTokens: 48 },
    unrelatedGeneratedLongestSpan: [0],
    misses: [{ passage: 1, copied: 12, longestSpan: 0, top: perMethod({ share: 0.3, owner: false }) }],
    planted: perMethod(planted), unrelatedGenerated: perMethod(unrelated), unrelatedText: perMethod(unrelated),
    seconds: { generation: 0.1, gradients: 1, attribution: 0.01, total: 3.2 },
  };
}

describe("attribution quality report", () => {
  it("renders the per-seed, pooled and sweep tables, the misses and the goal verdict", () => {
    const t = trial();
    const metrics = (threshold: number): Record<Method, QualityMetrics> =>
      perMethod(qualityMetrics(t.planted.combined, t.unrelatedGenerated.combined, threshold));
    const report: BenchmarkReport = {
      date: "2026-11-24T00:00:00.000Z", machine: "test", threshold: 0.5, seconds: 3.5, trials: [t], perTrial: [metrics(0.5)],
      options: {
        seeds: [1], contributors: 2, uniquePerContributor: 1, filler: 1, unrelated: 1, passageTokens: 64, promptTokens: 16, steps: 10,
        learningRate: 0.01, batchSize: 8, rank: 2, dims: 32, projection: "kronecker-rademacher", mixPpm: 500_000, threshold: 0.5,
      },
      byThreshold: [0.3, 0.5].map((threshold) => ({ threshold, generated: metrics(threshold), text: metrics(threshold) })),
    };
    const markdown = renderMarkdownReport(report);
    assert.match(markdown, /^## Attribution quality with planted evidence/);
    assert.match(markdown, /\| combined \| 1\.000 \(1\/1\) \| 0\.500 \(1\/2\) \|/);
    assert.match(markdown, /Planted prompts the combined attribution missed \(1\): seed 1 passage 1 \(12\/48 tokens reproduced/);
    assert.match(markdown, /recall 0\.500, \*\*not met\*\*/);
    assert.match(markdown, /Pooled over 1 seed \(2 planted prompts, 1 unrelated prompts\)/);
    // At 0.3 the second prompt's wrong top contributor counts as a prediction.
    assert.match(markdown, /\| 0\.30 \| gradient \| 0\.500 \| 0\.500 \|/);
    assert.match(markdown, /Unrelated outputs have no span evidence, so only their gradients attribute them; their top share is at most 0\.20/);
    assert.match(renderConsoleReport(report), /\| 1 \| 10 \| 9\.00 → 1\.000 \| 2\.0 s \| 500 \| 1\/2 \|/);
  });
});
