import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import { initLlamaWeights, type LlamaWeights } from "../../../../nodes/src/engine/model/weights.ts";
import { createLoraAdapter, type LoraAdapter } from "../../../../nodes/src/engine/lora/adapter.ts";
import { Trainer, type TrainerOptions, type TrainingEvent } from "../../../../nodes/src/engine/train/trainer.ts";
import { evaluateAdapter } from "../../../../nodes/src/engine/train/evaluate.ts";
import { CheckpointError, TrainingConfigError } from "../../../../nodes/src/engine/train/errors.ts";
import { TINY, TINY_LORA } from "../model/tiny.ts";
import { markovCorpus } from "./corpus.ts";

const backend = createReferenceBackend();
const V = TINY.vocabSize;
// Two toy languages: the base model learns the general one, the adapter specialises on the domain one.
const general = markovCorpus(V, 64, 17, 1, 1);
const domainTrain = markovCorpus(V, 48, 17, 2, 2);
const domainHeldOut = markovCorpus(V, 16, 17, 3, 2);

async function collect(trainer: Trainer): Promise<TrainingEvent[]> {
  const events: TrainingEvent[] = [];
  for await (const event of trainer.run()) events.push(event);
  return events;
}

function copyWeights(weights: LlamaWeights): LlamaWeights {
  return new Map([...weights].map(([name, t]) => [name, Float32Array.from(t)]));
}

function loraRun(base: LlamaWeights, seed: number, overrides: Partial<TrainerOptions> = {}): { trainer: Trainer; adapter: LoraAdapter } {
  const model = new LlamaModel(TINY, base, backend);
  const adapter = createLoraAdapter(TINY, TINY_LORA, { seed, baseModel: "tiny" });
  model.setAdapter(adapter);
  const trainer = new Trainer({
    model, trainSequences: domainTrain, evalSequences: domainHeldOut, batchSize: 4, sequenceLength: 16,
    gradientAccumulation: 2, totalSteps: 6, learningRate: 2e-2, warmupSteps: 2, weightDecay: 0.01, seed, ...overrides,
  });
  return { trainer, adapter };
}

describe("training", () => {
  let pretrained: LlamaWeights;
  let pretrainEvents: TrainingEvent[];

  before(async () => {
    pretrained = initLlamaWeights(TINY, 1);
    const model = new LlamaModel(TINY, pretrained, backend, { trainBase: true });
    pretrainEvents = await collect(new Trainer({
      model, trainSequences: general, batchSize: 8, sequenceLength: 16, totalSteps: 80, learningRate: 1e-2, warmupSteps: 5, seed: 3,
    }));
  });

  it("pretraining every base weight makes the loss fall", () => {
    const first = pretrainEvents[0];
    const last = pretrainEvents.at(-1)!;
    assert.ok(first.loss > Math.log(V) - 0.2, `starts near ln V: ${first.loss}`);
    assert.ok(last.loss < 1.2, `learns the language: ${last.loss}`);
    assert.equal(last.step, 80);
    assert.equal(last.etaSeconds, 0);
    assert.ok(last.tokensPerSecond > 0);
  });

  it("a LoRA adapter brings held-out domain loss well below the base model's", async () => {
    const { trainer, adapter } = loraRun(pretrained, 5, { totalSteps: 60, batchSize: 8, gradientAccumulation: 1, evalEvery: 30 });
    const events = await collect(trainer);
    assert.deepEqual(events.filter((e) => e.evalLoss !== undefined).map((e) => e.step), [30, 60]);
    const report = evaluateAdapter(trainer.options.model, adapter, domainHeldOut, 8, 16, { control: general.slice(0, 16) });
    assert.ok(report.base.loss > 5, `the base does not know the domain: ${report.base.loss}`);
    assert.ok(report.adapter.loss < report.base.loss - 2, `adapter ${report.adapter.loss} vs base ${report.base.loss}`);
    assert.ok(Math.abs(report.adapter.perplexity - Math.exp(report.adapter.loss)) < 1e-9);
    assert.equal(report.adapter.loss, events.at(-1)!.evalLoss);
    // On the general language the base was trained on, the base stays the better model: the report shows the trade.
    const control = report.control!;
    assert.ok(control.base.loss < report.base.loss, `the base knows general text: ${control.base.loss}`);
    assert.equal(control.lossDelta, control.adapter.loss - control.base.loss);
    assert.ok(Math.abs(control.base.perplexity - Math.exp(control.base.loss)) < 1e-9);
  });

  it("the same seed gives the same run, another seed another", async () => {
    const a = (await collect(loraRun(pretrained, 7).trainer)).map((e) => e.loss);
    const b = (await collect(loraRun(pretrained, 7).trainer)).map((e) => e.loss);
    const c = (await collect(loraRun(pretrained, 8).trainer)).map((e) => e.loss);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it("evaluating base vs adapter in the middle of a run does not disturb training", async () => {
    const straight = (await collect(loraRun(pretrained, 10).trainer)).map((e) => e.loss);
    const { trainer, adapter } = loraRun(pretrained, 10);
    const losses: number[] = [];
    for await (const event of trainer.run()) {
      losses.push(event.loss);
      if (event.step === 3) evaluateAdapter(trainer.options.model, adapter, domainHeldOut, 4, 16);
    }
    assert.deepEqual(losses, straight);
  });

  it("resuming from a checkpoint gives exactly the losses of an uninterrupted run", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tributary-train-"));
    try {
      const straight = loraRun(pretrained, 9);
      const uninterrupted = await collect(straight.trainer);

      const first = loraRun(pretrained, 9, { checkpointDir: dir, checkpointEvery: 3 });
      const head: TrainingEvent[] = [];
      for await (const event of first.trainer.run()) {
        head.push(event);
        if (event.step === 4) break; // stop after the step-3 checkpoint; step 4 is lost, as in a crash
      }
      const resumed = loraRun(pretrained, 9);
      await resumed.trainer.resume(dir);
      assert.equal(resumed.trainer.step, 3);
      const tail = await collect(resumed.trainer);
      assert.deepEqual([...head.slice(0, 3), ...tail].map((e) => [e.step, e.loss, e.lr, e.gradNorm]),
        uninterrupted.map((e) => [e.step, e.loss, e.lr, e.gradNorm]));
      assert.deepEqual(resumed.adapter.weights, straight.adapter.weights);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("full-weight pretraining resumes exactly too", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tributary-pretrain-"));
    const run = (weights: LlamaWeights, extra: Partial<TrainerOptions> = {}) => new Trainer({
      model: new LlamaModel(TINY, weights, backend, { trainBase: true }), trainSequences: general, batchSize: 4, sequenceLength: 16,
      totalSteps: 4, learningRate: 1e-2, seed: 4, ...extra,
    });
    try {
      const fresh = initLlamaWeights(TINY, 2);
      const straight = await collect(run(copyWeights(fresh)));
      const partial = run(copyWeights(fresh), { checkpointDir: dir, checkpointEvery: 2 });
      for await (const event of partial.run()) if (event.step === 2) break;
      const resumed = run(copyWeights(fresh));
      await resumed.resume(dir);
      const tail = await collect(resumed);
      assert.deepEqual(tail.map((e) => e.loss), straight.slice(2).map((e) => e.loss));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("bad options and mismatched checkpoints fail clearly", async () => {
    assert.throws(() => loraRun(pretrained, 1, { batchSize: 0 }), TrainingConfigError);
    assert.throws(() => loraRun(pretrained, 1, { sequenceLength: 1000 }), /sequenceLength/);
    assert.throws(() => new Trainer({ model: new LlamaModel(TINY, pretrained, backend), trainSequences: general, batchSize: 1, sequenceLength: 8, totalSteps: 1, learningRate: 1, seed: 1 }),
      /nothing to train/);
    await assert.rejects(loraRun(pretrained, 1).trainer.resume(join(tmpdir(), "no-such-checkpoint-dir")), CheckpointError);
  });
});
