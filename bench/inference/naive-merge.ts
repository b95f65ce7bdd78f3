import type { Backend } from "../../nodes/src/engine/backend/backend.ts";
import { layerWeightName, type LlamaWeights, type LayerWeightName } from "../../nodes/src/engine/model/weights.ts";
import { loraScale, type LoraAdapter } from "../../nodes/src/engine/lora/adapter.ts";
import type { LoraTarget } from "../../nodes/src/engine/model/config.ts";

const WEIGHT_OF: Record<LoraTarget, LayerWeightName> = {
  q_proj: "self_attn.q_proj", k_proj: "self_attn.k_proj", v_proj: "self_attn.v_proj", o_proj: "self_attn.o_proj",
  gate_proj: "mlp.gate_proj", up_proj: "mlp.up_proj", down_proj: "mlp.down_proj",
};

/**
 * The single-adapter way of serving (what a plain fine-tuned checkpoint server does): fold the
 * adapter into the base weights, W += sign · scale · B·A, serve, then fold it back out. The
 * baseline the multi-adapter batch is compared against.
 */
export function mergeAdapter(backend: Backend, weights: LlamaWeights, adapter: LoraAdapter, sign: 1 | -1): void {
  const scale = sign * loraScale(adapter.config);
  const r = adapter.config.rank;
  for (const [key, { A, B }] of adapter.weights) {
    const [layer, target] = key.split(".") as [string, LoraTarget];
    const W = weights.get(layerWeightName(Number(layer), WEIGHT_OF[target]))!;
    const out = B.length / r;
    const inp = A.length / r;
    const scaledB = Float32Array.from(B, (b) => b * scale);
    // W [out, in] += scaledB [out, r] · A [r, in]
    backend.matmul(W, scaledB, A, out, r, inp, { accumulate: true });
  }
}
