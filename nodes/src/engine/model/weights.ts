import type { Backend } from "../backend/backend.ts";
import type { LlamaConfig } from "./config.ts";
import { Rng } from "../train/rng.ts";

/**
 * A Llama model's weights by their Hugging Face tensor names (LlamaForCausalLM state_dict), each a
 * row-major Float32Array in HF's layout (nn.Linear: [out, in]). Loaded from safetensors by the
 * formats module, or created by `initLlamaWeights` to pretrain a base model from scratch.
 */
export type LlamaWeights = Map<string, Float32Array>;

/** Copies weights into the backend's own memory, so its kernels read them in place on every step. */
export function weightsOnBackend(backend: Pick<Backend, "alloc">, tensors: Iterable<[string, Float32Array]>): LlamaWeights {
  const weights: LlamaWeights = new Map();
  for (const [name, tensor] of tensors) {
    const data = backend.alloc(tensor.length);
    data.set(tensor);
    weights.set(name, data);
  }
  return weights;
}

export const EMBED_TOKENS = "model.embed_tokens.weight";
export const FINAL_NORM = "model.norm.weight";
export const LM_HEAD = "lm_head.weight";

export type LayerWeightName =
  | "input_layernorm" | "post_attention_layernorm"
  | "self_attn.q_proj" | "self_attn.k_proj" | "self_attn.v_proj" | "self_attn.o_proj"
  | "mlp.gate_proj" | "mlp.up_proj" | "mlp.down_proj";

export function layerWeightName(layer: number, name: LayerWeightName): string {
  return `model.layers.${layer}.${name}.weight`;
}

export class WeightShapeError extends Error {
  override name = "WeightShapeError";
  readonly details: { tensor: string; expected: number[]; actualLength: number | null };

  constructor(tensor: string, expected: number[], actualLength: number | null) {
    super(actualLength === null
      ? `Weight "${tensor}" [${expected.join(", ")}] is missing.`
      : `Weight "${tensor}" should be [${expected.join(", ")}] (${expected.reduce((a, b) => a * b, 1)} values) but has ${actualLength} values.`);
    this.details = { tensor, expected, actualLength };
  }
}

/** Every tensor a LlamaForCausalLM has, with its HF shape. lm_head is absent when embeddings are tied. */
export function llamaWeightShapes(config: LlamaConfig): Map<string, number[]> {
  const { vocabSize: V, hiddenSize: C, intermediateSize: F, numHeads: NH, numKvHeads: NKV, headDim: HS } = config;
  const shapes = new Map<string, number[]>();
  shapes.set(EMBED_TOKENS, [V, C]);
  for (let l = 0; l < config.numLayers; l++) {
    shapes.set(layerWeightName(l, "input_layernorm"), [C]);
    shapes.set(layerWeightName(l, "self_attn.q_proj"), [NH * HS, C]);
    shapes.set(layerWeightName(l, "self_attn.k_proj"), [NKV * HS, C]);
    shapes.set(layerWeightName(l, "self_attn.v_proj"), [NKV * HS, C]);
    shapes.set(layerWeightName(l, "self_attn.o_proj"), [C, NH * HS]);
    shapes.set(layerWeightName(l, "post_attention_layernorm"), [C]);
    shapes.set(layerWeightName(l, "mlp.gate_proj"), [F, C]);
    shapes.set(layerWeightName(l, "mlp.up_proj"), [F, C]);
    shapes.set(layerWeightName(l, "mlp.down_proj"), [C, F]);
  }
  shapes.set(FINAL_NORM, [C]);
  if (!config.tieWordEmbeddings) shapes.set(LM_HEAD, [V, C]);
  return shapes;
}

/** Throws a WeightShapeError naming the first tensor that is missing or has the wrong size. */
export function validateLlamaWeights(config: LlamaConfig, weights: LlamaWeights): void {
  for (const [name, shape] of llamaWeightShapes(config)) {
    const tensor = weights.get(name);
    const size = shape.reduce((a, b) => a * b, 1);
    if (!tensor || tensor.length !== size) throw new WeightShapeError(name, shape, tensor ? tensor.length : null);
  }
}

/**
 * Fresh weights for pretraining, as HF's LlamaPreTrainedModel._init_weights does it: every linear
 * and the embedding from normal(0, initializerRange), RMSNorm weights 1. Seeded, so the same seed
 * gives the same model.
 */
export function initLlamaWeights(
  config: LlamaConfig, seed: number, initializerRange = 0.02, alloc: (n: number) => Float32Array = (n) => new Float32Array(n),
): LlamaWeights {
  const rng = new Rng(seed);
  const weights: LlamaWeights = new Map();
  for (const [name, shape] of llamaWeightShapes(config)) {
    const tensor = alloc(shape.reduce((a, b) => a * b, 1));
    if (shape.length === 1) tensor.fill(1);
    else for (let i = 0; i < tensor.length; i++) tensor[i] = rng.normal() * initializerRange;
    weights.set(name, tensor);
  }
  return weights;
}
