import { weightLength, type WeightMatrix } from "../backend/backend.ts";
import type { LlamaConfig } from "../model/config.ts";
import { EMBED_TOKENS, FINAL_NORM, LM_HEAD, WeightShapeError, llamaWeightShapes } from "../model/weights.ts";
import { decoderLayerWeights, type DecoderLayerWeights } from "../model/layer-forward.ts";

/** Weights for serving by Hugging Face name: float32, or matrices in half precision as the checkpoint stores them. */
export type ServingWeights = ReadonlyMap<string, WeightMatrix>;

/** One decoder layer's weights, nn.Linear layout [out, in] (the shared layer forward's). */
export type LayerWeights = DecoderLayerWeights;

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
  const layers = Array.from({ length: config.numLayers }, (_, l) => decoderLayerWeights<WeightMatrix>(weights, l));
  const embedTokens = get(EMBED_TOKENS);
  const lmHead = config.tieWordEmbeddings ? embedTokens : get(LM_HEAD);
  return { embedTokens, layers, finalNorm: vector(FINAL_NORM), lmHead };
}
