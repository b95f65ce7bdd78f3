/**
 * Fine-tunes a fresh LoRA adapter on the Datanet's examples with the engine's Trainer, saving the
 * adapter at the TracIn checkpoints on the way.
 */
import type { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import { createLoraAdapter, type LoraAdapter } from "../../nodes/src/engine/lora/adapter.ts";
import type { LoraConfig } from "../../nodes/src/engine/model/config.ts";
import { Trainer, type TrainingEvent } from "../../nodes/src/engine/train/trainer.ts";
import { BenchmarkInputError } from "./errors.ts";
import { snapshotAdapter, type AdapterSnapshot } from "./adapter-snapshots.ts";

export interface AdapterTrainingOptions {
  lora: LoraConfig;
  batchSize: number;
  sequenceLength: number;
  steps: number;
  learningRate: number;
  warmupSteps: number;
  /** The cosine schedule's floor; must be above 0 so the last checkpoint has a learning rate to weigh it by. */
  minLearningRate: number;
  /** Steps (1..steps) after which the adapter is saved for TracIn. */
  checkpointSteps: readonly number[];
  seed: number;
  /** Called after every optimizer step (progress output). */
  onStep?: (event: TrainingEvent) => void;
}

export interface TrainedAdapter {
  adapter: LoraAdapter;
  snapshots: AdapterSnapshot[];
  /** Mean training loss of each step. */
  losses: number[];
  seconds: number;
  tokensPerSecond: number;
}

export async function trainAdapter(model: LlamaModel, examples: readonly Int32Array[], options: AdapterTrainingOptions): Promise<TrainedAdapter> {
  const checkpoints = new Set(options.checkpointSteps);
  for (const step of checkpoints) {
    if (!Number.isInteger(step) || step < 1 || step > options.steps) {
      throw new BenchmarkInputError(`Checkpoint step ${step} is not in [1, ${options.steps}].`, { step, steps: options.steps });
    }
  }
  if (!(options.minLearningRate > 0)) {
    throw new BenchmarkInputError(`minLearningRate must be above 0 (TracIn weighs each checkpoint by its learning rate), got ${options.minLearningRate}.`, {
      minLearningRate: options.minLearningRate,
    });
  }
  const adapter = createLoraAdapter(model.config, options.lora, { seed: options.seed, baseModel: "attribution-quality-base", alloc: (n) => model.backend.alloc(n) });
  model.setAdapter(adapter);
  const trainer = new Trainer({
    model, trainSequences: examples, batchSize: options.batchSize, sequenceLength: options.sequenceLength, totalSteps: options.steps,
    learningRate: options.learningRate, warmupSteps: options.warmupSteps, minLearningRate: options.minLearningRate,
    weightDecay: 0, seed: options.seed,
  });
  const snapshots: AdapterSnapshot[] = [];
  const losses: number[] = [];
  let tokensPerSecond = 0;
  const started = performance.now();
  for await (const event of trainer.run()) {
    losses.push(event.loss);
    tokensPerSecond = event.tokensPerSecond;
    if (checkpoints.has(event.step)) snapshots.push(snapshotAdapter(adapter, event.step, event.lr));
    options.onStep?.(event);
  }
  return { adapter, snapshots, losses, seconds: (performance.now() - started) / 1000, tokensPerSecond };
}
