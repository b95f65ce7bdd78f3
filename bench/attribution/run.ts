/**
 * Attribution benchmarks: span index build throughput (SA-IS) over a synthetic Zipfian token
 * stream, index file load time, and the latency of attributing a 256-token output (half copied
 * from the index, half novel) against it, with and without gradient attribution.
 *
 *   node bench/attribution/run.ts [--tokens 10000000] [--vocab 8000] [--runs 41]
 *
 * Prints medians and writes bench/out/attribution.md.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Rng } from "../../nodes/src/engine/train/rng.ts";
import { attribute, buildSpanIndex, loadSpanIndex, saveSpanIndex, type GradientSketch, type IndexDocument } from "../../nodes/src/attribution/index.ts";

const { values } = parseArgs({
  options: {
    tokens: { type: "string", default: "10000000" },
    vocab: { type: "string", default: "8000" },
    runs: { type: "string", default: "41" },
  },
});
const TOKENS = Number(values.tokens);
const VOCAB = Number(values.vocab);
const RUNS = Number(values.runs);
const OUTPUT_TOKENS = 256;
const ROOT = `0x${"11".repeat(32)}` as const;

/** Token sampler with Zipf's law over the vocabulary (exponent 1.1, like natural-language unigrams). */
function zipfSampler(random: () => number, vocab: number, exponent = 1.1): () => number {
  const cdf = new Float64Array(vocab);
  let sum = 0;
  for (let r = 0; r < vocab; r++) cdf[r] = sum += 1 / (r + 1) ** exponent;
  return () => {
    const u = random() * sum;
    let lo = 0;
    let hi = vocab - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const rng = new Rng(42);
const random = (): number => rng.nextFloat();
const sample = zipfSampler(random, VOCAB);

// Documents of 200-1800 tokens, as contributions of a Datanet version.
const documents: IndexDocument[] = [];
for (let total = 0, id = 1n; total < TOKENS; id++) {
  const length = Math.min(TOKENS - total, 200 + Math.floor(random() * 1600));
  const tokens = new Uint32Array(length);
  for (let i = 0; i < length; i++) tokens[i] = sample();
  documents.push({ contributionId: id, tokens });
  total += length;
}

buildSpanIndex(ROOT, documents.slice(0, 50)); // warm the JIT
const buildStart = performance.now();
const index = buildSpanIndex(ROOT, documents);
const buildMs = performance.now() - buildStart;
const buildRate = index.tokens.length / (buildMs / 1000);
console.log(`span index: ${index.tokens.length} tokens, ${documents.length} documents, built in ${buildMs.toFixed(0)} ms = ${(buildRate / 1e6).toFixed(2)} M tokens/s`);

const dir = await mkdtemp(join(tmpdir(), "attribution-bench-"));
const path = join(dir, "bench.spanindex");
await saveSpanIndex(path, index);
const loadMs: number[] = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  await loadSpanIndex(path);
  loadMs.push(performance.now() - t);
}
await rm(dir, { recursive: true });
console.log(`index file: ${((index.tokens.length * 8) / 2 ** 20).toFixed(0)} MiB, load + validate median ${median(loadMs).toFixed(0)} ms`);

/** 128 tokens copied from a random document, then 128 novel Zipfian tokens. */
function benchOutput(): Uint32Array {
  const output = new Uint32Array(OUTPUT_TOKENS);
  let doc: IndexDocument;
  do doc = documents[Math.floor(random() * documents.length)];
  while (doc.tokens.length < OUTPUT_TOKENS / 2);
  const from = Math.floor(random() * (doc.tokens.length - OUTPUT_TOKENS / 2));
  for (let i = 0; i < OUTPUT_TOKENS / 2; i++) output[i] = doc.tokens[from + i];
  for (let i = OUTPUT_TOKENS / 2; i < OUTPUT_TOKENS; i++) output[i] = sample();
  return output;
}

// A gradient sketch like a small adapter's: 2 examples per contribution, 128 dims, 3 checkpoints.
const DIMS = 128;
const exampleContributionIds = documents.flatMap((d) => [d.contributionId, d.contributionId]);
const sketch: GradientSketch = {
  dims: DIMS,
  exampleContributionIds,
  checkpoints: [3e-4, 2e-4, 1e-4].map((learningRate) => ({
    learningRate,
    exampleGradients: Float32Array.from({ length: exampleContributionIds.length * DIMS }, () => random() * 2 - 1),
  })),
  // Random gradients stand in for an adapter's: only the cost of scoring them is measured here.
  provenance: {
    projection: { kind: "kronecker-rademacher", seed: 1, dims: DIMS },
    sequenceLength: 256,
    baseModel: `0x${"22".repeat(32)}`,
    checkpoints: [3e-4, 2e-4, 1e-4].map((learningRate, i) => ({ step: 100 * (i + 1), learningRate, digest: `0x${String(i).repeat(64)}` as const })),
  },
};

function measure(withGradients: boolean): { latency: number[]; spans: number } {
  const latency: number[] = [];
  let spans = 0;
  for (let run = -3; run < RUNS; run++) {
    const outputTokens = benchOutput();
    const gradients = withGradients
      ? {
          sketch, prompt: [1, 2, 3], backend: "wasm-simd" as const,
          output: sketch.checkpoints.map((c) => ({ learningRate: c.learningRate, gradient: Float32Array.from({ length: DIMS }, () => random() * 2 - 1) })),
        }
      : undefined;
    const t = performance.now();
    const record = attribute({ requestId: `bench-${run}`, model: { id: 1n, cid: "bench" }, datanet: { id: 1n, version: 1 }, outputTokens, index, gradients });
    if (run >= 0) latency.push(performance.now() - t); // the first runs warm the JIT
    spans += record.evidence.spans.length;
  }
  return { latency, spans };
}

const spanOnly = measure(false);
const combined = measure(true);
const spanMedian = median(spanOnly.latency);
const combinedMedian = median(combined.latency);
console.log(`attribution of a ${OUTPUT_TOKENS}-token output (span only): median ${spanMedian.toFixed(2)} ms over ${RUNS} outputs (${(spanOnly.spans / (RUNS + 3)).toFixed(1)} spans each)`);
console.log(`attribution with TracIn-CP over ${exampleContributionIds.length} examples x ${DIMS} dims x 3 checkpoints: median ${combinedMedian.toFixed(2)} ms`);

const markdown = `## Attribution (bench/attribution/run.ts)

Machine: ${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}. Synthetic Datanet: ${TOKENS.toLocaleString("en-US")} Zipfian tokens
(exponent 1.1, vocabulary ${VOCAB}) in ${documents.length} documents of 200-1800 tokens.

| measure | result | target |
| --- | --- | --- |
| span index build (SA-IS + concatenation) | ${(buildRate / 1e6).toFixed(2)} M tokens/s (${(buildMs / 1000).toFixed(2)} s) | >= 1 M tokens/s |
| index file (${((index.tokens.length * 8) / 2 ** 20).toFixed(0)} MiB) load + validate, median | ${median(loadMs).toFixed(0)} ms | - |
| attribute a ${OUTPUT_TOKENS}-token output, half copied, span only, median of ${RUNS} | ${spanMedian.toFixed(2)} ms | <= 20 ms |
| same with TracIn-CP (${exampleContributionIds.length} examples x ${DIMS} dims x 3 checkpoints), median | ${combinedMedian.toFixed(2)} ms | - |
`;
await mkdir(join(import.meta.dirname, "../out"), { recursive: true });
await writeFile(join(import.meta.dirname, "../out/attribution.md"), markdown);
console.log("wrote bench/out/attribution.md");
