/**
 * Training throughput (not a test: run by hand).
 *   node test/nodes/engine/train/throughput.bench.ts [tiny|1m] [lora|full] [reference|fast]
 * "fast" is createBackend(): the WASM SIMD backend where the runtime supports it.
 * Reports tokens/s (B·T per optimizer step) over steps after a warm-up.
 */
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { createBackend } from "../../../../nodes/src/engine/backend/create-backend.ts";
import type { LlamaConfig } from "../../../../nodes/src/engine/model/config.ts";
import { LORA_TARGETS } from "../../../../nodes/src/engine/model/config.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import { initLlamaWeights, llamaWeightShapes } from "../../../../nodes/src/engine/model/weights.ts";
import { createLoraAdapter } from "../../../../nodes/src/engine/lora/adapter.ts";
import { Trainer } from "../../../../nodes/src/engine/train/trainer.ts";
import { TINY } from "../model/tiny.ts";
import { markovCorpus } from "./corpus.ts";

const ONE_MILLION: LlamaConfig = {
  vocabSize: 1024, hiddenSize: 128, intermediateSize: 344, numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 32,
  rmsNormEps: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: 256, tieWordEmbeddings: false,
};

const [size = "tiny", mode = "lora", backendName = "reference"] = process.argv.slice(2);
const backend = backendName === "fast" ? await createBackend() : createReferenceBackend();
const config = size === "1m" ? ONE_MILLION : TINY;
const [B, T, steps] = size === "1m" ? [4, 64, 20] : [4, 8, 200];
const params = [...llamaWeightShapes(config).values()].reduce((s, shape) => s + shape.reduce((a, b) => a * b, 1), 0);
const model = new LlamaModel(config, initLlamaWeights(config, 1), backend, { trainBase: mode === "full" });
if (mode === "lora") model.setAdapter(createLoraAdapter(config, { rank: 8, alpha: 16, targetModules: [...LORA_TARGETS] }, { seed: 1, baseModel: "bench" }));
const trainer = new Trainer({
  model, trainSequences: markovCorpus(config.vocabSize, 64, T + 1, 1), batchSize: B, sequenceLength: T,
  totalSteps: steps + 2, learningRate: 1e-3, seed: 1,
});
let start = 0;
for await (const event of trainer.run()) if (event.step === 2) start = performance.now();
const seconds = (performance.now() - start) / 1000;
await backend.dispose();
console.log(JSON.stringify({ size, mode, backend: backend.name, params, B, T, steps, secondsPerStep: +(seconds / steps).toFixed(4), tokensPerSecond: Math.round((steps * B * T) / seconds) }));
