/** Proof of Attribution: span index, span and gradient attribution, records, settlement batches, verifier. */
export * from "./errors.ts";
export { buildSuffixArray } from "./suffix-array.ts";
export { buildSpanIndex, documentAt, DOCUMENT_SEPARATOR, type IndexDocument, type SpanIndex } from "./span-index.ts";
export { decodeSpanIndex, encodeSpanIndex, loadSpanIndex, saveSpanIndex, spanIndexDigest } from "./span-index-file.ts";
export * from "./span-match.ts";
export { scoreWindows, spanRarityMicroBits, type WindowEvidence } from "./span-score.ts";
export * from "./gradient-influence.ts";
export * from "./gradient-sketch-file.ts";
export { buildGradientSketch, type GradientSketchOptions, type TaggedTrainingExample } from "./build-gradient-sketch.ts";
export { outputGradients } from "./output-gradients.ts";
export * from "./shared-text.ts";
export { SKETCH_ROW_TOLERANCE, verifyGradientSketch, type SketchVerification } from "./verify-sketch.ts";
export { trainingExamplesFromManifest, type ContributionContentSource, type ExampleTokenizer, type TrainingExampleOptions } from "./training-examples.ts";
export * from "./weights.ts";
export { canonicalHash, canonicalJson } from "./canonical-json.ts";
export * from "./attribution-record.ts";
export { validateRecord } from "./validate-record.ts";
export { attribute, DEFAULT_ATTRIBUTION_PARAMETERS, type AttributionInput, type AttributionParameters } from "./attribute.ts";
export * from "./datanet-manifest.ts";
export * from "./settlement-batch.ts";
export { parseBatch } from "./parse-batch.ts";
export type { AttributionDataSource } from "./data-source.ts";
export * from "./file-data-source.ts";
export { verifyRecord, type Discrepancy, type RecordVerification, type VerifyOptions } from "./verify-record.ts";
export * from "./recompute-output-gradients.ts";
export * from "./datanet-version-reader.ts";
export * from "./model-provenance-reader.ts";
export { verifyBatch, type BatchVerification } from "./verify-batch.ts";
export {
  attributionQualityReport, chanceLevels, holdOutAttributionCanaries, unmeasuredAttributionQuality, ATTRIBUTION_QUALITY_SCHEMA,
  type AttributionCanary, type AttributionMethod, type AttributionQualityInput, type AttributionQualityOutcome, type AttributionQualitySection, type CanaryMode,
  type CanaryOptions, type CanarySplit, type MethodQuality, type UnmeasuredAttributionQuality, type UnrelatedQuality,
} from "./attribution-quality-report.ts";
export {
  calibrateAttributionThreshold, calibrateMethod, calibrationPrompts, conformalThreshold, MAJORITY_SHARE, predictionThreshold, topShare,
  type CalibratedMethod, type ConformalThreshold, type MethodCalibration, type NullCalibration, type NullCalibrationInput,
} from "./null-calibration.ts";
export * from "./attribution-quality-verdict.ts";
export { validateAttributionQuality } from "./validate-attribution-quality.ts";
