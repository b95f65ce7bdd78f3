/**
 * Attributes one inference output: span matching against the Datanet version's index, TracIn-CP
 * gradient influence when the adapter's gradient sketch is at hand, the two mixed, and everything
 * written down as a tributary.attribution/1 record.
 */
import type { Hex } from "viem";
import { ATTRIBUTION_RECORD_SCHEMA, encodeFloat32Base64, outputHash, type AttributionRecord, type RecordGradientEvidence } from "./attribution-record.ts";
import { gradientSketchDigest } from "./gradient-sketch-file.ts";
import { spanIndexDigest } from "./span-index-file.ts";
import { InvalidParameterError } from "./errors.ts";
import { gradientInfluence, type GradientSketch, type OutputGradientCheckpoint } from "./gradient-influence.ts";
import type { SpanIndex } from "./span-index.ts";
import { DEFAULT_SPAN_MATCH_OPTIONS, matchSpans, matchWindows, type MatchedSpan, type WindowGroup } from "./span-match.ts";
import { scoreWindows } from "./span-score.ts";
import { mixWeights, scoresToPpm } from "./weights.ts";

export interface AttributionParameters {
  /** k: shortest span that counts as evidence. Default 8. */
  minSpanLength: number;
  /** Occurrences of one span mapped to documents before sampling. Default 1000. */
  maxOccurrences: number;
  /** Share of span attribution in the combined weights, ppm. Default 500000 (half). */
  mixPpm: number;
}

export const DEFAULT_ATTRIBUTION_PARAMETERS: AttributionParameters = { ...DEFAULT_SPAN_MATCH_OPTIONS, mixPpm: 500_000 };

export interface AttributionInput {
  requestId: string;
  model: { id: bigint; cid: string };
  datanet: { id: bigint; version: number };
  outputTokens: ArrayLike<number>;
  index: SpanIndex;
  /**
   * The adapter's gradient sketch (built by buildGradientSketch, so it names its provenance), the
   * output's projected gradients at its checkpoints (outputGradients), the prompt they were
   * conditioned on and the reproducible backend they were computed on; absent: span attribution only.
   */
  gradients?: {
    sketch: GradientSketch;
    output: readonly OutputGradientCheckpoint[];
    prompt: ArrayLike<number>;
    backend: RecordGradientEvidence["backend"];
  };
  parameters?: Partial<AttributionParameters>;
}

export function attribute(input: AttributionInput): AttributionRecord {
  const parameters = { ...DEFAULT_ATTRIBUTION_PARAMETERS, ...input.parameters };
  if (input.requestId.length === 0) throw new InvalidParameterError("requestId must not be empty.", { field: "requestId" });

  if (input.gradients && !input.gradients.sketch.provenance) {
    throw new InvalidParameterError("The gradient sketch names no provenance (checkpoints, projection, base model): build it with buildGradientSketch so the record can be verified.", { field: "gradients.sketch" });
  }
  const spans = matchSpans(input.index, input.outputTokens, parameters);
  const windows = matchWindows(input.index, spans, parameters);
  const spanWeights = scoresToPpm(scoreWindows(windows, input.index.tokens.length));
  const gradientWeights = input.gradients ? scoresToPpm(gradientInfluence(input.gradients.sketch, input.gradients.output)) : [];
  const { weights, effectiveMixPpm } = mixWeights(spanWeights, gradientWeights, parameters.mixPpm);

  return {
    schema: ATTRIBUTION_RECORD_SCHEMA,
    requestId: input.requestId,
    model: { id: input.model.id.toString(), cid: input.model.cid },
    datanet: { id: input.datanet.id.toString(), version: input.datanet.version, root: input.index.datanetRoot.toLowerCase() as Hex, spanIndex: spanIndexDigest(input.index) },
    output: { hash: outputHash(input.outputTokens), tokenCount: input.outputTokens.length },
    parameters: {
      minSpanLength: parameters.minSpanLength,
      maxOccurrences: parameters.maxOccurrences,
      indexTokens: input.index.tokens.length,
      mixPpm: parameters.mixPpm,
      effectiveMixPpm,
      gradientDims: input.gradients ? input.gradients.sketch.dims : 0,
      gradientAggregation: "mean",
    },
    weights: weights.map((w) => ({ contributionId: w.contributionId.toString(), ppm: w.ppm })),
    evidence: {
      spans: spans.map(toRecordSpan),
      windows: windows.map(toRecordWindowGroup),
      gradient: input.gradients ? gradientEvidence(input.gradients) : null,
    },
  };
}

function gradientEvidence(gradients: NonNullable<AttributionInput["gradients"]>): RecordGradientEvidence {
  const provenance = gradients.sketch.provenance!;
  return {
    sketch: gradientSketchDigest(gradients.sketch),
    baseModel: provenance.baseModel,
    projection: { ...provenance.projection },
    sequenceLength: provenance.sequenceLength,
    ...(provenance.lastLayers !== undefined ? { lastLayers: provenance.lastLayers } : {}),
    ...(provenance.similarity !== undefined ? { similarity: provenance.similarity } : {}),
    ...(provenance.sharedText !== undefined ? { sharedText: { n: provenance.sharedText.n, minAccounts: provenance.sharedText.minAccounts } } : {}),
    backend: gradients.backend,
    prompt: { hash: outputHash(gradients.prompt), tokenCount: gradients.prompt.length },
    checkpoints: gradients.output.map((c, i) => ({
      step: provenance.checkpoints[i].step,
      learningRate: c.learningRate,
      adapter: provenance.checkpoints[i].digest,
      outputGradient: encodeFloat32Base64(c.gradient),
    })),
  };
}

export function toRecordWindowGroup(group: WindowGroup): AttributionRecord["evidence"]["windows"][number] {
  return {
    outputStart: group.outputStart,
    windows: group.windows,
    occurrences: group.occurrences,
    contributions: group.contributions.map((c) => ({ contributionId: c.contributionId.toString(), count: c.count })),
  };
}

export function toRecordSpan(span: MatchedSpan): AttributionRecord["evidence"]["spans"][number] {
  return {
    outputStart: span.outputStart,
    length: span.length,
    tokens: span.tokens,
    occurrences: span.occurrences,
    contributions: span.contributions.map((c) => ({ contributionId: c.contributionId.toString(), count: c.count })),
  };
}
