import { weightLength, type WeightMatrix } from "../backend/backend.ts";
import type { LlamaConfig } from "../model/config.ts";
import { EMBED_TOKENS, FINAL_NORM, LM_HEAD, WeightShapeError, layerWeightName, llamaWeightShapes } from "../model/weights.ts";

/** Weights for serving by Hugging Face name: float32, or matrices in half precision as the checkpoint stores them. */
export type ServingWeights = ReadonlyMap<string, WeightMatrix>;

/** One decoder layer's weights, nn.Linear layout [out, in]. */
export interface LayerWeights {
  inputNorm: Float32Array;         // [C]
  q: WeightMatrix;                 // [NH*HS, C]
  k: WeightMatrix;                 // [NKV*HS, C]
  v: WeightMatrix;                 // [NKV*HS, C]
  o: WeightMatrix;                 // [C, NH*HS]
  postAttentionNorm: Float32Array; // [C]
  gate: WeightMatrix;              // [F, C]
  up: WeightMatrix;                // [F, C]
  down: WeightMatrix;              // [C, F]
}

/** The base model's weights, looked up by name once so the decode loop never builds a string. */
export interface ModelWeights {
  embedTokens: WeightMatrix; // [V, C]
  layers: LayerWeights[];
  finalNorm: Float32Array;   // [C]
  lmHead: WeightMatrix;      // [V, C]; the embedding itself when tieWordEmbeddings
}

/**
 * Checks the checkpoint against the config (WeightShapeError names a wrong tensor; vectors such as
 * the norms must be float32) and picks out each weight.
 */
export function selectModelWeights(config: LlamaConfig, weights: ServingWeights): ModelWeights {
  for (const [name, shape] of llamaWeightShapes(config)) {
    const tensor = weights.get(name);
    const size = shape.reduce((a, b) => a * b, 1);
    if (!tensor || weightLength(tensor) !== size || (shape.length === 1 && !(tensor instanceof Float32Array))) {
      throw new WeightShapeError(name, shape, tensor ? weightLength(tensor) : null);
    }
  }
  const get = (name: string) => weights.get(name)!;
  const vector = (name: string) => weights.get(name) as Float32Array;
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    layers.push({
      inputNorm: vector(layerWeightName(l, "input_layernorm")),
      q: get(layerWeightName(l, "self_attn.q_proj")),
      k: get(layerWeightName(l, "self_attn.k_proj")),
      v: get(layerWeightName(l, "self_attn.v_proj")),
      o: get(layerWeightName(l, "self_attn.o_proj")),
      postAttentionNorm: vector(layerWeightName(l, "post_attention_layernorm")),
      gate: get(layerWeightName(l, "mlp.gate_proj")),
      up: get(layerWeightName(l, "mlp.up_proj")),
      down: get(layerWeightName(l, "mlp.down_proj")),
    });
  }
  const embedTokens = get(EMBED_TOKENS);
  const lmHead = config.tieWordEmbeddings ? embedTokens : get(LM_HEAD);
  return { embedTokens, layers, finalNorm: vector(FINAL_NORM), lmHead };
}
