/**
 * Recomputes one attribution record from public data and lists where it disagrees: the Datanet
 * root against the chain (when a reader is given), the span index against its digest, every span's
 * occurrence count and contributions against the index, the spans themselves against the output
 * (when its tokens are published), the gradient evidence's inputs against the sketch's provenance,
 * the output gradients recomputed bit for bit from the output tokens and the TracIn checkpoints, the
 * gradient influence against the sketch, and finally the weights against what that evidence gives. A
 * span-only record of a model whose attribution index document names a gradient sketch is reported
 * ("gradient-missing"): its node skipped the gradient part every record of that model must carry.
 */
import { canonicalJson } from "./canonical-json.ts";
import { decodeFloat32Base64, outputHash, type AttributionRecord } from "./attribution-record.ts";
import { toRecordSpan, toRecordWindowGroup } from "./attribute.ts";
import type { AttributionDataSource } from "./data-source.ts";
import { AttributionError, MissingDataError } from "./errors.ts";
import { gradientInfluence, type GradientSketch, type OutputGradientCheckpoint } from "./gradient-influence.ts";
import { gradientSketchDigest } from "./gradient-sketch-file.ts";
import { spanIndexDigest } from "./span-index-file.ts";
import { encodeFloat32Base64, type RecordGradientEvidence } from "./attribution-record.ts";
import type { DatanetVersionReader } from "./datanet-version-reader.ts";
import type { ModelProvenanceReader } from "./model-provenance-reader.ts";
import type { OutputGradientRecomputer } from "./recompute-output-gradients.ts";
import { countContributions, findOccurrences, matchSpans, matchWindows } from "./span-match.ts";
import { scoreWindows } from "./span-score.ts";
import { validateRecord } from "./validate-record.ts";
import { mixWeights, scoresToPpm, type ContributionWeight } from "./weights.ts";

export interface Discrepancy {
  /** Stable machine-readable kind, e.g. "record-weight", "span-occurrences", "credit-cumulative". */
  code: string;
  message: string;
  requestId?: string;
  account?: string;
}

export interface VerifyOptions {
  /**
   * Recomputes output gradients from the record's inputs. Without it a record with gradient
   * evidence cannot be checked and is reported ("gradient-unverifiable"): its gradients could be forged.
   */
  gradients?: OutputGradientRecomputer;
  /** Checks each record's Datanet root against the registry (createDatanetVersionReader). */
  chain?: DatanetVersionReader;
  /**
   * Checks each record's model against the ModelRegistry's provenance (createModelProvenanceReader): the adapter
   * CID it names, and that its Datanet id, version and root are the ones that model was trained on.
   */
  models?: ModelProvenanceReader;
}

export interface RecordVerification {
  discrepancies: Discrepancy[];
  /** The weights the evidence gives, when the record could be recomputed. */
  expectedWeights?: ContributionWeight[];
}

export async function verifyRecord(value: unknown, source: AttributionDataSource, options: VerifyOptions = {}): Promise<RecordVerification> {
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

  if (options.chain) {
    const root = await options.chain.versionRoot(BigInt(record.datanet.id), record.datanet.version);
    if (!root) report("datanet-version", `the registry has no version ${record.datanet.version} of Datanet ${record.datanet.id}`);
    else if (root !== record.datanet.root) report("datanet-root", `datanet.root is ${record.datanet.root}; the registry's root of Datanet ${record.datanet.id} version ${record.datanet.version} is ${root}`);
  }

  if (options.models) {
    const provenance = await options.models.provenance(BigInt(record.model.id));
    if (!provenance) report("model-unknown", `the ModelRegistry has no model ${record.model.id}`);
    else {
      if (provenance.adapterCid !== record.model.cid) {
        report("model-cid", `model.cid is ${record.model.cid}; model ${record.model.id}'s adapter on the registry is ${provenance.adapterCid}`);
      }
      const named = `Datanet ${record.datanet.id} version ${record.datanet.version} root ${record.datanet.root}`;
      const trained = `Datanet ${provenance.datanetId} version ${provenance.datanetVersion} root ${provenance.datanetRoot}`;
      if (provenance.datanetId !== BigInt(record.datanet.id) || provenance.datanetVersion !== record.datanet.version || provenance.datanetRoot !== record.datanet.root) {
        report("model-datanet", `the record attributes through ${named}; model ${record.model.id} was trained on ${trained}`);
      }
    }
  }

  const index = await source.spanIndex(record.datanet.root);
  if (!index) {
    report("missing-index", `no span index for Datanet root ${record.datanet.root}`);
    return { discrepancies };
  }
  if (index.datanetRoot.toLowerCase() !== record.datanet.root) {
    report("index-root", `the span index found for ${record.datanet.root} was built for Datanet root ${index.datanetRoot}`);
    return { discrepancies };
  }
  const indexDigest = spanIndexDigest(index);
  if (indexDigest !== record.datanet.spanIndex) {
    report("index-digest", `datanet.spanIndex is ${record.datanet.spanIndex}; the index of ${record.datanet.root} has digest ${indexDigest}`);
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
  const gradient = record.evidence.gradient;
  if (!gradient && await namesGradientSketch(source, record.model.cid)) {
    // The weights would be the span ones alone: a node could pick whichever half pays its friends.
    report("gradient-missing", `the record has no gradient evidence, but model ${record.model.cid}'s attribution index document names a gradient sketch: every record of it must carry the output's gradients`);
  }
  if (gradient) {
    const sketch = await source.gradientSketch(record.model.cid);
    if (!sketch) {
      report("missing-gradient-sketch", `no gradient sketch for model ${record.model.cid}`);
      return { discrepancies };
    }
    const sketchDigest = gradientSketchDigest(sketch);
    if (sketchDigest !== gradient.sketch) {
      report("gradient-sketch-digest", `evidence.gradient.sketch is ${gradient.sketch}; the sketch of model ${record.model.cid} has digest ${sketchDigest}`);
      return { discrepancies };
    }
    if (!checkProvenance(gradient, sketch, report)) return { discrepancies };
    const given = gradient.checkpoints.map((c) => ({ learningRate: c.learningRate, gradient: decodeFloat32Base64(c.outputGradient) }));
    const recomputed = await recomputeOutputGradients(record, gradient, sketch, source, options, output, report);
    if (recomputed) {
      recomputed.forEach((c, i) => {
        if (encodeFloat32Base64(c.gradient) !== gradient.checkpoints[i].outputGradient) {
          report("gradient-output", `evidence.gradient.checkpoints[${i}].outputGradient is not the output's gradient at checkpoint step ${gradient.checkpoints[i].step} (recomputed from the output tokens and the checkpoint)`);
        }
      });
    }
    try {
      // The weights the evidence gives rest on the recomputed gradients whenever they could be recomputed.
      gradientWeights = scoresToPpm(gradientInfluence(sketch, recomputed ?? given));
    } catch (error) {
      if (!(error instanceof AttributionError)) throw error;
      report("gradient-evidence", error.message);
      return { discrepancies };
    }
  }

  // Window evidence follows from the spans' tokens and the index alone.
  const windows = matchWindows(index, record.evidence.spans, parameters);
  if (canonicalJson(windows.map(toRecordWindowGroup)) !== canonicalJson(record.evidence.windows)) {
    report("window-evidence", `evidence.windows differ from the windows of the record's spans in the index (${windows.length} groups expected, ${record.evidence.windows.length} given)`);
  }
  const spanWeights = scoresToPpm(scoreWindows(windows, parameters.indexTokens));
  const { weights, effectiveMixPpm } = mixWeights(spanWeights, gradientWeights, parameters.mixPpm);
  if (effectiveMixPpm !== parameters.effectiveMixPpm) {
    report("record-mix", `parameters.effectiveMixPpm is ${parameters.effectiveMixPpm}; the evidence gives ${effectiveMixPpm}`);
  }
  compareWeights(record, weights, report);
  return { discrepancies, expectedWeights: weights };
}

/** Whether the model publishes a gradient sketch, as far as the source knows (a sketch it holds counts). */
async function namesGradientSketch(source: AttributionDataSource, modelCid: string): Promise<boolean> {
  if (source.namesGradientSketch) return (await source.namesGradientSketch(modelCid)) === true;
  return (await source.gradientSketch(modelCid)) !== undefined;
}

/** Every input the record's gradient evidence names must be the one the sketch was built from. */
function checkProvenance(gradient: RecordGradientEvidence, sketch: GradientSketch, report: (code: string, message: string) => void): boolean {
  const provenance = sketch.provenance;
  if (!provenance) {
    report("gradient-provenance", "the model's gradient sketch names no provenance (checkpoints, projection, base model), so its gradients cannot be recomputed");
    return false;
  }
  const before = { count: 0 };
  const differ = (field: string, given: unknown, expected: unknown): void => {
    if (canonicalJson(given) !== canonicalJson(expected)) {
      before.count++;
      report("gradient-provenance", `evidence.gradient.${field} is ${canonicalJson(given)}; the sketch was built with ${canonicalJson(expected)}`);
    }
  };
  differ("baseModel", gradient.baseModel, provenance.baseModel);
  differ("projection", gradient.projection, provenance.projection);
  differ("sequenceLength", gradient.sequenceLength, provenance.sequenceLength);
  // The parameter set and the similarity decide the output gradients and the influence: absent means every layer, "dot".
  differ("lastLayers", gradient.lastLayers ?? null, provenance.lastLayers ?? null);
  differ("similarity", gradient.similarity ?? null, provenance.similarity ?? null);
  const shared = provenance.sharedText;
  differ("sharedText", gradient.sharedText ?? null, shared !== undefined ? { n: shared.n, minAccounts: shared.minAccounts } : null);
  if (gradient.checkpoints.length !== provenance.checkpoints.length) {
    differ("checkpoints.length", gradient.checkpoints.length, provenance.checkpoints.length);
  } else {
    gradient.checkpoints.forEach((c, i) => {
      differ(`checkpoints[${i}].step`, c.step, provenance.checkpoints[i].step);
      differ(`checkpoints[${i}].learningRate`, c.learningRate, provenance.checkpoints[i].learningRate);
      differ(`checkpoints[${i}].adapter`, c.adapter, provenance.checkpoints[i].digest);
    });
  }
  return before.count === 0;
}

/** The output gradients an honest node computes for this record; undefined (reported) when they cannot be recomputed. */
async function recomputeOutputGradients(
  record: AttributionRecord, gradient: RecordGradientEvidence, sketch: GradientSketch, source: AttributionDataSource, options: VerifyOptions,
  output: Uint32Array | undefined, report: (code: string, message: string) => void,
): Promise<OutputGradientCheckpoint[] | undefined> {
  const prompt = await source.promptTokens(record.requestId);
  if (!output || !prompt) {
    report("gradient-unverifiable", `the gradient evidence cannot be recomputed: the request's ${!output ? "output" : "prompt"} tokens are not published`);
    return undefined;
  }
  if (outputHash(output) !== record.output.hash) return undefined; // already reported as output-hash
  if (outputHash(prompt) !== gradient.prompt.hash || prompt.length !== gradient.prompt.tokenCount) {
    report("prompt-hash", "the published prompt tokens do not match evidence.gradient.prompt");
    return undefined;
  }
  if (!options.gradients) {
    report("gradient-unverifiable", "the gradient evidence cannot be recomputed: the verifier was given no base model and TracIn checkpoints (output-gradient recomputer)");
    return undefined;
  }
  try {
    return await options.gradients.recompute({ provenance: sketch.provenance!, backend: gradient.backend, prompt, output });
  } catch (error) {
    // Any failure (a checkpoint that does not fit the base model, an output longer than the record's
    // window...) means the evidence cannot stand; a missing input means it cannot be checked.
    if (!(error instanceof Error)) throw error;
    report(error instanceof MissingDataError ? "gradient-unverifiable" : "gradient-evidence", `the output gradients cannot be recomputed: ${error.message}`);
    return undefined;
  }
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

