/**
 * One trial of the benchmark for one seed: plant a Datanet, index it, fine-tune an adapter on it with
 * TracIn checkpoints, generate from planted and unrelated prompts, take the outputs' gradients and
 * attribute every output three ways. Returns each output's top contributor per method; metrics are
 * computed over the pooled trials by the caller.
 */
import type { Address } from "viem";
import { contributorsById } from "../../nodes/src/attribution/datanet-manifest.ts";
import { buildSpanIndex } from "../../nodes/src/attribution/span-index.ts";
import type { Backend } from "../../nodes/src/engine/backend/backend.ts";
import { BatchedDecoder } from "../../nodes/src/engine/inference/batched-decoder.ts";
import { LORA_TARGETS } from "../../nodes/src/engine/model/config.ts";
import { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import type { GradientProjectionKind } from "../../nodes/src/engine/train/projected-gradients.ts";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BenchmarkInputError } from "./errors.ts";
import { attributeOutput, METHODS, type Method, type OutputAttribution } from "./attribute-output.ts";
import { loadBaseModel, randomBaseModel } from "./base-model.ts";
import { copiedPrefixLength } from "./copied-prefix.ts";
import type { BenchmarkText } from "./corpus-passage-sources.ts";
import { greedyContinuations } from "./greedy-continuations.ts";
import type { PassageTokenizer } from "./passages.ts";
import { buildPlantedDatanet } from "./planted-datanet.ts";
import { topContributor, type PlantedResult, type TopContributor } from "./quality-metrics.ts";
import { tracinGradients, type GeneratedOutput } from "./tracin-gradients.ts";
import { trainAdapter } from "./train-adapter.ts";

/** The span matcher's default minimum, and so the n-gram no two planted passages may share. */
export const MIN_SPAN_LENGTH = 8;

export interface TrialOptions {
  seed: number;
  contributors: number;
  uniquePerContributor: number;
  filler: number;
  unrelated: number;
  passageTokens: number;
  promptTokens: number;
  steps: number;
  learningRate: number;
  batchSize: number;
  rank: number;
  /** Projection dimension of the gradients. */
  dims: number;
  /** Projection of the gradients: "kronecker-rademacher" (what buildGradientSketch uses by default) or "dense-rademacher". */
  projection: GradientProjectionKind;
  /** Span share of the combined weights, ppm. */
  mixPpm: number;
  /** Top-contributor share at which a prediction is made (only used to list the misses). */
  threshold: number;
  /** A Hugging Face model folder to use as the base instead of a random one. */
  baseDir?: string;
  log: (line: string) => void;
}

export interface TrialResult {
  seed: number;
  datanet: { contributors: number; contributions: number; indexTokens: number; root: string };
  base: string;
  lora: string;
  training: {
    steps: number; firstLoss: number; finalLoss: number; seconds: number; tokensPerSecond: number;
    checkpoints: { step: number; learningRate: number }[];
  };
  memorization: { exact: number; total: number; meanCopied: number; outputTokens: number };
  /** Per unrelated generated output, its longest span found in the Datanet (0: none of MIN_SPAN_LENGTH or more). */
  unrelatedGeneratedLongestSpan: number[];
  /** Planted prompts whose combined attribution made no correct prediction, with what the model and each method did. */
  misses: PlantedMiss[];
  planted: Record<Method, PlantedResult[]>;
  /** The model's greedy continuations of unrelated prompts. */
  unrelatedGenerated: Record<Method, TopContributor[]>;
  /** The unrelated text's own continuations, attributed as if the model had produced them. */
  unrelatedText: Record<Method, TopContributor[]>;
  seconds: { generation: number; gradients: number; attribution: number; total: number };
}

export interface PlantedMiss {
  /** Index of the planted passage. */
  passage: number;
  /** Tokens of the continuation that match the passage before the first difference. */
  copied: number;
  /** Longest Datanet span in the output. */
  longestSpan: number;
  /** Per method, the top contributor's share and whether it is the owner. */
  top: Record<Method, { share: number; owner: boolean }>;
}

export async function runTrial(backend: Backend, tokenizer: PassageTokenizer & { vocabSize: number }, text: BenchmarkText, o: TrialOptions): Promise<TrialResult> {
  const started = performance.now();
  const since = (t: number) => (performance.now() - t) / 1000;
  const outputTokens = o.passageTokens - o.promptTokens;
  const sequenceLength = o.passageTokens;

  const datanet = buildPlantedDatanet(text.datanet, text.unrelated, tokenizer, {
    contributors: o.contributors, uniquePerContributor: o.uniquePerContributor, fillerPassages: o.filler, unrelatedPassages: o.unrelated,
    passageLength: o.passageTokens, distinctNgram: MIN_SPAN_LENGTH, seed: o.seed,
  });
  const index = buildSpanIndex(datanet.root, datanet.indexDocuments);
  const contributorOf = contributorsById(datanet.manifest);
  o.log(`seed ${o.seed}: Datanet of ${datanet.contributors.length} contributors, ${datanet.unique.length} unique + ${datanet.contributions.length - datanet.unique.length} filler contributions, ${index.tokens.length} indexed tokens`);

  const base = o.baseDir ? await loadBaseModel(o.baseDir, backend, tokenizer.vocabSize) : randomBaseModel(o.seed, (n) => backend.alloc(n));
  const model = new LlamaModel(base.config, base.weights, backend);
  const lora = { rank: o.rank, alpha: 2 * o.rank, targetModules: [...LORA_TARGETS] };
  const training = await trainAdapter(model, datanet.contributions.map((c) => c.tokens), {
    lora, batchSize: o.batchSize, sequenceLength, steps: o.steps, learningRate: o.learningRate, warmupSteps: Math.round(o.steps / 20),
    minLearningRate: o.learningRate / 10, checkpointSteps: [Math.round(o.steps / 3), Math.round((2 * o.steps) / 3), o.steps], seed: o.seed,
    checkpointDir: await mkdtemp(join(tmpdir(), `attribution-quality-${o.seed}-`)),
    onStep: (e) => {
      if (e.step % 100 === 0 || e.step === o.steps) o.log(`seed ${o.seed}: step ${e.step}/${e.totalSteps} loss ${e.loss.toFixed(3)} lr ${e.lr.toExponential(2)} ${Math.round(e.tokensPerSecond)} tok/s`);
    },
  });
  const lastLosses = training.losses.slice(-10);

  const generationStart = performance.now();
  const decoder = new BatchedDecoder(base.config, base.weights, backend, sequenceLength);
  const plantedPrompts = datanet.unique.map((u) => u.passage.tokens.subarray(0, o.promptTokens));
  const unrelatedPrompts = datanet.unrelated.map((p) => p.tokens.subarray(0, o.promptTokens));
  const plantedOutputs = greedyContinuations(decoder, training.adapter, plantedPrompts, outputTokens);
  const unrelatedOutputs = greedyContinuations(decoder, training.adapter, unrelatedPrompts, outputTokens);
  const generationSeconds = since(generationStart);
  const copied = datanet.unique.map((u, i) => copiedPrefixLength(plantedOutputs[i], u.passage.tokens.subarray(o.promptTokens)));
  const exact = copied.filter((n) => n === outputTokens).length;
  o.log(`seed ${o.seed}: ${exact}/${copied.length} planted continuations reproduce their passage exactly`);

  const generated: GeneratedOutput[] = [
    ...plantedOutputs.map((output, i) => ({ prompt: plantedPrompts[i], output })),
    ...unrelatedOutputs.map((output, i) => ({ prompt: unrelatedPrompts[i], output })),
    ...datanet.unrelated.map((p) => ({ prompt: p.tokens.subarray(0, o.promptTokens), output: p.tokens.subarray(o.promptTokens) })),
  ];
  const gradients = tracinGradients(model, training.checkpoints, datanet.contributions, generated, sequenceLength, { dimensions: o.dims, seed: o.seed, kind: o.projection }, base.digest);
  o.log(`seed ${o.seed}: projected gradients of ${datanet.contributions.length} examples + ${generated.length} outputs at ${training.checkpoints.length} checkpoints in ${gradients.seconds.toFixed(1)} s`);

  const attributionStart = performance.now();
  const attributions = generated.map((g, i) =>
    attributeOutput(index, gradients.sketch, { requestId: `seed-${o.seed}-output-${i}`, prompt: g.prompt, tokens: g.output, gradients: gradients.outputs[i] }, o.mixPpm, reproducibleBackend(backend)));
  const attributionSeconds = since(attributionStart);
  const n = plantedOutputs.length;
  const m = unrelatedOutputs.length;
  const tops = (list: OutputAttribution[]) => perMethod((method) => list.map((a) => topContributor(a.weights[method], contributorOf)));
  const owners: Address[] = datanet.unique.map((u) => u.owner);
  const plantedTops = tops(attributions.slice(0, n));
  const misses: PlantedMiss[] = [];
  plantedTops.combined.forEach((top, i) => {
    if (top.contributor === owners[i] && top.share >= o.threshold) return;
    misses.push({
      passage: i, copied: copied[i], longestSpan: attributions[i].longestSpan,
      top: perMethod((method) => ({ share: plantedTops[method][i].share, owner: plantedTops[method][i].contributor === owners[i] })),
    });
    o.log(`seed ${o.seed}: planted prompt ${i} missed: ${copied[i]}/${outputTokens} tokens reproduced, longest Datanet span ${attributions[i].longestSpan}, ` +
      METHODS.map((method) => `${method} top share ${plantedTops[method][i].share.toFixed(2)} (${plantedTops[method][i].contributor === owners[i] ? "owner" : "not the owner"})`).join(", "));
  });

  return {
    seed: o.seed,
    datanet: { contributors: datanet.contributors.length, contributions: datanet.contributions.length, indexTokens: index.tokens.length, root: datanet.root },
    base: base.description,
    lora: `rank ${lora.rank}, alpha ${lora.alpha}, all 7 projections`,
    training: {
      steps: o.steps, firstLoss: training.losses[0], finalLoss: lastLosses.reduce((a, b) => a + b, 0) / lastLosses.length,
      seconds: training.seconds, tokensPerSecond: training.tokensPerSecond,
      checkpoints: training.checkpoints.map((s) => ({ step: s.step, learningRate: s.learningRate })),
    },
    memorization: { exact, total: copied.length, meanCopied: copied.reduce((a, b) => a + b, 0) / copied.length, outputTokens },
    unrelatedGeneratedLongestSpan: attributions.slice(n, n + m).map((a) => a.longestSpan),
    misses,
    planted: perMethod((method) => plantedTops[method].map((top, i) => ({ owner: owners[i], top }))),
    unrelatedGenerated: tops(attributions.slice(n, n + m)),
    unrelatedText: tops(attributions.slice(n + m)),
    seconds: { generation: generationSeconds, gradients: gradients.seconds, attribution: attributionSeconds, total: since(started) },
  };
}

/** The record names the backend its output gradients were computed on; only reproducible ones can be named. */
function reproducibleBackend(backend: Backend): "reference" | "wasm-simd" {
  if (backend.name === "reference") return "reference";
  if (backend.name.startsWith("wasm-simd,")) return "wasm-simd";
  throw new BenchmarkInputError(`Backend ${backend.name} is not reproducible: records need the reference backend or wasm-simd without fused multiply-add.`, { backend: backend.name });
}

function perMethod<T>(f: (method: Method) => T): Record<Method, T> {
  return Object.fromEntries(METHODS.map((method) => [method, f(method)])) as Record<Method, T>;
}
