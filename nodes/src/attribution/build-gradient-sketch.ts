/**
 * Builds an adapter's gradient sketch inside the training job: at each TracIn checkpoint the
 * trainer saved, every training example's projected LoRA gradient (TracIn-CP's training side). The
 * sketch names everything it was computed from (projection, window length, base model and checkpoint
 * digests), so an output's gradient can later be recomputed at the same parameters by anyone.
 */
import type { LlamaModel } from "../engine/model/llama.ts";
import { firstGradientLayer, projectedExampleGradients, type GradientProjection } from "../engine/train/projected-gradients.ts";
import { batchedProjectedExampleGradients } from "../engine/train/batched-example-gradients.ts";
import type { TracInCheckpoint } from "../engine/train/tracin-checkpoint.ts";
import type { Address } from "viem";
import { InvalidGradientSketchError } from "./errors.ts";
import { findSharedText, SharedTextMask, type SharedTextOptions, type SharedTextProvenance } from "./shared-text.ts";
import { GRADIENT_SIMILARITIES, type GradientSimilarity, type GradientSketch } from "./gradient-influence.ts";

/** One training example: the tokens the adapter was trained on, and the contribution they came from. */
export interface TaggedTrainingExample {
  contributionId: bigint;
  tokens: Int32Array;
  /** The account that contributed it (the Datanet manifest's): what shared text is counted by. */
  contributor?: Address;
}

export interface GradientSketchOptions {
  /** The projection; kind defaults to "kronecker-rademacher" here (the structured, cheap one). */
  projection: GradientProjection;
  /** T, the trainer's sequenceLength: examples are cut into the same windows as in training. */
  sequenceLength: number;
  /** sha2-256 (0x-hex) of the base model's weights file. */
  baseModel: `0x${string}`;
  /**
   * Windows per forward/backward pass (kronecker-rademacher only; default 8): per-example gradients
   * are split out of batched passes (batched-example-gradients.ts), so the sketch costs about what
   * training does. The dense projection runs one example at a time.
   */
  batchSize?: number;
  /**
   * K: gradients over the LoRA factors of the last K layers only, the backward stopping there (default: every layer).
   * Recorded in the provenance, so output gradients are taken over the same parameters.
   */
  lastLayers?: number;
  /** How outputs will be compared with the examples (recorded in the provenance); default "dot" (TracIn's). */
  similarity?: GradientSimilarity;
  /**
   * Leave text that contributions of several accounts share out of every gradient's loss (shared-text.ts): n-grams
   * of n tokens (default 8) held by at least minAccounts accounts (default 2). Needs every example's contributor.
   * Recorded in the provenance with the shared runs, so output gradients leave out the same text.
   */
  sharedText?: SharedTextOptions;
  /** Called after each example of each checkpoint: (done, total) over checkpoints × examples. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The model must be the base model the checkpoints were trained on; its attached adapter (if any)
 * is put back afterwards. Each checkpoint's adapter is attached in turn.
 */
export function buildGradientSketch(
  model: LlamaModel, checkpoints: readonly TracInCheckpoint[], examples: readonly TaggedTrainingExample[], options: GradientSketchOptions,
): GradientSketch {
  if (checkpoints.length === 0) throw new InvalidGradientSketchError("A gradient sketch needs at least one TracIn checkpoint.", {});
  if (examples.length === 0) throw new InvalidGradientSketchError("A gradient sketch needs at least one training example.", {});
  if (!/^0x[0-9a-f]{64}$/.test(options.baseModel)) {
    throw new InvalidGradientSketchError(`baseModel must be a sha2-256 digest (0x + 64 lower-case hex), got ${options.baseModel}.`, { baseModel: options.baseModel });
  }
  const projection: GradientProjection = { ...options.projection, kind: options.projection.kind ?? "kronecker-rademacher" };
  const layers = options.lastLayers !== undefined ? { lastLayers: options.lastLayers } : {};
  firstGradientLayer(model.config.numLayers, layers); // validates K before any work
  if (options.similarity !== undefined && !GRADIENT_SIMILARITIES.includes(options.similarity)) {
    throw new InvalidGradientSketchError(`similarity must be one of ${GRADIENT_SIMILARITIES.join(", ")}, got ${String(options.similarity)}.`, { similarity: options.similarity });
  }
  let shared: SharedTextProvenance | undefined;
  let unscored: (Uint8Array | undefined)[] = [];
  if (options.sharedText !== undefined) {
    const missing = examples.findIndex((e) => e.contributor === undefined);
    if (missing >= 0) throw new InvalidGradientSketchError(`sharedText needs every example's contributor; example ${missing} (contribution ${examples[missing].contributionId}) has none.`, { example: missing });
    shared = findSharedText(examples.map((e) => ({ contributor: e.contributor!, tokens: e.tokens })), options.sharedText);
    const mask = new SharedTextMask(shared);
    unscored = examples.map((e) => mask.unscored(e.tokens));
  }
  const k = projection.dimensions;
  const previous = model.getAdapter();
  const tokens = examples.map((e) => e.tokens);
  const total = checkpoints.length * examples.length;
  let done = 0;
  try {
    const sketchCheckpoints = checkpoints.map((checkpoint) => {
      model.setAdapter(checkpoint.adapter);
      const exampleGradients = new Float32Array(examples.length * k);
      const batchSize = options.batchSize ?? 8;
      if (projection.kind === "kronecker-rademacher") {
        for (let start = 0; start < tokens.length; start += batchSize) {
          const chunk = tokens.slice(start, start + batchSize);
          const rows = batchedProjectedExampleGradients(model, chunk, options.sequenceLength, projection, batchSize, layers, unscored.slice(start, start + batchSize));
          rows.forEach((row, i) => exampleGradients.set(row, (start + i) * k));
          done += chunk.length;
          options.onProgress?.(done, total);
        }
      } else {
        tokens.forEach((example, e) => {
          const [row] = projectedExampleGradients(model, [example], options.sequenceLength, projection, layers, [unscored[e]]);
          exampleGradients.set(row, e * k);
          options.onProgress?.(++done, total);
        });
      }
      return { learningRate: checkpoint.learningRate, exampleGradients };
    });
    return {
      dims: k,
      exampleContributionIds: examples.map((e) => e.contributionId),
      checkpoints: sketchCheckpoints,
      provenance: {
        projection: { kind: projection.kind!, seed: projection.seed, dims: k },
        ...(options.lastLayers !== undefined ? { lastLayers: options.lastLayers } : {}),
        ...(options.similarity !== undefined ? { similarity: options.similarity } : {}),
        ...(shared !== undefined ? { sharedText: shared } : {}),
        sequenceLength: options.sequenceLength,
        baseModel: options.baseModel,
        checkpoints: checkpoints.map((c) => ({ step: c.step, learningRate: c.learningRate, digest: c.digest })),
      },
    };
  } finally {
    model.setAdapter(previous);
  }
}
