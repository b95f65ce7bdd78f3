import type { LoraAdapter as PeftAdapter, LoraLayer } from "../formats/peft-adapter.ts";
import type { LoraFactors } from "../ops/lora-linear.ts";
import { loraKey, type LoraAdapter } from "./adapter.ts";

/**
 * formats/peft-adapter.ts reads and writes adapters as one entry per layer (`layers[i][target]`);
 * the engine keys factors by `${layer}.${target}`. These re-index the same arrays, no copy, so a
 * trained adapter is written with writePeftAdapter(toPeftLayers(adapter, L), ...) and a PEFT folder
 * is trained further or served with fromPeftLayers(await loadPeftAdapter(...)).
 */
export function fromPeftLayers(peft: PeftAdapter): LoraAdapter {
  const weights = new Map<string, LoraFactors>();
  peft.layers.forEach((layer, index) => {
    for (const target of peft.config.targetModules) {
      const pair = layer[target];
      if (pair) weights.set(loraKey(index, target), { A: pair.A, B: pair.B });
    }
  });
  return { config: peft.config, baseModel: peft.baseModel, weights };
}

export function toPeftLayers(adapter: LoraAdapter, numLayers: number): PeftAdapter {
  const layers: LoraLayer[] = Array.from({ length: numLayers }, () => ({}));
  for (let index = 0; index < numLayers; index++) {
    for (const target of adapter.config.targetModules) {
      const factors = adapter.weights.get(loraKey(index, target));
      if (factors) layers[index][target] = { A: factors.A, B: factors.B };
    }
  }
  return { config: adapter.config, baseModel: adapter.baseModel, layers };
}
