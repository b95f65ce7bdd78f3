import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AttributionQualityView } from "../src/components/AttributionQualityView.tsx";
import { EvaluationView } from "../src/components/EvaluationView.tsx";
import { parseAttributionQuality, parseEvaluationReport } from "../src/lib/evaluation.ts";

const comparison = (base: number, adapter: number) => ({ base: { loss: 1, perplexity: base, tokens: 10 }, adapter: { loss: 1, perplexity: adapter, tokens: 10 }, lossDelta: 0 });
const method = (top1Accuracy: number, meanReciprocalRank: number) => ({ top1Accuracy, meanReciprocalRank, abstentions: 0, predictions: 0, correct: 0, precision: null });

/** A measured section as a training node writes it (tributary.attribution-quality/2; figures from a tiny real job). */
const measured = {
  schema: "tributary.attribution-quality/2", measured: true, mode: "held-out", canaries: 11, tooShort: 0, candidates: 12, promptTokens: 8, outputTokens: 16,
  threshold: 0.5, mixPpm: 500000, chance: { top1Accuracy: 1 / 12, meanReciprocalRank: 0.2586 },
  generated: { span: method(0, 0), gradient: method(0.1818, 0.2121), combined: method(0.1818, 0.2121) },
  reference: { span: method(1, 1), gradient: method(0.1818, 0.3073), combined: method(1, 1) },
  reproduced: 0,
  unrelated: { probes: 16, crossing: { span: 0, gradient: 8, combined: 8 }, abstentions: { span: 16, gradient: 0, combined: 0 }, falsePositiveRate: { span: 0, gradient: 0.5, combined: 0.5 } },
  assessment: {
    method: "combined", outputs: "generated", probes: 11, verdict: "chance", top1Hits: 2, pValue: 0.232, unrelatedFalsePositiveRate: 0.5,
    summary: "No better than chance: for answers that do not copy the Datanet, attribution cannot tell whose data the answer came from. On the adapter's answers to 11 prompts taken from held-out contributor text, attribution ranks the true contributor first in 2 (18 %; chance 8 % among 12 contributions).",
  },
  seconds: 21.9,
};

/** A Datanet too small to measure: counts and the reason, no figures. */
const unmeasured = {
  schema: "tributary.attribution-quality/2", measured: false, mode: "held-out", canaries: 0, tooShort: 2, candidates: 3, promptTokens: 8, outputTokens: 16,
  chance: { top1Accuracy: 1 / 3, meanReciprocalRank: 0.6111 },
  assessment: {
    method: "combined", outputs: "generated", probes: 0, verdict: "not-measurable", reason: "too-few-probes", top1Hits: null, pValue: null, unrelatedFalsePositiveRate: null,
    summary: "Not measurable: only 0 contributions were long enough (48 tokens or more) to hold out a probe; at least 8 probes are needed for a figure that means something.",
  },
  seconds: 0,
};

const report = (attribution?: unknown) => ({ format: "tributary.evaluation/2", heldOutIsTrainingData: false, report: comparison(40, 25), ...(attribution === undefined ? {} : { attribution }) });

describe("attribution quality in the evaluation report", () => {
  it("reads the section's combined figures, chance and verdict", () => {
    const quality = parseAttributionQuality(measured)!;
    expect(quality.verdict).toBe("chance");
    expect(quality.probes).toBe(11);
    expect(quality.candidates).toBe(12);
    expect(quality.answers).toEqual({ top1: 0.1818, mrr: 0.2121 });
    expect(quality.copied).toEqual({ top1: 1, mrr: 1 });
    expect(quality.chance.top1).toBeCloseTo(1 / 12);
    expect(quality.unrelatedFalsePositiveRate).toBe(0.5);
    // Unmeasured: no figures to plot.
    const small = parseAttributionQuality(unmeasured)!;
    expect(small.verdict).toBe("not-measurable");
    expect(small.answers).toBeUndefined();
    // Not a section this dApp reads: ignored, not fatal.
    expect(parseAttributionQuality({ schema: "tributary.attribution-quality/2", assessment: { verdict: "great", summary: "x" } })).toBeUndefined();
    expect(parseAttributionQuality(0.7)).toBeUndefined();
  });

  it("plots top-1 and MRR against chance and says what they mean", () => {
    render(<EvaluationView document={report(measured)} />);
    expect(screen.getByRole("heading", { name: "Attribution quality" })).toBeTruthy();
    expect(screen.getByTestId("attribution-verdict").textContent).toMatch(/^No better than chance\. for answers that do not copy the Datanet/);
    expect(screen.getByRole("img", {
      name: "The true contributor among 12 contributions, over 11 probes (higher is better): Top-1, answers 0.18, Top-1, copied text 1.00, Top-1, chance 0.08, MRR, answers 0.21, MRR, copied text 1.00, MRR, chance 0.26",
    })).toBeTruthy();
    // The perplexity part is still there.
    expect(screen.getByRole("img", { name: /^Perplexity/ })).toBeTruthy();
  });

  it("says when the Datanet is too small, without a plot", () => {
    render(<AttributionQualityView quality={parseAttributionQuality(unmeasured)!} />);
    expect(screen.getByTestId("attribution-verdict").textContent).toMatch(/^Not measurable\. only 0 contributions were long enough \(48 tokens or more\)/);
    expect(screen.queryByRole("img")).toBeNull();
  });

  it("renders a report from before the section (tributary.evaluation/1) as before", () => {
    render(<EvaluationView document={{ format: "tributary.evaluation/1", heldOutIsTrainingData: false, report: comparison(40, 25) }} />);
    expect(parseEvaluationReport(report()).attribution).toBeUndefined();
    expect(screen.getByTestId("verdict").textContent).toMatch(/^Specialized/);
    expect(screen.queryByTestId("attribution-quality")).toBeNull();
  });
});
