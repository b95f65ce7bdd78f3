/**
 * Single-stream decode, ours against llama.cpp, interleaved: `node bench/peers/single-stream.ts [--rounds N] [--new-tokens N] [--threads N]`.
 *
 * bench/peers/run.ts measures each peer's configurations one after another, so on a shared machine the load can change
 * between ours and llama.cpp's. Here both peers stay loaded in one process and take turns, round after round, on the same
 * prompt (8 ids, greedy, no adapter) at f32, f16 and bf16 (llama.cpp: f32 and f16, which GGUF stores), and the ratio is of
 * medians. The weights are SmolLM2-135M's shape, random (decode speed does not depend on their values). Ours is the
 * BatchedDecoder's forward step with an argmax, without the scheduler around it. Writes bench/out/peers-single-stream.md.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createWasmBackend } from "../../nodes/src/engine/backend/wasm/wasm-backend.ts";
import { exportModelGguf } from "../../nodes/src/engine/formats/gguf-export.ts";
import { loadModelFolder, saveModelFolder } from "../../nodes/src/engine/formats/model-folder.ts";
import { loadModelWeights } from "../../nodes/src/engine/formats/weight-loader.ts";
import { BatchedDecoder } from "../../nodes/src/engine/inference/batched-decoder.ts";
import { createSequenceKvCache, freeSequenceKvCache } from "../../nodes/src/engine/inference/kv-cache.ts";
import { initLlamaWeights, llamaWeightShapes } from "../../nodes/src/engine/model/weights.ts";
import { BASE_MODEL_FOLDER, SMOLLM2_135M } from "../inference/model-presets.ts";
import { installLlamaCpp, llamaCppInstalled, llamaCppThroughput, loadLlamaCpp, NODE_LLAMA_CPP_VERSION } from "./llama-cpp.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    "new-tokens": { type: "string", default: "32" },
    threads: { type: "string", default: "1" },
  },
});
const ROUNDS = Number(args.rounds);
const NEW_TOKENS = Number(args["new-tokens"]);
const THREADS = Number(args.threads);
const PROMPT = [5, 6, 7, 8, 9, 10, 11, 12];
type Precision = "f32" | "f16" | "bf16";
const PRECISIONS: Precision[] = ["f32", "f16", "bf16"];
const DTYPE = { f32: "F32", f16: "F16", bf16: "BF16" } as const;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[(sorted.length - 1) >> 1];
}

async function main(): Promise<void> {
  if (!llamaCppInstalled()) await installLlamaCpp();
  const loaded = await loadLlamaCpp(THREADS);
  if ("missing" in loaded) throw new Error(loaded.missing);
  const dir = await mkdtemp(join(tmpdir(), "tributary-single-stream-"));
  const load = [loadavg()[0]];
  try {
    const base = await loadModelFolder(BASE_MODEL_FOLDER);
    const shapes = llamaWeightShapes(SMOLLM2_135M);
    const files = {
      config: SMOLLM2_135M, tokenizerJson: base.tokenizerJson, ...(base.tokenizerConfigJson === undefined ? {} : { tokenizerConfigJson: base.tokenizerConfigJson }),
      tensors: new Map([...initLlamaWeights(SMOLLM2_135M, 1, 0.02)].map(([name, data]) => [name, { dtype: "F32" as const, shape: shapes.get(name)!, data }])),
    };
    for (const precision of PRECISIONS) await saveModelFolder(join(dir, precision), files, { dtype: DTYPE[precision] });
    await exportModelGguf(join(dir, "f32"), join(dir, "f32.gguf"), { type: "F32" });
    await exportModelGguf(join(dir, "f32"), join(dir, "f16.gguf"), { type: "F16" });

    const peers: { name: string; precision: Precision; run: () => Promise<number> }[] = [];
    for (const precision of PRECISIONS) {
      const backend = await createWasmBackend({ threads: THREADS });
      const folder = join(dir, precision);
      const { eosTokenId: _eos, ...config } = (await loadModelFolder(folder)).config;
      const weights = await loadModelWeights(folder, config, backend, { keepHalf: precision !== "f32" });
      const decoder = new BatchedDecoder(config, weights, backend, PROMPT.length + NEW_TOKENS);
      peers.push({
        name: "ours", precision, run: async () => {
          const cache = createSequenceKvCache(backend, config, PROMPT.length + NEW_TOKENS);
          const started = performance.now();
          let logits = decoder.forward([{ cache, tokens: PROMPT, adapter: null }]);
          for (let i = 0; i < NEW_TOKENS; i++) {
            let best = 0;
            for (let v = 1; v < config.vocabSize; v++) if (logits[v] > logits[best]) best = v;
            if (i < NEW_TOKENS - 1) logits = decoder.forward([{ cache, tokens: [best], adapter: null }]);
          }
          const seconds = (performance.now() - started) / 1000;
          freeSequenceKvCache(backend, cache);
          return NEW_TOKENS / seconds;
        },
      });
      if (precision !== "bf16") {
        const model = await loaded.llama.loadModel({ modelPath: join(dir, `${precision}.gguf`), gpuLayers: 0 });
        peers.push({ name: "llama.cpp", precision, run: async () => (await llamaCppThroughput(model, [null], [PROMPT], NEW_TOKENS, THREADS)).tokensPerSecond });
      }
    }
    for (const peer of peers) await peer.run(); // warm-up
    const rates = new Map(peers.map((peer) => [peer, [] as number[]]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const peer of peers) rates.get(peer)!.push(await peer.run());
      load.push(loadavg()[0]);
    }
    const rate = (name: string, precision: Precision) => median(rates.get(peers.find((p) => p.name === name && p.precision === precision)!) ?? []);
    const rows = PRECISIONS.map((precision) => {
      const ours = rate("ours", precision);
      const theirs = precision === "bf16" ? undefined : rate("llama.cpp", precision);
      return `| ${precision} | ${ours.toFixed(1)} | ${theirs === undefined ? "– (GGUF has no bf16 here)" : theirs.toFixed(1)} | ${theirs === undefined ? "–" : `${(ours / theirs).toFixed(2)}×`} | ${(ours / rate("ours", "f32")).toFixed(2)}× |`;
    });
    const markdown = [
      "## Single-stream decode, ours and llama.cpp interleaved (`smollm2-135m`)",
      "",
      `\`node bench/peers/single-stream.ts --rounds ${ROUNDS} --threads ${THREADS}\` on ${new Date().toISOString().slice(0, 16)}Z, ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${THREADS} thread${THREADS === 1 ? "" : "s"} each; ` +
        `load average ${load.map((l) => l.toFixed(1)).join(" → ")} over the run (the machine was shared with other jobs: absolute rates are low; the peers took turns, so the ratios are side by side).`,
      `Random weights in SmolLM2-135M's shape (C=576, L=30, V=49152, tied embeddings); prompt of 8 ids, ${NEW_TOKENS} greedy tokens, no adapter, tokens/s including the prefill; median of ${ROUNDS} rounds after a warm-up. ` +
        `Ours: BatchedDecoder steps on the wasm backend (f16/bf16: matrices kept as stored, widened in registers); llama.cpp: node-llama-cpp ${NODE_LLAMA_CPP_VERSION}, GGUF from \`tributary-node export-gguf\`.`,
      "",
      "| precision | ours tok/s | llama.cpp tok/s | ours / llama.cpp | ours / ours f32 |",
      "| --- | ---: | ---: | ---: | ---: |",
      ...rows,
      "",
    ].join("\n");
    console.log(markdown);
    await mkdir(new URL("../out/", import.meta.url), { recursive: true });
    await writeFile(new URL("../out/peers-single-stream.md", import.meta.url), markdown);
  } finally {
    await loaded.llama.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
