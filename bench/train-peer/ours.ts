import type { Backend } from "../../nodes/src/engine/backend/backend.ts";
import { createLoraAdapter } from "../../nodes/src/engine/lora/adapter.ts";
import { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import { initLlamaWeights } from "../../nodes/src/engine/model/weights.ts";
import { Rng } from "../../nodes/src/engine/train/rng.ts";
import { Trainer } from "../../nodes/src/engine/train/trainer.ts";
import { llamaConfigOf, loraConfigOf, type PeerConfig, type RoundResult, type RunSettings } from "./configs.ts";

/**
 * Our side: the engine's Trainer (the same loop a ModelFactory job runs: forward, hand-written
 * backward, global-norm clip at 1, AdamW) fine-tuning a LoRA adapter of a random-weight model.
 * Built once per configuration so later rounds reuse the warm model; each round is a fresh
 * Trainer (fresh optimizer, as the PyTorch side starts fresh each round).
 */
export class OurTrainingSide {
  private readonly config: PeerConfig;
  private readonly model: LlamaModel;
  private round = 0;

  constructor(config: PeerConfig, backend: Backend) {
    const llama = llamaConfigOf(config);
    // Weights and adapter live in the backend's memory so its kernels read them in place.
    const alloc = (n: number) => backend.alloc(n);
    this.config = config;
    this.model = new LlamaModel(llama, initLlamaWeights(llama, 1, 0.02, alloc), backend);
    this.model.setAdapter(createLoraAdapter(llama, loraConfigOf(config), { seed: 2, baseModel: "bench-random", alloc }));
  }

  /** Runs warmup + steps optimizer steps on fresh random tokens and times each of the last `steps`. */
  async train(settings: RunSettings): Promise<RoundResult> {
    const { B, T, V } = this.config;
    const total = settings.warmup + settings.steps;
    const rng = new Rng(1000 + this.round++);
    // One [T+1]-token window per row per step, so no window repeats within the round.
    const sequences = Array.from({ length: B * total }, () => Int32Array.from({ length: T + 1 }, () => rng.nextInt(V)));
    const trainer = new Trainer({
      model: this.model, trainSequences: sequences, batchSize: B, sequenceLength: T,
      totalSteps: total, learningRate: settings.learningRate, weightDecay: 0, seed: this.round,
    });
    const stepSeconds: number[] = [];
    let loss = NaN;
    let stepStarted = performance.now();
    for await (const event of trainer.run()) {
      const now = performance.now();
      if (event.step > settings.warmup) stepSeconds.push((now - stepStarted) / 1000);
      loss = event.loss;
      stepStarted = now;
    }
    return { stepSeconds, loss };
  }
}
