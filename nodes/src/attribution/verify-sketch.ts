/**
 * Rebuilds a published gradient sketch from its public inputs and lists where it differs: the training node that
 * built it decides every contributor's gradient credit through it (a row zeroed, an example relabelled to another
 * contribution, a contributor's distinctive text declared "shared" would each take credit away for the model's
 * whole life), so anyone holding the inputs must be able to check it.
 *
 * Inputs: the base model, the TracIn checkpoints the provenance names (by digest), and the training examples with
 * their contributors (the job's: the Datanet version's accepted contributions, tokenized with the base model's
 * tokenizer, minus what the job held out). The checks:
 *   - the example list: the sketch's contribution ids are the examples', in order;
 *   - shared text: the runs the provenance names are exactly those of the examples (findSharedText; exact);
 *   - the rows: every example's gradient at every checkpoint, recomputed with the provenance's projection, window,
 *     layers and shared text, within `tolerance` (relative L2 error of the row): the sketch may have been built
 *     on another backend or batch size (fused multiply-add, summation order), so rows agree to rounding, not bits;
 *     a forged row is off by far more.
 */
import type { LlamaModel } from "../engine/model/llama.ts";
import type { TracInCheckpoint } from "../engine/train/tracin-checkpoint.ts";
import { buildGradientSketch, type TaggedTrainingExample } from "./build-gradient-sketch.ts";
import { canonicalJson } from "./canonical-json.ts";
import { checkGradientSketch, type GradientSketch } from "./gradient-influence.ts";
import { checkpointMismatches } from "./output-gradients.ts";
import { findSharedText } from "./shared-text.ts";
import type { Discrepancy } from "./verify-record.ts";

export interface SketchVerification {
  discrepancies: Discrepancy[];
  /** Rows (examples × checkpoints) recomputed and compared; 0 when the sketch could not be rebuilt. */
  rowsChecked: number;
  /** The largest relative L2 error of a compared row. */
  maxRelativeError: number;
}

/**
 * The settings the sketch must have been built with (the job's rules: its seed, window, the node's constants, the
 * TracIn steps its epochs give). Without them a training node could pick the projection seed, window, similarity or
 * shared-text rule that favours one account, build the sketch honestly with it, and every row would rebuild.
 * `null` means the field must be absent.
 */
export interface ExpectedSketchSettings {
  projection?: { kind: "dense-rademacher" | "kronecker-rademacher"; seed: number; dims: number };
  sequenceLength?: number;
  similarity?: "dot" | "cosine" | null;
  lastLayers?: number | null;
  sharedText?: { n: number; minAccounts: number } | null;
  checkpointSteps?: readonly number[];
}

/** Default tolerance on a row's relative L2 error: rounding between backends is about 1e-6 here, a forged row ≥ 0.1. */
export const SKETCH_ROW_TOLERANCE = 1e-3;

/**
 * `model` is the base model the provenance names (its digest is the caller's to check, as for output gradients);
 * `checkpoints` the TracIn checkpoints in the provenance's order. Never throws on a bad sketch: every problem is a
 * discrepancy.
 */
export function verifyGradientSketch(
  model: LlamaModel, checkpoints: readonly TracInCheckpoint[], examples: readonly TaggedTrainingExample[], sketch: GradientSketch,
  options: { tolerance?: number; batchSize?: number; expected?: ExpectedSketchSettings } = {},
): SketchVerification {
  const discrepancies: Discrepancy[] = [];
  const report = (code: string, message: string, account?: string): void => {
    discrepancies.push({ code, message, ...(account !== undefined ? { account } : {}) });
  };
  const result = (rowsChecked = 0, maxRelativeError = 0): SketchVerification => ({ discrepancies, rowsChecked, maxRelativeError });
  try {
    checkGradientSketch(sketch);
  } catch (error) {
    report("sketch-malformed", (error as Error).message);
    return result();
  }
  const provenance = sketch.provenance;
  if (!provenance) {
    report("sketch-provenance", "the sketch names no provenance, so it cannot be rebuilt");
    return result();
  }
  const ids = sketch.exampleContributionIds;
  if (ids.length !== examples.length || ids.some((id, e) => id !== examples[e].contributionId)) {
    const first = ids.findIndex((id, e) => id !== examples[e]?.contributionId);
    report("sketch-examples", `the sketch lists ${ids.length} examples; the training set has ${examples.length}` +
      (first >= 0 ? `, and example ${first} is contribution ${ids[first]} in the sketch, ${examples[first]?.contributionId ?? "none"} in the training set` : ""));
    return result();
  }
  for (const mismatch of checkpointMismatches(provenance, checkpoints)) report("sketch-checkpoints", mismatch);
  const expected = options.expected ?? {};
  const settings: [string, unknown, unknown][] = [
    ["projection", expected.projection, provenance.projection],
    ["sequenceLength", expected.sequenceLength, provenance.sequenceLength],
    ["similarity", expected.similarity, provenance.similarity ?? null],
    ["lastLayers", expected.lastLayers, provenance.lastLayers ?? null],
    ["sharedText", expected.sharedText, provenance.sharedText ? { n: provenance.sharedText.n, minAccounts: provenance.sharedText.minAccounts } : null],
    ["checkpoint steps", expected.checkpointSteps, provenance.checkpoints.map((c) => c.step)],
  ];
  for (const [field, want, got] of settings) {
    if (want !== undefined && canonicalJson(want) !== canonicalJson(got)) {
      report("sketch-settings", `the sketch's ${field} is ${canonicalJson(got)}; the job's rules give ${canonicalJson(want)}`);
    }
  }
  if (discrepancies.length > 0) return result();

  const shared = provenance.sharedText;
  if (shared !== undefined) {
    if (examples.some((e) => e.contributor === undefined)) {
      report("sketch-shared-text", "the sketch leaves shared text out, and the training set given names no contributors to check it with");
      return result();
    }
    const expected = findSharedText(examples.map((e) => ({ contributor: e.contributor!, tokens: e.tokens })), { n: shared.n, minAccounts: shared.minAccounts });
    if (canonicalJson(expected.runs) !== canonicalJson(shared.runs)) {
      report("sketch-shared-text", `the sketch's shared text (${shared.runs.length} runs) is not the training set's (${expected.runs.length} runs held by ≥ ${shared.minAccounts} accounts)`);
    }
  }

  let rebuilt: GradientSketch;
  try {
    rebuilt = buildGradientSketch(model, checkpoints, examples, {
    projection: { kind: provenance.projection.kind, seed: provenance.projection.seed, dimensions: provenance.projection.dims },
    sequenceLength: provenance.sequenceLength, baseModel: provenance.baseModel, ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    ...(provenance.lastLayers !== undefined ? { lastLayers: provenance.lastLayers } : {}),
    ...(provenance.similarity !== undefined ? { similarity: provenance.similarity } : {}),
    ...(shared !== undefined ? { sharedText: { n: shared.n, minAccounts: shared.minAccounts } } : {}),
    });
  } catch (error) {
    report("sketch-rebuild", `the sketch cannot be rebuilt from its provenance: ${(error as Error).message}`);
    return result();
  }
  const tolerance = options.tolerance ?? SKETCH_ROW_TOLERANCE;
  const k = sketch.dims;
  let rows = 0;
  let worst = 0;
  rebuilt.checkpoints.forEach((checkpoint, c) => {
    const given = sketch.checkpoints[c].exampleGradients;
    for (let e = 0; e < examples.length; e++) {
      let diff = 0;
      let norm = 0;
      for (let j = e * k; j < (e + 1) * k; j++) {
        const d = given[j] - checkpoint.exampleGradients[j];
        diff += d * d;
        norm += checkpoint.exampleGradients[j] * checkpoint.exampleGradients[j];
      }
      // A row that should be zero (all of the example shared) must be zero; a NaN anywhere is never within tolerance.
      const error = norm > 0 ? Math.sqrt(diff / norm) : diff === 0 ? 0 : Infinity;
      rows++;
      worst = Number.isNaN(error) ? Infinity : Math.max(worst, error);
      if (!(error <= tolerance)) {
        report("sketch-row", `example ${e} (contribution ${examples[e].contributionId}) at checkpoint ${c} (step ${provenance.checkpoints[c].step}): relative error ${error.toPrecision(3)} over the tolerance ${tolerance}`,
          examples[e].contributor);
      }
    }
  });
  return result(rows, worst);
}
