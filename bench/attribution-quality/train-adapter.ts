/**
 * Fine-tunes a fresh LoRA adapter on the Datanet's examples with the engine's Trainer, which writes
 * the TracIn checkpoints (tracin-checkpoint.ts) on the way, as a node's training job does.
 */
import { readFile } from "node:fs/promises";
import type { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import { createLoraAdapter, type LoraAdapter } from "../../nodes/src/engine/lora/adapter.ts";
import type { LoraConfig } from "../../nodes/src/engine/model/config.ts";
import { Trainer, type TrainingEvent } from "../../nodes/src/engine/train/trainer.ts";
import { decodeTracInCheckpoint, type TracInCheckpoint } from "../../nodes/src/engine/train/tracin-checkpoint.ts";
import { BenchmarkInputError } from "./errors.ts";

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
  /** Where the TracIn checkpoint files go. */
  checkpointDir: string;
  seed: number;
  /** Called after every optimizer step (progress output). */
  onStep?: (event: TrainingEvent) => void;
}

export interface TrainedAdapter {
  adapter: LoraAdapter;
  /** The TracIn checkpoints, read back from their files. */
  checkpoints: TracInCheckpoint[];
  /** Mean training loss of each step. */
  losses: number[];
  seconds: number;
  tokensPerSecond: number;
}

export async function trainAdapter(model: LlamaModel, examples: readonly Int32Array[], options: AdapterTrainingOptions): Promise<TrainedAdapter> {
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
    weightDecay: 0, seed: options.seed, tracinSteps: options.checkpointSteps, tracinDir: options.checkpointDir,
  });
  const losses: number[] = [];
  let tokensPerSecond = 0;
  const started = performance.now();
  for await (const event of trainer.run()) {
    losses.push(event.loss);
    tokensPerSecond = event.tokensPerSecond;
    options.onStep?.(event);
  }
  const seconds = (performance.now() - started) / 1000;
  const checkpoints = await Promise.all(trainer.tracinCheckpoints.map(async (c) => decodeTracInCheckpoint(await readFile(c.path!), model.config)));
  return { adapter, checkpoints, losses, seconds, tokensPerSecond };
}
