import type { LlamaConfig } from "../model/config.ts";
import { EMBED_TOKENS, FINAL_NORM, LM_HEAD, layerWeightName, validateLlamaWeights, type LlamaWeights } from "../model/weights.ts";

/** One decoder layer's weights, nn.Linear layout [out, in]. */
export interface LayerWeights {
  inputNorm: Float32Array;         // [C]
  q: Float32Array;                 // [NH*HS, C]
  k: Float32Array;                 // [NKV*HS, C]
  v: Float32Array;                 // [NKV*HS, C]
  o: Float32Array;                 // [C, NH*HS]
  postAttentionNorm: Float32Array; // [C]
  gate: Float32Array;              // [F, C]
  up: Float32Array;                // [F, C]
  down: Float32Array;              // [C, F]
}

/** The base model's weights, looked up by name once so the decode loop never builds a string. */
export interface ModelWeights {
  embedTokens: Float32Array; // [V, C]
  layers: LayerWeights[];
  finalNorm: Float32Array;   // [C]
  lmHead: Float32Array;      // [V, C]; the embedding itself when tieWordEmbeddings
}

/** Checks the checkpoint against the config (WeightShapeError names a wrong tensor) and picks out each weight. */
export function selectModelWeights(config: LlamaConfig, weights: LlamaWeights): ModelWeights {
  validateLlamaWeights(config, weights);
  const get = (name: string) => weights.get(name)!;
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    layers.push({
      inputNorm: get(layerWeightName(l, "input_layernorm")),
      q: get(layerWeightName(l, "self_attn.q_proj")),
      k: get(layerWeightName(l, "self_attn.k_proj")),
      v: get(layerWeightName(l, "self_attn.v_proj")),
      o: get(layerWeightName(l, "self_attn.o_proj")),
      postAttentionNorm: get(layerWeightName(l, "post_attention_layernorm")),
      gate: get(layerWeightName(l, "mlp.gate_proj")),
      up: get(layerWeightName(l, "mlp.up_proj")),
      down: get(layerWeightName(l, "mlp.down_proj")),
    });
  }
  const embedTokens = get(EMBED_TOKENS);
  const lmHead = config.tieWordEmbeddings ? embedTokens : get(LM_HEAD);
  return { embedTokens, layers, finalNorm: get(FINAL_NORM), lmHead };
}
