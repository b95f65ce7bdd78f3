import type { LlamaModel } from "../model/llama.ts";
import { AdamW } from "./adamw.ts";
import { clipGradientNorm } from "./clip.ts";
import { loadCheckpoint, saveCheckpoint, type CheckpointTensor } from "./checkpoint.ts";
import { DataOrder, makeBatch, windowSequences } from "./data.ts";
import { TrainingConfigError } from "./errors.ts";
import { evaluateLoss, type LossReport } from "./evaluate.ts";
import { learningRateAt, validateSchedule, type LearningRateSchedule } from "./schedule.ts";
import { contentDigest, decodeTracInCheckpoint, saveTracInCheckpoint, tracinCheckpointFileName, type TracInCheckpointFile } from "./tracin-checkpoint.ts";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export interface TrainerOptions {
  /** The model to train: its attached adapter (LoRA fine-tuning) and/or its base weights (built with trainBase). */
  model: LlamaModel;
  trainSequences: readonly Int32Array[];
  /** Held-out sequences for eval loss; none means no evaluation. */
  evalSequences?: readonly Int32Array[];
  batchSize: number;
  sequenceLength: number;
  /** Micro-batches per optimizer step; the effective batch is batchSize × gradientAccumulation windows. */
  gradientAccumulation?: number;
  totalSteps: number;
  learningRate: number;
  warmupSteps?: number;
  minLearningRate?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Global gradient-norm clip (1.0 by default, HF Trainer's); 0 or Infinity disables it. */
  maxGradNorm?: number;
  /** Evaluate every this many steps (and always after the last); 0 evaluates only after the last. */
  evalEvery?: number;
  /** Seeds the data order. */
  seed: number;
  /** Save a checkpoint here every checkpointEvery steps and after the last. */
  checkpointDir?: string;
  checkpointEvery?: number;
  /**
   * TracIn checkpoints for gradient attribution: after each of these optimizer steps (1..totalSteps)
   * the adapter is written to tracinDir as tracin-step-<step>.safetensors with the step's learning
   * rate (see tracin-checkpoint.ts). Needs an attached adapter and a schedule that stays above 0.
   */
  tracinSteps?: readonly number[];
  tracinDir?: string;
}

/** One optimizer step's progress, what the job runner forwards to the dApp and CLI. */
export interface TrainingEvent {
  step: number;
  totalSteps: number;
  /** Mean training loss over this step's micro-batches. */
  loss: number;
  evalLoss?: number;
  lr: number;
  gradNorm: number;
  epoch: number;
  /** Positions processed per second (B·T·gradientAccumulation per step, padding included), averaged over this run() so far. */
  tokensPerSecond: number;
  etaSeconds: number;
  /** The TracIn checkpoint written after this step, if it was one of tracinSteps. */
  tracinCheckpoint?: TracInCheckpointFile;
}

/**
 * The training loop: seeded data order, gradient accumulation, global-norm clipping, AdamW with
 * warm-up + cosine schedule, periodic held-out evaluation and checkpoints. `run()` is an async
 * iterator of per-step events so a caller can show progress or stop by breaking out of the loop.
 * Everything that decides the numbers (data order, optimizer moments, step) is in the checkpoint,
 * so `resume(dir)` then `run()` produces the same losses as an uninterrupted run.
 * The optimizer holds the model's trainable tensors from construction: attach the adapter (or
 * build the model with trainBase) before creating the Trainer.
 */
export class Trainer {
  readonly options: Readonly<TrainerOptions>;
  private readonly windows: Int32Array[];
  private readonly evalWindows: Int32Array[];
  private readonly order: DataOrder;
  private readonly optimizer: AdamW;
  private readonly schedule: LearningRateSchedule;
  private readonly accumulation: number;
  private currentStep = 0;
  private readonly tracinSteps: ReadonlySet<number>;
  private readonly tracin: TracInCheckpointFile[] = [];

  constructor(options: TrainerOptions) {
    const { batchSize, sequenceLength, totalSteps, model } = options;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new TrainingConfigError("batchSize", batchSize, "must be a positive integer");
    if (!Number.isInteger(sequenceLength) || sequenceLength <= 0 || sequenceLength > model.config.maxPositionEmbeddings) {
      throw new TrainingConfigError("sequenceLength", sequenceLength, `must be an integer in [1, ${model.config.maxPositionEmbeddings}]`);
    }
    this.accumulation = options.gradientAccumulation ?? 1;
    if (!Number.isInteger(this.accumulation) || this.accumulation <= 0) {
      throw new TrainingConfigError("gradientAccumulation", this.accumulation, "must be a positive integer");
    }
    this.schedule = { peak: options.learningRate, warmupSteps: options.warmupSteps ?? 0, totalSteps, min: options.minLearningRate };
    validateSchedule(this.schedule);
    const params = model.trainableParameters();
    if (params.length === 0) throw new TrainingConfigError("model", "no adapter, no trainBase", "has nothing to train: attach an adapter or build it with trainBase");
    this.options = options;
    this.windows = windowSequences(options.trainSequences, sequenceLength);
    if (this.windows.length === 0) throw new TrainingConfigError("trainSequences", options.trainSequences.length, "hold no sequence of 2 or more tokens");
    this.evalWindows = windowSequences(options.evalSequences ?? [], sequenceLength);
    this.order = new DataOrder(this.windows.length, options.seed);
    this.tracinSteps = new Set(options.tracinSteps ?? []);
    for (const step of this.tracinSteps) {
      if (!Number.isInteger(step) || step < 1 || step > totalSteps) throw new TrainingConfigError("tracinSteps", step, `must be integers in [1, ${totalSteps}]`);
      // TracIn weighs a checkpoint by its step's learning rate: a zero one (the cosine's end with no floor) would erase it.
      if (!(learningRateAt(step - 1, this.schedule) > 0)) {
        throw new TrainingConfigError("tracinSteps", step, "has learning rate 0 there (TracIn weighs the checkpoint by it): set minLearningRate above 0");
      }
    }
    if (this.tracinSteps.size > 0) {
      if (!options.tracinDir) throw new TrainingConfigError("tracinDir", options.tracinDir, "is needed to save tracinSteps");
      if (!model.getAdapter()) throw new TrainingConfigError("tracinSteps", options.tracinSteps, "need an attached LoRA adapter (TracIn checkpoints are adapter snapshots)");
    }
    this.optimizer = new AdamW(params, {
      beta1: options.beta1, beta2: options.beta2, eps: options.eps, weightDecay: options.weightDecay,
    });
  }

  get step(): number {
    return this.currentStep;
  }

  /** The TracIn checkpoints written so far (resumed runs included), by step. */
  get tracinCheckpoints(): readonly TracInCheckpointFile[] {
    return this.tracin;
  }

  /** Held-out loss of the model as it is now; null without evaluation data. */
  evaluate(): LossReport | null {
    if (this.evalWindows.length === 0) return null;
    return evaluateLoss(this.options.model, this.evalWindows, this.options.batchSize, this.options.sequenceLength);
  }

  /** Runs from the current step to totalSteps, yielding an event after each optimizer step. */
  async *run(): AsyncGenerator<TrainingEvent> {
    const { model, batchSize: B, sequenceLength: T, totalSteps } = this.options;
    const started = performance.now();
    const firstStep = this.currentStep;
    while (this.currentStep < totalSteps) {
      const loss = this.accumulateGradients();
      const gradNorm = clipGradientNorm(model.trainableParameters().map((p) => p.grad), this.options.maxGradNorm ?? 1);
      const lr = learningRateAt(this.currentStep, this.schedule);
      this.optimizer.step(lr);
      this.currentStep++;

      const done = this.currentStep === totalSteps;
      const evalEvery = this.options.evalEvery ?? 0;
      const evalLoss = done || (evalEvery > 0 && this.currentStep % evalEvery === 0) ? this.evaluate()?.loss : undefined;
      const checkpointEvery = this.options.checkpointEvery ?? 0;
      if (this.options.checkpointDir && (done || (checkpointEvery > 0 && this.currentStep % checkpointEvery === 0))) {
        await this.saveCheckpoint(this.options.checkpointDir);
      }
      let tracinCheckpoint: TracInCheckpointFile | undefined;
      if (this.tracinSteps.has(this.currentStep)) {
        // The learning rate of the step that led here: TracIn-CP weighs this checkpoint by it.
        tracinCheckpoint = await saveTracInCheckpoint(this.options.tracinDir!, model.getAdapter()!, model.config, this.currentStep, lr);
        this.tracin.push(tracinCheckpoint);
      }
      const secondsPerStep = (performance.now() - started) / 1000 / (this.currentStep - firstStep);
      const event: TrainingEvent = {
        step: this.currentStep, totalSteps, loss, lr, gradNorm, epoch: this.order.currentEpoch,
        tokensPerSecond: (B * T * this.accumulation) / secondsPerStep,
        etaSeconds: secondsPerStep * (totalSteps - this.currentStep),
      };
      if (evalLoss !== undefined) event.evalLoss = evalLoss;
      if (tracinCheckpoint) event.tracinCheckpoint = tracinCheckpoint;
      yield event;
      // Let timers and I/O (progress reporting, cancellation) in between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async saveCheckpoint(dir: string): Promise<void> {
    await saveCheckpoint(dir, { step: this.currentStep, optimizerStep: this.optimizer.stepCount, dataOrder: this.order.state() }, this.checkpointTensors());
  }

  /** Restores parameters, optimizer moments, step and data order saved by saveCheckpoint. */
  async resume(dir: string): Promise<void> {
    const tensors = this.checkpointTensors();
    const state = await loadCheckpoint(dir, tensors);
    this.optimizer.loadState({ step: state.optimizerStep, moments: tensors.map(({ name, m, v }) => ({ name, m, v })) });
    this.order.loadState(state.dataOrder);
    this.currentStep = state.step;
    // TracIn checkpoints of the steps already run were written before the interruption.
    this.tracin.length = 0;
    for (const step of [...this.tracinSteps].filter((s) => s <= state.step).sort((a, b) => a - b)) {
      const path = join(this.options.tracinDir!, tracinCheckpointFileName(step));
      const bytes = await readFile(path);
      const { learningRate } = decodeTracInCheckpoint(bytes, this.options.model.config);
      this.tracin.push({ step, learningRate, digest: contentDigest(bytes), path });
    }
  }

  /** Zeroes the gradients, then runs the step's micro-batches; returns their mean loss. */
  private accumulateGradients(): number {
    const { model, batchSize: B, sequenceLength: T } = this.options;
    model.zeroGradients();
    let lossSum = 0;
    for (let micro = 0; micro < this.accumulation; micro++) {
      const batch = makeBatch(this.order.next(B).map((i) => this.windows[i]), B, T);
      const { loss } = model.forward(batch.tokens, B, T, batch.targets);
      model.backward(1 / this.accumulation);
      lossSum += loss ?? 0;
    }
    return lossSum / this.accumulation;
  }

  /** Parameters with their optimizer moments (the optimizer's own buffers, so loading fills them in place). */
  private checkpointTensors(): CheckpointTensor[] {
    const moments = this.optimizer.state().moments;
    return this.options.model.trainableParameters().map((p, i) => ({ name: p.name, data: p.data, m: moments[i].m, v: moments[i].v }));
  }
}
