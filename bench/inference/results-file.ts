import { readFile, writeFile } from "node:fs/promises";

/**
 * bench/out/inference.md holds one section with a block per model preset. A run rewrites only its
 * own model's block and keeps the others, so the presets can be measured one at a time (each run
 * takes minutes) and still be read side by side.
 */
const HEADER = [
  "## Inference: multi-adapter batched decoding",
  "",
  "Measured by `node bench/inference/run.ts --model <preset>`; one block per preset, each written by its own run.",
  "Goals: batched throughput with 1,000 distinct adapters ≥ 0.8 × one adapter; batched ≥ 5 × the naive baseline (merge one",
  "adapter into the base weights, serve one request, un-merge); adapter cold load from disk ≤ 20 ms (rank 8).",
  "",
  "Why the 5 × goal depends on the model's size: a decode step reads every base weight once whatever the batch holds. On",
  "the small model (4M parameters, 16 MB) the weights stay in the CPU's caches, so a one-row decode is nearly as",
  "efficient per token as a 32-row batch, and batching gains little over the naive baseline. On a real served size",
  "(SmolLM2-135M, 540 MB of float32) a one-row decode is bound by memory bandwidth and a batch shares that read among",
  "all its rows: the advantage grows with the model, as on every serving stack.",
  "",
  "Since 2026-12-01 the LoRA updates of a batch run as SGMV, one shrink and one expand kernel call per projection whatever",
  "the number of adapters, with adapters held in the backend's memory; the \"per-group\" row serves the same batches with",
  "the earlier loop of two matmuls per adapter group. Distinct adapters still cost their weights' memory traffic: at",
  "SmolLM2-135M's shape a batch of 64 distinct rank-8 adapters reads 230 MB of adapter weights per step beside the base",
  "model's 540 MB.",
  "",
].join("\n");

const begin = (model: string) => `<!-- model: ${model} -->`;
const end = (model: string) => `<!-- /model: ${model} -->`;

/** Replaces (or appends) `model`'s block in the results file, keeping every other model's block. */
export async function writeModelResults(file: URL, model: string, block: string): Promise<void> {
  let existing = "";
  try {
    existing = await readFile(file, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== "ENOENT") throw cause;
  }
  const blocks = new Map<string, string>();
  for (const match of existing.matchAll(/<!-- model: ([\w.-]+) -->\n([\s\S]*?)<!-- \/model: \1 -->/g)) blocks.set(match[1], match[2]);
  blocks.set(model, block.endsWith("\n") ? block : block + "\n");
  const body = [...blocks].map(([name, text]) => `${begin(name)}\n${text}${end(name)}\n`).join("\n");
  await writeFile(file, `${HEADER}\n${body}`);
}
