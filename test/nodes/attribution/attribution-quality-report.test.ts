import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createReferenceBackend } from "../../../nodes/src/engine/backend/reference.ts";
import { LlamaModel } from "../../../nodes/src/engine/model/llama.ts";
import { initLlamaWeights } from "../../../nodes/src/engine/model/weights.ts";
import { createLoraAdapter } from "../../../nodes/src/engine/lora/adapter.ts";
import { Trainer } from "../../../nodes/src/engine/train/trainer.ts";
import { decodeTracInCheckpoint } from "../../../nodes/src/engine/train/tracin-checkpoint.ts";
import {
  attributionQualityReport, buildGradientSketch, buildSpanIndex, holdOutAttributionCanaries, InvalidParameterError,
  validateAttributionQuality, ATTRIBUTION_QUALITY_SCHEMA, type CanaryMode, type TaggedTrainingExample,
} from "../../../nodes/src/attribution/index.ts";
import { TINY, TINY_LORA } from "../engine/model/tiny.ts";
import { markovCorpus } from "../engine/train/corpus.ts";

const backend = createReferenceBackend();
const ROOT = `0x${"cd".repeat(32)}` as const;
const BASE_DIGEST = `0x${"ab".repeat(32)}` as const;

/** Four contributions, each in its own Markov "language" (its own successor table), so each has a style of its own. */
function examples(): TaggedTrainingExample[] {
  return [0, 1, 2, 3].map((c) => ({ contributionId: BigInt(10 + c), tokens: markovCorpus(TINY.vocabSize, 1, 48, 100 + c, 20 + c)[0] }));
}

const OPTIONS = { promptTokens: 6, outputTokens: 10, seed: 3 };

async function trainAndReport(mode: CanaryMode) {
  const all = examples();
  const split = holdOutAttributionCanaries(all, { ...OPTIONS, mode });
  const dir = await mkdtemp(join(tmpdir(), "attribution-quality-"));
  try {
    const model = new LlamaModel(TINY, initLlamaWeights(TINY, 1), backend);
    const adapter = createLoraAdapter(TINY, TINY_LORA, { seed: 4, baseModel: "tiny" });
    model.setAdapter(adapter);
    const trainer = new Trainer({
      model, trainSequences: split.training.map((e) => e.tokens), batchSize: 4, sequenceLength: 48, totalSteps: 30,
      learningRate: 3e-2, minLearningRate: 3e-3, seed: 5, tracinSteps: [15, 30], tracinDir: dir,
    });
    for await (const _ of trainer.run());
    const checkpoints = await Promise.all(trainer.tracinCheckpoints.map(async (c) => decodeTracInCheckpoint(await readFile(c.path!), TINY)));
    const sketch = buildGradientSketch(model, checkpoints, split.training, { projection: { dimensions: 64, seed: 11 }, sequenceLength: 48, baseModel: BASE_DIGEST });
    const index = buildSpanIndex(ROOT, split.training);
    // Unrelated prompts: token sequences of a Markov "language" no contribution is written in.
    const unrelatedPrompts = [0, 1, 2].map((u) => markovCorpus(TINY.vocabSize, 1, OPTIONS.promptTokens, 900 + u, 90)[0]);
    const inputs = { model, adapter, checkpoints, sketch, index, split, backend: "reference" as const, unrelatedPrompts };
    const section = attributionQualityReport(inputs);
    assert.equal(model.getAdapter(), adapter, "the model's adapter is put back");
    const withThresholds = (calibratedThresholds: Record<"span" | "gradient" | "combined", number>) => attributionQualityReport({ ...inputs, calibratedThresholds });
    return { all, split, section, withThresholds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("attribution quality report (held-out canaries per contribution)", () => {
  it("cuts a prompt + output window out of each drawn contribution as its canary, keeping the text around it; planted mode keeps it in training", () => {
    const all = examples();
    const heldOut = holdOutAttributionCanaries(all, OPTIONS);
    assert.equal(heldOut.mode, "held-out");
    assert.equal(heldOut.canaries.length, 4);
    for (const canary of heldOut.canaries) {
      const original = [...all.find((e) => e.contributionId === canary.contributionId)!.tokens];
      const window = [...canary.prompt, ...canary.reference];
      assert.equal(canary.prompt.length, 6);
      assert.equal(window.length, 16);
      const pieces = heldOut.training.filter((e) => e.contributionId === canary.contributionId).map((e) => [...e.tokens]);
      // The pieces are the text before and after the window, which is gone from training.
      const start = original.findIndex((_, i) => window.every((t, j) => original[i + j] === t));
      assert.ok(start >= 0);
      assert.deepEqual(pieces.flat(), [...original.slice(0, start), ...original.slice(start + 16)]);
      assert.equal(pieces.flat().length, 32);
    }
    const ids = heldOut.training.map((e) => e.contributionId);
    assert.deepEqual([...new Set(ids)], all.map((e) => e.contributionId), "order and ids kept");
    assert.deepEqual(holdOutAttributionCanaries(all, OPTIONS), heldOut, "deterministic by seed");

    const planted = holdOutAttributionCanaries(all, { ...OPTIONS, mode: "planted", maxCanaries: 2 });
    assert.equal(planted.canaries.length, 2);
    assert.deepEqual(planted.training, all);

    // A contribution too short to give up a canary and keep as much for training is reported, not cut.
    const short = holdOutAttributionCanaries([{ contributionId: 1n, tokens: new Int32Array(20) }, ...all], OPTIONS);
    assert.ok(short.tooShort.includes(1n) || !short.canaries.some((c) => c.contributionId === 1n));
    assert.equal(short.training[0].tokens.length, 20);
    assert.throws(() => holdOutAttributionCanaries(all, { ...OPTIONS, promptTokens: 0 }), InvalidParameterError);
    assert.throws(() => holdOutAttributionCanaries(all, { ...OPTIONS, mode: "other" as CanaryMode }), InvalidParameterError);
  });

  it("planted canaries: the report finds every canary's own contribution by span on the canary text, with chance levels stated", async () => {
    const { section, withThresholds } = await trainAndReport("planted");
    assert.equal(section.schema, ATTRIBUTION_QUALITY_SCHEMA);
    assert.equal(section.mode, "planted");
    assert.equal(section.canaries, 4);
    assert.equal(section.candidates, 4);
    assert.equal(section.chance.top1Accuracy, 0.25);
    assert.ok(Math.abs(section.chance.meanReciprocalRank - (1 + 1 / 2 + 1 / 3 + 1 / 4) / 4) < 1e-12);
    // The canary text is in the index verbatim and nowhere else: span attribution must rank its owner first.
    assert.equal(section.reference.span.top1Accuracy, 1);
    assert.equal(section.reference.span.abstentions, 0);
    assert.equal(section.reference.span.precision, 1);
    for (const source of [section.generated, section.reference]) {
      for (const m of [source.span, source.gradient, source.combined]) {
        assert.ok(m.meanReciprocalRank >= m.top1Accuracy && m.meanReciprocalRank <= 1);
        assert.ok(m.correct <= m.predictions && m.predictions + m.abstentions <= 4);
      }
    }
    assert.ok(section.reference.combined.top1Accuracy >= 0.75);
    // Unrelated answers are attributed and counted; four canaries are too few for a verdict, which says so.
    assert.equal(section.measured, true);
    assert.equal(section.unrelated?.probes, 3);
    for (const m of ["span", "gradient", "combined"] as const) {
      assert.ok(section.unrelated!.crossing[m] + section.unrelated!.abstentions[m] <= 3);
      assert.equal(section.unrelated!.falsePositiveRate[m], section.unrelated!.crossing[m] / 3);
    }
    // Without a calibration the section says it counted against the fixed threshold, reached.
    assert.deepEqual(section.unrelated!.thresholds, { basis: "fixed", span: 0.5, gradient: 0.5, combined: 0.5 });
    assert.equal(section.assessment.verdict, "not-measurable");
    assert.equal(section.assessment.reason, "too-few-probes");
    assert.ok(section.seconds > 0);

    // With the model's calibrated thresholds, each method's unrelated answers are counted against its own threshold,
    // crossed strictly above: at 1 nothing crosses; just above 0 every answer with evidence does (gradient never abstains).
    const strict = withThresholds({ span: 1, gradient: 1, combined: 1 });
    assert.deepEqual(strict.unrelated!.thresholds, { basis: "calibrated", span: 1, gradient: 1, combined: 1 });
    assert.deepEqual(strict.unrelated!.crossing, { span: 0, gradient: 0, combined: 0 });
    const mixed = withThresholds({ span: 1, gradient: 1e-9, combined: 1 });
    assert.deepEqual(mixed.unrelated!.crossing, { span: 0, gradient: 3 - mixed.unrelated!.abstentions.gradient, combined: 0 });
    assert.equal(mixed.unrelated!.abstentions.gradient, 0);
    assert.equal(mixed.unrelated!.falsePositiveRate.gradient, 1);
    assert.equal(mixed.threshold, 0.5, "canary predictions keep the section's threshold");
    validateAttributionQuality(JSON.parse(JSON.stringify(mixed)));
    assert.throws(() => withThresholds({ span: 0, gradient: 0.5, combined: 0.5 }), InvalidParameterError);
    // A report written before calibration (no `thresholds`) still follows the schema; a basis it does not know does not.
    const old = JSON.parse(JSON.stringify(section));
    delete old.unrelated.thresholds;
    validateAttributionQuality(old);
    const unknownBasis = JSON.parse(JSON.stringify(section));
    unknownBasis.unrelated.thresholds.basis = "guessed";
    assert.throws(() => validateAttributionQuality(unknownBasis), /unrelated\.thresholds\.basis/);
    // The section is plain JSON for the evaluation report, and follows its schema.
    assert.deepEqual(JSON.parse(JSON.stringify(section)), section);
    validateAttributionQuality(JSON.parse(JSON.stringify(section)));
    const tampered = JSON.parse(JSON.stringify(section));
    tampered.generated.combined.top1Accuracy = 1.5;
    assert.throws(() => validateAttributionQuality(tampered), /generated\.combined\.top1Accuracy must be <= 1/);
  });

  it("held-out canaries: trained without the canary text, the section says how attribution does on unseen text", async () => {
    const { all, split, section } = await trainAndReport("held-out");
    assert.equal(section.mode, "held-out");
    for (const c of split.canaries) {
      const trained = split.training.filter((e) => e.contributionId === c.contributionId).reduce((n, e) => n + e.tokens.length, 0);
      assert.equal(trained, all.find((e) => e.contributionId === c.contributionId)!.tokens.length - 16);
    }
    assert.equal(section.canaries, 4);
    assert.ok(section.generated.gradient.abstentions === 0, "every output has gradient evidence");
    assert.ok(section.reference.gradient.meanReciprocalRank > 0);
  });
});
