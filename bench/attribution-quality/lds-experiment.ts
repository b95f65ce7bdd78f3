/**
 * The LDS experiment: retrain the adapter from scratch on random halves of the contributors (same
 * recipe, same epochs, same seed), measure every output's loss under each, and correlate with what
 * each method's attribution (from the full model) predicts. Contributors, not contributions, are
 * the unit: attribution pays accounts, and a near-duplicate's two copies belong to two of them.
 */
import type { Address } from "viem";
import type { Backend } from "../../nodes/src/engine/backend/backend.ts";
import { createLoraAdapter } from "../../nodes/src/engine/lora/adapter.ts";
import { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import { Trainer } from "../../nodes/src/engine/train/trainer.ts";
import { windowSequences } from "../../nodes/src/engine/train/data.ts";
import { METHODS, type Method } from "./attribute-output.ts";
import type { BaseModel } from "./base-model.ts";
import { bootstrapMeanInterval, linearDatamodelingScore, randomHalves, type ConfidenceInterval, type LinearDatamodelingScore } from "./lds.ts";
import { outputLoss } from "./output-loss.ts";
import { loraConfig, type AttributedOutput, type RegimeOptions } from "./regime.ts";
import type { TemplatedDatanet } from "./templated-datanet.ts";

export interface LdsOptions {
  subsets: number;
  /** Epochs each subset's adapter trains for (the full regime's epochs). */
  epochs: number;
  seed: number;
}


export interface LdsResult {
  subsets: number;
  stepsPerSubset: number;
  outputs: number;
  byMethod: Record<Method, LinearDatamodelingScore & { interval: ConfidenceInterval }>;
  /** Spread of the actual loss reductions across subsets (mean over outputs of their standard deviation): the signal LDS has to find. */
  actualSpread: number;
  seconds: number;
}

/** Each output's loss reduction (base − adapter) under adapters retrained on random halves of the contributors. */
export interface SubsetLossReductions {
  contributors: Address[];
  /** Indices into contributors, per subset. */
  subsets: number[][];
  /** actual[z][j]: output z's loss reduction under the adapter trained on subsets[j]. */
  actual: number[][];
  stepsPerSubset: number;
}

/** What the retrainings need of a Datanet: its accounts and which tokens each contribution of theirs holds. */
export type SubsetDatanet = Pick<TemplatedDatanet, "contributors"> & { contributions: readonly { contributor: Address; tokens: Int32Array }[] };

export async function subsetLossReductions(
  backend: Backend, base: BaseModel, datanet: SubsetDatanet, outputs: readonly { prompt: Int32Array; tokens: Int32Array }[], regime: RegimeOptions, o: LdsOptions,
): Promise<SubsetLossReductions> {
  const T = regime.sequenceLength;
  const contributors: Address[] = datanet.contributors;
  const subsets = randomHalves(contributors.length, o.subsets, o.seed);
  const model = new LlamaModel(base.config, base.weights, backend);
  model.setAdapter(null);
  const baseLoss = outputs.map((x) => outputLoss(model, x.prompt, x.tokens, T));
  const actual: number[][] = outputs.map(() => []);
  let stepsPerSubset = 0;
  for (const [j, subset] of subsets.entries()) {
    const chosen = new Set(subset.map((i) => contributors[i]));
    const sequences = datanet.contributions.filter((c) => chosen.has(c.contributor)).map((c) => c.tokens);
    const steps = Math.max(1, Math.round((o.epochs * windowSequences(sequences, T).length) / regime.batchSize));
    stepsPerSubset = steps;
    model.setAdapter(createLoraAdapter(model.config, loraConfig(regime.rank), { seed: regime.seed, baseModel: "attribution-quality-base", alloc: (n) => backend.alloc(n) }));
    const trainer = new Trainer({
      model, trainSequences: sequences, batchSize: regime.batchSize, sequenceLength: T, totalSteps: steps, learningRate: regime.learningRate,
      warmupSteps: Math.max(1, Math.round(steps / 20)), minLearningRate: regime.learningRate / 10, weightDecay: 0, seed: regime.seed,
    });
    for await (const _ of trainer.run());
    outputs.forEach((x, z) => actual[z].push(baseLoss[z] - outputLoss(model, x.prompt, x.tokens, T)));
    regime.log(`LDS subset ${j + 1}/${subsets.length}: ${sequences.length} contributions, ${steps} steps`);
  }
  model.setAdapter(null);
  return { contributors, subsets, actual, stepsPerSubset };
}

export async function runLds(backend: Backend, base: BaseModel, datanet: TemplatedDatanet, outputs: readonly AttributedOutput[], regime: RegimeOptions, o: LdsOptions): Promise<LdsResult> {
  const started = performance.now();
  const { contributors, subsets, actual, stepsPerSubset } = await subsetLossReductions(backend, base, datanet, outputs, regime, o);
  const byMethod = Object.fromEntries(METHODS.map((m) => {
    const attributions = outputs.map((x) => contributors.map((c) => x.shares[m].get(c) ?? 0));
    const score = linearDatamodelingScore(attributions, subsets, actual);
    return [m, { ...score, interval: bootstrapMeanInterval(score.perOutput.map((r) => r ?? 0), { seed: o.seed }) }];
  })) as LdsResult["byMethod"];
  const sd = (xs: number[]) => {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    return Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  };
  return {
    subsets: subsets.length, stepsPerSubset, outputs: outputs.length, byMethod,
    actualSpread: actual.reduce((a, xs) => a + sd(xs), 0) / actual.length, seconds: (performance.now() - started) / 1000,
  };
}
