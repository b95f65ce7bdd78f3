/**
 * Recomputes one attribution record from public data and lists where it disagrees: every span's
 * occurrence count and contributions against the span index, the spans themselves against the
 * output (when its tokens are published), the gradient influence against the adapter's sketch, and
 * finally the weights against what that evidence gives.
 */
import { canonicalJson } from "./canonical-json.ts";
import { decodeFloat32Base64, outputHash, type AttributionRecord } from "./attribution-record.ts";
import { toRecordSpan } from "./attribute.ts";
import type { AttributionDataSource } from "./data-source.ts";
import { AttributionError } from "./errors.ts";
import { gradientInfluence } from "./gradient-influence.ts";
import { countContributions, findOccurrences, matchSpans } from "./span-match.ts";
import { scoreSpans } from "./span-score.ts";
import { validateRecord } from "./validate-record.ts";
import { mixWeights, scoresToPpm, type ContributionWeight } from "./weights.ts";

export interface Discrepancy {
  /** Stable machine-readable kind, e.g. "record-weight", "span-occurrences", "credit-cumulative". */
  code: string;
  message: string;
  requestId?: string;
  account?: string;
}

export interface RecordVerification {
  discrepancies: Discrepancy[];
  /** The weights the evidence gives, when the record could be recomputed. */
  expectedWeights?: ContributionWeight[];
}

export async function verifyRecord(value: unknown, source: AttributionDataSource): Promise<RecordVerification> {
  const requestId = typeof (value as { requestId?: unknown })?.requestId === "string" ? (value as { requestId: string }).requestId : undefined;
  const discrepancies: Discrepancy[] = [];
  const report = (code: string, message: string): void => {
    discrepancies.push({ code, message: requestId ? `record ${requestId}: ${message}` : message, requestId });
  };
  try {
    validateRecord(value);
  } catch (error) {
    if (!(error instanceof AttributionError)) throw error;
    report("record-invalid", error.message);
    return { discrepancies };
  }
  const record: AttributionRecord = value;
  const { parameters } = record;

  const index = await source.spanIndex(record.datanet.root);
  if (!index) {
    report("missing-index", `no span index for Datanet root ${record.datanet.root}`);
    return { discrepancies };
  }
  if (index.datanetRoot.toLowerCase() !== record.datanet.root) {
    report("index-root", `the span index found for ${record.datanet.root} was built for Datanet root ${index.datanetRoot}`);
    return { discrepancies };
  }
  if (index.tokens.length !== parameters.indexTokens) {
    report("index-size", `parameters.indexTokens is ${parameters.indexTokens} but the index of ${record.datanet.root} holds ${index.tokens.length} tokens`);
  }

  record.evidence.spans.forEach((span, i) => {
    const range = findOccurrences(index, span.tokens);
    const occurrences = range.hi - range.lo;
    if (occurrences !== span.occurrences) {
      report("span-occurrences", `evidence.spans[${i}] claims ${span.occurrences} occurrences; the index has ${occurrences}`);
      return;
    }
    const expected = countContributions(index, range, parameters.maxOccurrences).map((c) => ({ contributionId: c.contributionId.toString(), count: c.count }));
    if (canonicalJson(expected) !== canonicalJson(span.contributions)) {
      report("span-contributions", `evidence.spans[${i}] names contributions ${canonicalJson(span.contributions)}; the index gives ${canonicalJson(expected)}`);
    }
  });

  const output = await source.outputTokens(record.requestId);
  if (output) {
    if (outputHash(output) !== record.output.hash || output.length !== record.output.tokenCount) {
      report("output-hash", `the published output tokens do not match output.hash`);
    } else {
      const spans = matchSpans(index, output, parameters).map(toRecordSpan);
      if (canonicalJson(spans) !== canonicalJson(record.evidence.spans)) {
        report("span-set", `evidence.spans differ from the spans of the output in the index (${spans.length} spans expected, ${record.evidence.spans.length} given)`);
      }
    }
  }

  let gradientWeights: ContributionWeight[] = [];
  if (record.evidence.gradient) {
    const sketch = await source.gradientSketch(record.model.cid);
    if (!sketch) {
      report("missing-gradient-sketch", `no gradient sketch for model ${record.model.cid}`);
      return { discrepancies };
    }
    try {
      const checkpoints = record.evidence.gradient.checkpoints.map((c) => ({ learningRate: c.learningRate, gradient: decodeFloat32Base64(c.outputGradient) }));
      gradientWeights = scoresToPpm(gradientInfluence(sketch, checkpoints));
    } catch (error) {
      if (!(error instanceof AttributionError)) throw error;
      report("gradient-evidence", error.message);
      return { discrepancies };
    }
  }

  const spanWeights = scoresToPpm(scoreSpans(spanEvidence(record), parameters.minSpanLength, parameters.indexTokens));
  const { weights, effectiveMixPpm } = mixWeights(spanWeights, gradientWeights, parameters.mixPpm);
  if (effectiveMixPpm !== parameters.effectiveMixPpm) {
    report("record-mix", `parameters.effectiveMixPpm is ${parameters.effectiveMixPpm}; the evidence gives ${effectiveMixPpm}`);
  }
  compareWeights(record, weights, report);
  return { discrepancies, expectedWeights: weights };
}

function spanEvidence(record: AttributionRecord) {
  return record.evidence.spans.map((s) => ({
    outputStart: s.outputStart,
    length: s.length,
    occurrences: s.occurrences,
    contributions: s.contributions.map((c) => ({ contributionId: BigInt(c.contributionId), count: c.count })),
  }));
}

function compareWeights(record: AttributionRecord, expected: readonly ContributionWeight[], report: (code: string, message: string) => void): void {
  const given = new Map(record.weights.map((w) => [BigInt(w.contributionId), w.ppm]));
  const wanted = new Map(expected.map((w) => [w.contributionId, w.ppm]));
  const ids = [...new Set([...given.keys(), ...wanted.keys()])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const id of ids) {
    const g = given.get(id) ?? 0;
    const w = wanted.get(id) ?? 0;
    if (g !== w) report("record-weight", `contribution ${id} is weighted ${g} ppm; the evidence gives ${w} ppm`);
  }
}

