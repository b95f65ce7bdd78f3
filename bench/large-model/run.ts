/**
 * Large-model benchmark: `node bench/large-model/run.ts [--layers N] [--requests N] [--max-tokens N] [--threads N]`.
 *
 * Writes a random-weight checkpoint of Llama 3.2 1B's shape (1.24B parameters, bf16, sharded) to a
 * temporary folder, then in the engine's worker: loads it with weightPrecision "stored" (matrices
 * stay bf16 in memory, 2.5 GB) and generates; and tries weightPrecision "float32" (4.9 GB), which
 * wasm32's single 4 GiB memory cannot hold. Reports load time, engine memory and decode speed.
 * Results go to bench/out/large-model.md.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { ScaledLlamaConfig } from "../../nodes/src/engine/formats/llama-config.ts";
import { Engine } from "../../nodes/src/engine/worker/index.ts";
import { writeRandomBf16Checkpoint } from "./checkpoint.ts";

const { values: args } = parseArgs({
  options: {
    layers: { type: "string" },
    requests: { type: "string", default: "4" },
    "max-tokens": { type: "string", default: "8" },
    threads: { type: "string" },
  },
});
/** Llama 3.2 1B (meta-llama/Llama-3.2-1B config.json), context cut to what the benchmark uses. */
const LLAMA_3_2_1B: ScaledLlamaConfig = {
  vocabSize: 128256, hiddenSize: 2048, intermediateSize: 8192, numLayers: 16, numHeads: 32, numKvHeads: 8, headDim: 64,
  rmsNormEps: 1e-5, ropeTheta: 500000, maxPositionEmbeddings: 2048, tieWordEmbeddings: true,
  ropeScaling: { type: "llama3", factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
};
const config: ScaledLlamaConfig = { ...LLAMA_3_2_1B, numLayers: args.layers ? Number(args.layers) : LLAMA_3_2_1B.numLayers };
const requests = Number(args.requests);
const maxTokens = Number(args["max-tokens"]);
const threads = args.threads ? Number(args.threads) : availableParallelism();
const GiB = 2 ** 30;

const dir = await mkdtemp(join(tmpdir(), "large-model-"));
try {
  let started = performance.now();
  const { parameters, bytes } = await writeRandomBf16Checkpoint(dir, config);
  const writeSeconds = (performance.now() - started) / 1000;
  console.log(`wrote ${(parameters / 1e9).toFixed(2)}B parameters (${(bytes / GiB).toFixed(2)} GiB bf16) in ${writeSeconds.toFixed(0)} s`);

  const engine = await Engine.start({ threads });
  let lines: string[];
  try {
    started = performance.now();
    const info = await engine.loadModel("large", dir, { weightPrecision: "stored", maxBatchSize: requests, contextLength: 8 + maxTokens });
    const loadSeconds = (performance.now() - started) / 1000;
    const memory = (await engine.stats()).memory;
    console.log(`loaded in ${loadSeconds.toFixed(1)} s: ${(info.weightBytes / GiB).toFixed(2)} GiB of weights, engine memory ${(memory.memoryBytes / GiB).toFixed(2)} GiB`);
    started = performance.now();
    let firstToken = 0;
    const outputs = await Promise.all(Array.from({ length: requests }, async (_, i) => {
      const tokens: number[] = [];
      for await (const event of engine.generate({ modelId: "large", prompt: [1 + i, 2, 3, 4, 5, 6, 7, 8], maxTokens, seed: i, sampling: { temperature: 0.8 } })) {
        if (event.type === "token") {
          tokens.push(event.tokenId);
          if (firstToken === 0) firstToken = (performance.now() - started) / 1000;
        }
      }
      return tokens;
    }));
    const seconds = (performance.now() - started) / 1000;
    const generated = outputs.reduce((sum, t) => sum + t.length, 0);
    const decodeRate = (generated - requests) / (seconds - firstToken);
    console.log(`generated ${generated} tokens in ${seconds.toFixed(1)} s (first tokens after ${firstToken.toFixed(1)} s, then ${decodeRate.toFixed(2)} tokens/s)`);
    const afterMemory = (await engine.stats()).memory;
    await engine.unloadModel("large");

    let float32Outcome: string;
    try {
      await engine.loadModel("large-f32", dir, { weightPrecision: "float32", maxBatchSize: 1, contextLength: 16 });
      float32Outcome = "loads";
      await engine.unloadModel("large-f32");
    } catch (error) {
      float32Outcome = `refused: ${(error as Error).name}: ${(error as Error).message.slice(0, 160)}`;
    }
    console.log(`float32: ${float32Outcome}`);

    lines = [
      `## Large model: ${(parameters / 1e9).toFixed(2)}B parameters in half precision (Llama 3.2 1B's shape${config.numLayers === LLAMA_3_2_1B.numLayers ? "" : `, ${config.numLayers} layers`})`,
      "",
      `Measured by \`node bench/large-model/run.ts${args.layers ? ` --layers ${config.numLayers}` : ""}\` on ${new Date().toISOString().slice(0, 16)}Z, ${threads} compute threads, load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores at the end.`,
      `Random weights in Llama 3.2 1B's shape (V=${config.vocabSize}, C=${config.hiddenSize}, L=${config.numLayers}, NH=${config.numHeads}, NKV=${config.numKvHeads}, F=${config.intermediateSize}, tied embeddings): ` +
        `${(parameters / 1e9).toFixed(2)}B parameters, written as a sharded bf16 checkpoint (${(bytes / GiB).toFixed(2)} GiB) to a temporary folder in ${writeSeconds.toFixed(0)} s.`,
      "",
      "| measure | value |",
      "| --- | --- |",
      `| load, weightPrecision "stored" (matrices stay bf16) | ${loadSeconds.toFixed(1)} s |`,
      `| weights in the engine's memory | ${(info.weightBytes / GiB).toFixed(2)} GiB |`,
      `| engine memory after generating (one wasm32 memory, max 4 GiB) | ${(afterMemory.memoryBytes / GiB).toFixed(2)} GiB (high-water ${(afterMemory.highWaterBytes / GiB).toFixed(2)} GiB) |`,
      `| ${requests} requests × ${maxTokens} tokens (prompt 8), batched | ${seconds.toFixed(1)} s; first tokens after ${firstToken.toFixed(1)} s, then ${decodeRate.toFixed(2)} tokens/s |`,
      `| load, weightPrecision "float32" (${(2 * bytes / GiB).toFixed(2)} GiB) | ${float32Outcome.replaceAll("|", "\\\\|")} |`,
      "",
      "The engine keeps its weights in one wasm32 memory of at most 4 GiB, so the machine's 24 GiB are not the limit: in",
      "float32 a model of about 0.95B parameters fits, in bf16 about 1.9B (the KV cache and activations take the rest).",
      "Splitting the weights across several memories is not built.",
      "",
    ];
  } finally {
    await engine.close();
  }
  console.log(lines.join("\n"));
  await mkdir(new URL("../out/", import.meta.url), { recursive: true });
  const suffix = config.numLayers === LLAMA_3_2_1B.numLayers ? "" : `-L${config.numLayers}`;
  await writeFile(new URL(`../out/large-model${suffix}.md`, import.meta.url), lines.join("\n"));
} finally {
  await rm(dir, { recursive: true, force: true });
}
