/**
 * Large-model benchmark: `node bench/large-model/run.ts [--layers N] [--requests N] [--max-tokens N] [--threads N]`.
 *
 * Writes a random-weight checkpoint of Llama 3.2 1B's shape (1.24B parameters, bf16, sharded) to a
 * temporary folder, then in the engine's worker: loads it with weightPrecision "stored" (matrices
 * stay bf16 in memory, 2.5 GB) and generates a batch; then with weightPrecision "float32" (4.9 GB,
 * more than one wasm32 memory holds, so the backend spreads it over several) and generates one
 * request. Reports load time, engine memory and decode speed.
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
    /** Loads the checkpoint at `weightPrecision`, generates `count` requests batched, unloads it. */
    const run = async (weightPrecision: "stored" | "float32", count: number) => {
      const modelId = `large-${weightPrecision}`;
      let started = performance.now();
      const info = await engine.loadModel(modelId, dir, { weightPrecision, maxBatchSize: count, contextLength: 8 + maxTokens });
      const loadSeconds = (performance.now() - started) / 1000;
      const memory = (await engine.stats()).memory;
      console.log(`${weightPrecision}: loaded in ${loadSeconds.toFixed(1)} s: ${(info.weightBytes / GiB).toFixed(2)} GiB of weights, engine memory ${(memory.memoryBytes / GiB).toFixed(2)} GiB`);
      started = performance.now();
      let firstToken = 0;
      const outputs = await Promise.all(Array.from({ length: count }, async (_, i) => {
        const tokens: number[] = [];
        for await (const event of engine.generate({ modelId, prompt: [1 + i, 2, 3, 4, 5, 6, 7, 8], maxTokens, seed: i, sampling: { temperature: 0.8 } })) {
          if (event.type === "token") {
            tokens.push(event.tokenId);
            if (firstToken === 0) firstToken = (performance.now() - started) / 1000;
          }
        }
        return tokens;
      }));
      const seconds = (performance.now() - started) / 1000;
      const generated = outputs.reduce((sum, t) => sum + t.length, 0);
      const decodeRate = (generated - count) / (seconds - firstToken);
      console.log(`${weightPrecision}: generated ${generated} tokens in ${seconds.toFixed(1)} s (first tokens after ${firstToken.toFixed(1)} s, then ${decodeRate.toFixed(2)} tokens/s)`);
      const afterMemory = (await engine.stats()).memory;
      await engine.unloadModel(modelId);
      return { info, loadSeconds, afterMemory, seconds, firstToken, decodeRate, count };
    };
    const half = await run("stored", requests);
    let float32: Awaited<ReturnType<typeof run>> | string;
    try {
      float32 = await run("float32", 1);
    } catch (error) {
      float32 = `refused: ${(error as Error).name}: ${(error as Error).message.slice(0, 160)}`;
      console.log(`float32: ${float32}`);
    }
    const memoryCell = (m: { memoryBytes: number; highWaterBytes: number; memories: number }) =>
      `${(m.memoryBytes / GiB).toFixed(2)} GiB in ${m.memories} wasm32 memor${m.memories === 1 ? "y" : "ies"} of at most 4 GiB each (high-water ${(m.highWaterBytes / GiB).toFixed(2)} GiB)`;
    const runRows = (label: string, r: Awaited<ReturnType<typeof run>>) => [
      `| ${label}: load | ${r.loadSeconds.toFixed(1)} s |`,
      `| ${label}: weights in the engine's memory | ${(r.info.weightBytes / GiB).toFixed(2)} GiB |`,
      `| ${label}: engine memory after generating | ${memoryCell(r.afterMemory)} |`,
      `| ${label}: ${r.count} request${r.count === 1 ? "" : "s"} × ${maxTokens} tokens (prompt 8)${r.count === 1 ? "" : ", batched"} | ${r.seconds.toFixed(1)} s; first token${r.count === 1 ? "" : "s"} after ${r.firstToken.toFixed(1)} s, then ${r.decodeRate.toFixed(2)} tokens/s |`,
    ];
    lines = [
      `## Large model: ${(parameters / 1e9).toFixed(2)}B parameters in half precision and float32 (Llama 3.2 1B's shape${config.numLayers === LLAMA_3_2_1B.numLayers ? "" : `, ${config.numLayers} layers`})`,
      "",
      `Measured by \`node bench/large-model/run.ts${args.layers ? ` --layers ${config.numLayers}` : ""}\` on ${new Date().toISOString().slice(0, 16)}Z, ${threads} compute threads, load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores at the end.`,
      `Random weights in Llama 3.2 1B's shape (V=${config.vocabSize}, C=${config.hiddenSize}, L=${config.numLayers}, NH=${config.numHeads}, NKV=${config.numKvHeads}, F=${config.intermediateSize}, tied embeddings): ` +
        `${(parameters / 1e9).toFixed(2)}B parameters, written as a sharded bf16 checkpoint (${(bytes / GiB).toFixed(2)} GiB) to a temporary folder in ${writeSeconds.toFixed(0)} s.`,
      "",
      "| measure | value |",
      "| --- | --- |",
      ...runRows(`weightPrecision "stored" (matrices stay bf16)`, half),
      ...(typeof float32 === "string"
        ? [`| weightPrecision "float32" (${(2 * bytes / GiB).toFixed(2)} GiB) | ${float32.replaceAll("|", "\\\\|")} |`]
        : runRows(`weightPrecision "float32" (widened at load)`, float32)),
      "",
      "One wasm32 memory holds at most 4 GiB, so the wasm backend keeps several: weights fill one memory, then the next",
      "opens, and each matmul runs in the memory of its weights (activations staged there). Weights are bounded by the",
      "machine's RAM: float32 costs 4 bytes a parameter plus the KV cache and activations.",
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
