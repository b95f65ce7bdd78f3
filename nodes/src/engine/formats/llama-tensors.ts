/**
 * The tensors a Hugging Face LlamaForCausalLM checkpoint holds, by name, with the shape the config implies
 * (PyTorch Linear weights are [out, in]). Shapes use C = hiddenSize, V = vocabSize, F = intermediateSize,
 * NH/NKV heads of HS = headDim.
 */
import type { LlamaConfig, LoraTarget } from "../model/config.ts";
import { TensorMismatchError } from "./errors.ts";

/** Where each LoRA-targetable projection lives inside a decoder layer. */
export const PROJECTION_MODULE: Readonly<Record<LoraTarget, "self_attn" | "mlp">> = {
  q_proj: "self_attn", k_proj: "self_attn", v_proj: "self_attn", o_proj: "self_attn",
  gate_proj: "mlp", up_proj: "mlp", down_proj: "mlp",
};

/** [out, in] of each projection. */
export function projectionShape(config: LlamaConfig, target: LoraTarget): [number, number] {
  const C = config.hiddenSize;
  const F = config.intermediateSize;
  const attention = config.numHeads * config.headDim;
  const kv = config.numKvHeads * config.headDim;
  switch (target) {
    case "q_proj": return [attention, C];
    case "k_proj": return [kv, C];
    case "v_proj": return [kv, C];
    case "o_proj": return [C, attention];
    case "gate_proj": return [F, C];
    case "up_proj": return [F, C];
    case "down_proj": return [C, F];
  }
}

/** `model.layers.{layer}.{self_attn|mlp}.{target}` - the module path PEFT adapters also use. */
export function projectionPath(layer: number, target: LoraTarget): string {
  return `model.layers.${layer}.${PROJECTION_MODULE[target]}.${target}`;
}

/** Every tensor name the checkpoint must hold, with its shape; lm_head.weight only when embeddings are untied. */
export function expectedLlamaTensors(config: LlamaConfig): Map<string, number[]> {
  const C = config.hiddenSize;
  const expected = new Map<string, number[]>([["model.embed_tokens.weight", [config.vocabSize, C]]]);
  for (let layer = 0; layer < config.numLayers; layer++) {
    expected.set(`model.layers.${layer}.input_layernorm.weight`, [C]);
    expected.set(`model.layers.${layer}.post_attention_layernorm.weight`, [C]);
    for (const target of Object.keys(PROJECTION_MODULE) as LoraTarget[]) {
      expected.set(`${projectionPath(layer, target)}.weight`, projectionShape(config, target));
    }
  }
  expected.set("model.norm.weight", [C]);
  if (!config.tieWordEmbeddings) expected.set("lm_head.weight", [config.vocabSize, C]);
  return expected;
}

/** Tensors old checkpoints carry that the model recomputes; dropped on load instead of refused. */
const DERIVED_TENSOR = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

/**
 * Checks that `shapes` holds every expected tensor with its exact shape and nothing the engine would ignore
 * (a bias, say, would silently change the model). A tied checkpoint may still carry lm_head.weight.
 * Returns the names to drop (derived buffers).
 */
export function checkLlamaTensors(config: LlamaConfig, shapes: ReadonlyMap<string, readonly number[]>): string[] {
  const expected = expectedLlamaTensors(config);
  for (const [name, shape] of expected) {
    const actual = shapes.get(name);
    if (actual === undefined) throw new TensorMismatchError(name, "is missing from the checkpoint", { expectedShape: shape });
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      throw new TensorMismatchError(name, `has shape [${actual.join(", ")}] but the config implies [${shape.join(", ")}]`, { shape: actual, expectedShape: shape });
    }
  }
  const dropped: string[] = [];
  for (const [name, shape] of shapes) {
    if (expected.has(name)) continue;
    if (DERIVED_TENSOR.test(name)) {
      dropped.push(name);
    } else if (name === "lm_head.weight" && config.tieWordEmbeddings) {
      if (shape.length !== 2 || shape[0] !== config.vocabSize || shape[1] !== config.hiddenSize) {
        throw new TensorMismatchError(name, `has shape [${shape.join(", ")}] but the config implies [${config.vocabSize}, ${config.hiddenSize}]`, { shape });
      }
    } else {
      throw new TensorMismatchError(name, "is not part of a Llama checkpoint (unsupported architecture variant?)", { shape });
    }
  }
  return dropped;
}
