/**
 * The verdict on a model's attribution figures (attribution-quality-verdict.ts), on constructed inputs: too small a
 * Datanet is "not measurable" with its reason and no figure; otherwise the exact binomial test against chance, the
 * reliable top-1 bar and the unrelated-output false-positive goal decide between chance, weak and reliable.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  assessAttributionQuality, attributionNotMeasurable, binomialUpperTail, chanceLevels, unmeasuredAttributionQuality,
  validateAttributionQuality, InvalidAttributionQualityError, InvalidParameterError, ATTRIBUTION_QUALITY_SCHEMA, MIN_ATTRIBUTION_CANDIDATES,
  MIN_ATTRIBUTION_PROBES,
} from "../../../nodes/src/attribution/index.ts";

describe("attribution quality verdict", () => {
  it("binomial upper tail: exact values, edges", () => {
    assert.ok(Math.abs(binomialUpperTail(8, 8, 0.5) - 1 / 256) < 1e-15);
    assert.ok(Math.abs(binomialUpperTail(3, 1, 0.5) - 7 / 8) < 1e-15);
    // P(X ≥ 2), n = 10, p = 0.1: 1 − 0.9^10 − 10·0.1·0.9^9.
    assert.ok(Math.abs(binomialUpperTail(10, 2, 0.1) - (1 - 0.9 ** 10 - 0.9 ** 9)) < 1e-12);
    assert.equal(binomialUpperTail(10, 0, 0.1), 1);
    assert.equal(binomialUpperTail(10, 11, 0.1), 0);
    // Large n does not underflow to 0 where the tail is large.
    assert.ok(binomialUpperTail(5000, 1, 0.001) > 0.99);
  });

  it("too few contributions or probes: not measurable, with the reason and no figure", () => {
    assert.equal(attributionNotMeasurable({ candidates: 1, probes: 40 }), "one-contribution");
    assert.equal(attributionNotMeasurable({ candidates: MIN_ATTRIBUTION_CANDIDATES - 1, probes: 40 }), "too-few-contributions");
    assert.equal(attributionNotMeasurable({ candidates: 20, probes: MIN_ATTRIBUTION_PROBES - 1 }), "too-few-probes");
    assert.equal(attributionNotMeasurable({ candidates: MIN_ATTRIBUTION_CANDIDATES, probes: MIN_ATTRIBUTION_PROBES }), null);

    // Two probes both right would print a meaningless 1.0: the verdict says the sample is too small instead.
    const two = assessAttributionQuality({ candidates: 12, probes: 2, top1Hits: 2, probeTokens: 48 });
    assert.equal(two.verdict, "not-measurable");
    assert.equal(two.reason, "too-few-probes");
    assert.equal(two.top1Hits, null);
    assert.equal(two.pValue, null);
    assert.match(two.summary, /^Not measurable: only 2 contributions were long enough \(48 tokens or more\)/);
    assert.doesNotMatch(two.summary, /100 %/);

    const single = assessAttributionQuality({ candidates: 1, probes: 1, top1Hits: 1 });
    assert.equal(single.reason, "one-contribution");
    assert.match(single.summary, /single contribution/);
    assert.equal(assessAttributionQuality({ candidates: 2, probes: 30, top1Hits: 30 }).reason, "too-few-contributions");
    const forced = assessAttributionQuality({ candidates: 30, probes: 30, top1Hits: 30, notMeasurable: "no-gradient-sketch" });
    assert.equal(forced.verdict, "not-measurable");
    assert.match(forced.summary, /no gradient sketch/);
  });

  it("at chance: not significantly above 1/candidates", () => {
    // 24 probes over 12 contributions: 3 hits (12.5 %) against chance 8.3 % is luck (p ≈ 0.32).
    const a = assessAttributionQuality({ candidates: 12, probes: 24, top1Hits: 3 });
    assert.equal(a.verdict, "chance");
    assert.ok(a.pValue! > 0.05 && a.pValue! < 0.5, String(a.pValue));
    assert.match(a.summary, /^No better than chance/);
    assert.match(a.summary, /first in 3 \(13 %; chance 8 % among 12 contributions\)/);
  });

  it("weak: above chance but under 80 % top-1, or unrelated outputs credited", () => {
    const a = assessAttributionQuality({ candidates: 12, probes: 24, top1Hits: 10, unrelated: { probes: 16, crossing: 0 } });
    assert.equal(a.verdict, "weak");
    assert.ok(a.pValue! < 0.001);
    assert.equal(a.unrelatedFalsePositiveRate, 0);
    // High top-1 but 2 of 16 unrelated answers crossing the threshold (12.5 % > 5 %).
    const b = assessAttributionQuality({ candidates: 12, probes: 24, top1Hits: 23, unrelated: { probes: 16, crossing: 2 } });
    assert.equal(b.verdict, "weak");
    assert.equal(b.unrelatedFalsePositiveRate, 0.125);
    assert.match(b.summary, /2 of 16 answers to prompts from outside the Datanet .* share of 50 % or more \(false positives\)/);
    // Counted against the model's calibrated threshold, the summary names it, and the same rate gives the same verdict.
    const c = assessAttributionQuality({ candidates: 12, probes: 24, top1Hits: 23, unrelated: { probes: 16, crossing: 2 }, threshold: 0.72, thresholdCalibrated: true });
    assert.equal(c.verdict, "weak");
    assert.equal(c.unrelatedFalsePositiveRate, 0.125);
    assert.match(c.summary, /2 of 16 answers .* share above the model's calibrated threshold of 72 % \(false positives\)/);
    const d = assessAttributionQuality({ candidates: 12, probes: 24, top1Hits: 23, unrelated: { probes: 16, crossing: 0 }, threshold: 0.72, thresholdCalibrated: true });
    assert.equal(d.verdict, "reliable");
  });

  it("reliable: significant, at least 80 % top-1, no unrelated output credited; copied text reported when measured", () => {
    const a = assessAttributionQuality({ candidates: 12, probes: 24, top1Hits: 22, unrelated: { probes: 16, crossing: 0 }, copied: { probes: 24, top1Hits: 24 } });
    assert.equal(a.verdict, "reliable");
    assert.equal(a.top1Hits, 22);
    assert.match(a.summary, /^Reliable/);
    assert.match(a.summary, /Text copied from the Datanet is credited to its holder first in 24 of 24 probes/);
    // No unrelated prompts tried: the rate is unknown, not 0.
    const b = assessAttributionQuality({ candidates: 12, probes: 24, top1Hits: 22, unrelated: null });
    assert.equal(b.verdict, "reliable");
    assert.equal(b.unrelatedFalsePositiveRate, null);
    assert.throws(() => assessAttributionQuality({ candidates: 12, probes: 24, top1Hits: 25 }), InvalidParameterError);
  });

  it("the unmeasured section: counts, chance and the reason, and only for a Datanet that cannot be measured", () => {
    const section = unmeasuredAttributionQuality({ mode: "held-out", canaries: 0, tooShort: 2, candidates: 3, promptTokens: 8, outputTokens: 16 });
    assert.equal(section.schema, ATTRIBUTION_QUALITY_SCHEMA);
    assert.equal(section.measured, false);
    assert.deepEqual(section.chance, chanceLevels(3));
    assert.ok(Math.abs(section.chance.top1Accuracy - 1 / 3) < 1e-15);
    assert.equal(section.assessment.reason, "too-few-probes");
    assert.match(section.assessment.summary, /\(48 tokens or more\)/);
    assert.throws(() => unmeasuredAttributionQuality({ mode: "held-out", canaries: 20, tooShort: 0, candidates: 20, promptTokens: 8, outputTokens: 16 }), InvalidParameterError);

    // It follows the section's JSON Schema; a section claiming figures it does not have, or an unknown verdict, does not.
    const json = JSON.parse(JSON.stringify(section));
    validateAttributionQuality(json);
    assert.throws(() => validateAttributionQuality({ ...json, generated: { span: {} } }), (e: Error) => e instanceof InvalidAttributionQualityError && /generated is not a field/.test(e.message));
    assert.throws(() => validateAttributionQuality({ ...json, measured: true }), /Invalid attribution section: (generated|threshold|mixPpm|reference|reproduced|unrelated|canaries)/);
    assert.throws(() => validateAttributionQuality({ ...json, assessment: { ...json.assessment, verdict: "great" } }), /assessment\.verdict must be equal to one of the allowed values/);
    assert.throws(() => validateAttributionQuality("reliable"), InvalidAttributionQualityError);
  });
});
