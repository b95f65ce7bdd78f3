import type { LlamaConfig, LoraConfig, LoraTarget } from "../model/config.ts";
import { LORA_TARGETS } from "../model/config.ts";
import type { LoraFactors } from "../ops/lora-linear.ts";
import { Rng } from "../train/rng.ts";

/**
 * A LoRA adapter in memory: one pair of factors per (layer, target projection), keyed
 * `${layer}.${target}` (e.g. "3.q_proj"), the same structure the PEFT file reader/writer uses.
 * A is [r, in], B [out, r], exactly PEFT's lora_A / lora_B weights.
 */
export interface LoraAdapter {
  config: LoraConfig;
  /** The base model this adapter was trained on (a name or a content id). */
  baseModel: string;
  weights: Map<string, LoraFactors>;
}

export class InvalidLoraConfigError extends Error {
  override name = "InvalidLoraConfigError";
  readonly details: { field: string; value: unknown };

  constructor(field: string, value: unknown, reason: string) {
    super(`Invalid LoRA config ${field}=${JSON.stringify(value)}: ${reason}`);
    this.details = { field, value };
  }
}

export function loraKey(layer: number, target: LoraTarget): string {
  return `${layer}.${target}`;
}

/** PEFT's scaling of the low-rank path (use_rslora off): alpha / r. */
export function loraScale(config: LoraConfig): number {
  return config.alpha / config.rank;
}

/** [in, out] of the projection a target adapts, from the model's shapes. */
export function loraTargetDims(model: LlamaConfig, target: LoraTarget): { IN: number; OUT: number } {
  const C = model.hiddenSize;
  const qDim = model.numHeads * model.headDim;
  const kvDim = model.numKvHeads * model.headDim;
  const F = model.intermediateSize;
  switch (target) {
    case "q_proj": return { IN: C, OUT: qDim };
    case "k_proj": return { IN: C, OUT: kvDim };
    case "v_proj": return { IN: C, OUT: kvDim };
    case "o_proj": return { IN: qDim, OUT: C };
    case "gate_proj": return { IN: C, OUT: F };
    case "up_proj": return { IN: C, OUT: F };
    case "down_proj": return { IN: F, OUT: C };
  }
}

export function validateLoraConfig(config: LoraConfig): void {
  if (!Number.isInteger(config.rank) || config.rank <= 0) throw new InvalidLoraConfigError("rank", config.rank, "must be a positive integer");
  if (!Number.isFinite(config.alpha) || config.alpha <= 0) throw new InvalidLoraConfigError("alpha", config.alpha, "must be a positive number");
  if (config.targetModules.length === 0) throw new InvalidLoraConfigError("targetModules", config.targetModules, "must name at least one projection");
  for (const target of config.targetModules) {
    if (!LORA_TARGETS.includes(target)) throw new InvalidLoraConfigError("targetModules", target, `is not one of ${LORA_TARGETS.join(", ")}`);
  }
}

/**
 * A fresh adapter with PEFT's default init: A from kaiming_uniform_(a=√5), which for a [r, in]
 * matrix is uniform(−1/√in, 1/√in); B zeros, so the adapted model starts exactly at the base model.
 * Factors are drawn layer by layer in the config's target order from one seeded stream.
 */
export function createLoraAdapter(
  model: LlamaConfig, config: LoraConfig, options: { seed: number; baseModel: string; alloc?: (n: number) => Float32Array },
): LoraAdapter {
  validateLoraConfig(config);
  const alloc = options.alloc ?? ((n: number) => new Float32Array(n));
  const rng = new Rng(options.seed);
  const weights = new Map<string, LoraFactors>();
  for (let layer = 0; layer < model.numLayers; layer++) {
    for (const target of config.targetModules) {
      const { IN, OUT } = loraTargetDims(model, target);
      const A = alloc(config.rank * IN);
      const bound = 1 / Math.sqrt(IN);
      for (let i = 0; i < A.length; i++) A[i] = rng.uniform(-bound, bound);
      weights.set(loraKey(layer, target), { A, B: alloc(OUT * config.rank) });
    }
  }
  return { config: { ...config, targetModules: [...config.targetModules] }, baseModel: options.baseModel, weights };
}

/** The same adapter with its factors copied into buffers from `alloc` (a backend's memory, where its kernels read them in place). */
export function copyLoraAdapter(adapter: LoraAdapter, alloc: (n: number) => Float32Array): LoraAdapter {
  const weights = new Map<string, LoraFactors>();
  for (const [key, { A, B }] of adapter.weights) {
    const a = alloc(A.length);
    a.set(A);
    const b = alloc(B.length);
    b.set(B);
    weights.set(key, { A: a, B: b });
  }
  return { config: { ...adapter.config, targetModules: [...adapter.config.targetModules] }, baseModel: adapter.baseModel, weights };
}

/** Gives an adapter's factors back to the allocator that made them (a backend's `free`), once nothing uses the adapter. */
export function freeLoraAdapter(adapter: LoraAdapter, free: (buffer: Float32Array) => void): void {
  for (const { A, B } of adapter.weights.values()) {
    free(A);
    free(B);
  }
  adapter.weights.clear();
}

/** Zeroed gradient buffers shaped like the adapter's factors. */
export function createLoraGradients(
  adapter: LoraAdapter, alloc: (n: number) => Float32Array = (n) => new Float32Array(n),
): Map<string, LoraFactors> {
  const grads = new Map<string, LoraFactors>();
  for (const [key, { A, B }] of adapter.weights) grads.set(key, { A: alloc(A.length), B: alloc(B.length) });
  return grads;
}

/** Every factor of the adapter (A then B, in key order) as named tensors, for optimizers and projections. */
export function loraParameters(factors: Map<string, LoraFactors>): { name: string; data: Float32Array }[] {
  const out: { name: string; data: Float32Array }[] = [];
  for (const [key, { A, B }] of factors) {
    out.push({ name: `${key}.lora_A`, data: A });
    out.push({ name: `${key}.lora_B`, data: B });
  }
  return out;
}

/**
 * Checks that an adapter (for example one read from a PEFT file) fits a model's shapes. A
 * (layer, target) without factors is simply not adapted (PEFT's layers_to_transform); every key
 * present must name a layer of the model and a target of the config, with the right sizes.
 */
export function validateLoraAdapter(model: LlamaConfig, adapter: LoraAdapter): void {
  validateLoraConfig(adapter.config);
  const r = adapter.config.rank;
  for (const [key, factors] of adapter.weights) {
    const [layerText, target] = key.split(".") as [string, LoraTarget];
    const layer = Number(layerText);
    if (!Number.isInteger(layer) || layer < 0 || layer >= model.numLayers || !adapter.config.targetModules.includes(target) || key !== loraKey(layer, target)) {
      throw new InvalidLoraConfigError("weights", key, `is not "<layer < ${model.numLayers}>.<one of ${adapter.config.targetModules.join(", ")}>"`);
    }
    const { IN, OUT } = loraTargetDims(model, target);
    if (factors.A.length !== r * IN) throw new InvalidLoraConfigError(`${key}.lora_A`, factors.A.length, `must hold ${r}×${IN} values`);
    if (factors.B.length !== OUT * r) throw new InvalidLoraConfigError(`${key}.lora_B`, factors.B.length, `must hold ${OUT}×${r} values`);
  }
}
