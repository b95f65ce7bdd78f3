/**
 * One output attributed three ways with the attribution module's own functions: span evidence
 * alone, gradient evidence alone, and both mixed by `attribute` into a validated record (the
 * combination a node would publish). The benchmark compares the three.
 */
import { attribute } from "../../nodes/src/attribution/attribute.ts";
import type { AttributionRecord } from "../../nodes/src/attribution/attribution-record.ts";
import { gradientInfluence, type GradientSketch, type OutputGradientCheckpoint } from "../../nodes/src/attribution/gradient-influence.ts";
import type { SpanIndex } from "../../nodes/src/attribution/span-index.ts";
import { validateRecord } from "../../nodes/src/attribution/validate-record.ts";
import { scoresToPpm, type ContributionWeight } from "../../nodes/src/attribution/weights.ts";

export const METHODS = ["span", "gradient", "combined"] as const;
export type Method = (typeof METHODS)[number];

export interface OutputAttribution {
  weights: Record<Method, ContributionWeight[]>;
  /** The combined method's record, as a node would publish it. */
  record: AttributionRecord;
  /** The longest span of the output found in the Datanet (0 when none reaches minSpanLength). */
  longestSpan: number;
}

export interface OutputToAttribute {
  requestId: string;
  prompt: Int32Array;
  tokens: Int32Array;
  gradients: readonly OutputGradientCheckpoint[];
}

/** `backend`: the reproducible backend the output gradients were computed on (the record states it). */
export function attributeOutput(index: SpanIndex, sketch: GradientSketch, output: OutputToAttribute, mixPpm: number, backend: "reference" | "wasm-simd"): OutputAttribution {
  const common = { requestId: output.requestId, model: { id: 1n, cid: "bench-attribution-quality" }, datanet: { id: 1n, version: 1 }, outputTokens: output.tokens, index };
  const record = attribute({ ...common, gradients: { sketch, output: output.gradients, prompt: output.prompt, backend }, parameters: { mixPpm } });
  validateRecord(record);
  const spanOnly = attribute(common);
  const fromRecord = (r: AttributionRecord): ContributionWeight[] => r.weights.map((w) => ({ contributionId: BigInt(w.contributionId), ppm: w.ppm }));
  return {
    weights: {
      span: fromRecord(spanOnly),
      gradient: scoresToPpm(gradientInfluence(sketch, output.gradients)),
      combined: fromRecord(record),
    },
    record,
    longestSpan: record.evidence.spans.reduce((max, s) => Math.max(max, s.length), 0),
  };
}
