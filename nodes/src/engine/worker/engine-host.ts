/**
 * The engine itself, as the worker hosts it: base models with their decoder, continuous-batching
 * scheduler and adapter cache; adapter registration; training jobs; evaluation. It runs on whatever
 * thread creates it: engine-worker.ts puts it on its own worker thread behind the async client
 * (engine.ts), and tests may use it in-thread. It owns every buffer it allocates in the backend and
 * gives it back (jobs' models and adapters when they end, a model's weights, KV cache and step
 * buffers when it is unloaded), so it can run for weeks.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { getAddress, isAddress } from "viem";
import { attributionQualityReport, type AttributionCanary, type AttributionQualitySection } from "../../attribution/attribution-quality-report.ts";
import { buildGradientSketch } from "../../attribution/build-gradient-sketch.ts";
import { decodeGradientSketch, encodeGradientSketch } from "../../attribution/gradient-sketch-file.ts";
import type { SpanIndex } from "../../attribution/span-index.ts";
import { decodeSpanIndex } from "../../attribution/span-index-file.ts";
import type { GradientSketch } from "../../attribution/gradient-influence.ts";
import { outputGradients } from "../../attribution/output-gradients.ts";
import { calibrateAttributionThreshold, type NullCalibration } from "../../attribution/null-calibration.ts";
import { createReferenceBackend } from "../backend/reference.ts";
import { createWasmBackend, type WasmBackend } from "../backend/wasm/wasm-backend.ts";
import type { Backend } from "../backend/backend.ts";
import { isHalfMatrix, weightLength } from "../backend/backend.ts";
import { loadModelFolderMetadata } from "../formats/model-folder.ts";
import { loadModelWeights, type ServingWeights } from "../formats/weight-loader.ts";
import { loadPeftAdapter, readPeftAdapter, savePeftAdapter } from "../formats/peft-adapter.ts";
import { AdapterCache, adapterByteSize, type AdapterLease } from "../inference/adapter-cache.ts";
import { BatchedDecoder } from "../inference/batched-decoder.ts";
import { createDiskAdapterLoader } from "../inference/disk-adapter-loader.ts";
import { AdapterLoadError } from "../inference/errors.ts";
import type { GenerationEvent } from "../inference/generation-sequence.ts";
import { GenerationScheduler } from "../inference/scheduler.ts";
import { copyLoraAdapter, createLoraAdapter, freeLoraAdapter, validateLoraAdapter, type LoraAdapter } from "../lora/adapter.ts";
import { fromPeftLayers, toPeftLayers } from "../lora/peft-layers.ts";
import { LlamaModel } from "../model/llama.ts";
import type { LlamaWeights } from "../model/weights.ts";
import type { TextTokenizer } from "../tokenizer/text-tokenizer.ts";
import { evaluateAdapter, type EvaluationReport } from "../train/evaluate.ts";
import { Trainer } from "../train/trainer.ts";
import { contentDigest, decodeTracInCheckpoint, type TracInCheckpoint } from "../train/tracin-checkpoint.ts";
import type { ScaledLlamaConfig } from "../formats/llama-config.ts";
import {
  AdapterNotRegisteredError, EngineClosedError, EngineRequestError, ModelAlreadyLoadedError, ModelNotLoadedError, TrainingCancelledError,
} from "./errors.ts";
import type {
  AdapterInfo, AdapterSource, AttributionCalibrationRequest, AttributionQualityRequest, Document, EngineGenerationRequest, EngineStats, EvaluationRequest, GradientSketchRequest,
  OutputGradientsRequest, OutputGradientsResult,
  GradientSketchResult, LoadModelOptions, ModelInfo, TrainingJob, TrainingProgress, TrainingResult,
} from "./types.ts";

const DEFAULT_MAX_BATCH_SIZE = 16;
const DEFAULT_ADAPTER_CACHE_BYTES = 256 * 2 ** 20;

interface LoadedModel {
  info: ModelInfo;
  /** The folder it was loaded from (its weights file names the base model in gradient sketches). */
  dir: string;
  config: ScaledLlamaConfig;
  tokenizer: TextTokenizer;
  weights: ServingWeights;
  /** The weights as float32 for training and evaluation; null when matrices are kept in half precision. */
  trainable: LlamaWeights | null;
  decoder: BatchedDecoder;
  scheduler: GenerationScheduler;
  adapters: AdapterCache;
  registered: Map<string, AdapterSource>;
  trainingJobs: number;
}

/** What the attribution requests share: the model with the adapter under test, its TracIn checkpoints, sketch and span index. */
interface AttributionModel {
  model: LlamaModel;
  adapter: LoraAdapter;
  checkpoints: TracInCheckpoint[];
  sketch: GradientSketch;
  index: SpanIndex;
  backend: "reference" | "wasm-simd";
}

export class EngineHost {
  readonly backend: Backend;
  readonly #models = new Map<string, LoadedModel>();
  /** sha2-256 of each loaded model's weights file, as gradient sketches name their base model. */
  readonly #baseDigests = new WeakMap<LoadedModel, string>();
  /** A wasm backend without fused multiply-add, made when the engine's own is not reproducible (outputGradients). */
  #plainSimd: Promise<Backend | WasmBackend> | undefined;
  #closed = false;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  /** Loads a Hugging Face model folder and starts serving it under `modelId`. */
  async loadModel(modelId: string, dir: string, options: LoadModelOptions = {}): Promise<ModelInfo> {
    this.#open();
    requireString("modelId", modelId);
    requireString("dir", dir);
    if (this.#models.has(modelId)) throw new ModelAlreadyLoadedError(modelId);
    const precision = options.weightPrecision ?? "float32";
    if (precision !== "float32" && precision !== "stored") throw new EngineRequestError("weightPrecision", 'must be "float32" or "stored"', precision);
    const folder = await loadModelFolderMetadata(dir);
    const { config, tokenizer } = folder;
    const contextLength = options.contextLength ?? config.maxPositionEmbeddings;
    requirePositiveInteger("contextLength", contextLength, config.maxPositionEmbeddings);
    const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
    requirePositiveInteger("maxBatchSize", maxBatchSize);

    // Read straight into the backend's memory, where its kernels use them in place on every step.
    const weights = await loadModelWeights(dir, config, this.backend, { keepHalf: precision === "stored" });
    if (this.#models.has(modelId)) {
      for (const buffer of weights.values()) this.backend.free(buffer);
      throw new ModelAlreadyLoadedError(modelId);
    }
    const half = [...weights.values()].some(isHalfMatrix);
    let parameters = 0;
    let weightBytes = 0;
    for (const tensor of weights.values()) {
      parameters += weightLength(tensor);
      weightBytes += isHalfMatrix(tensor) ? tensor.bits.byteLength : tensor.byteLength;
    }
    const registered = new Map<string, AdapterSource>();
    const fromDirectory = options.adapterDirectory === undefined ? undefined : createDiskAdapterLoader(options.adapterDirectory, config);
    const adapters = new AdapterCache({
      budgetBytes: options.adapterCacheBytes ?? DEFAULT_ADAPTER_CACHE_BYTES,
      load: async (adapterId) => {
        const source = registered.get(adapterId);
        if (source !== undefined) return readAdapter(source, config);
        if (fromDirectory !== undefined) return fromDirectory(adapterId);
        throw new AdapterLoadError(adapterId, `no adapter is registered under this id for model "${modelId}"`);
      },
      validate: (adapter) => validateLoraAdapter(config, adapter),
      // In the backend's memory the SGMV kernels read the factors in place; evicted ones go back.
      place: (adapter) => copyLoraAdapter(adapter, (n) => this.backend.alloc(n)),
      discard: (adapter) => freeLoraAdapter(adapter, (buffer) => this.backend.free(buffer)),
    });
    const decoder = new BatchedDecoder(config, weights, this.backend, contextLength);
    const scheduler = new GenerationScheduler({
      decoder, tokenizer, adapters, maxBatchSize,
      maxTokensInFlight: options.maxTokensInFlight ?? maxBatchSize * contextLength,
      maxPrefillTokens: options.maxPrefillTokens,
    });
    const eos = config.eosTokenId;
    const info: ModelInfo = {
      modelId, config, parameters, weightBytes, halfPrecisionWeights: half, contextLength,
      eosTokenIds: eos === undefined ? [] : Array.isArray(eos) ? [...eos] : [eos],
    };
    if (tokenizer.chatTemplate !== undefined) info.chatTemplate = tokenizer.chatTemplate;
    if (tokenizer.bosToken !== undefined) info.bosToken = tokenizer.bosToken;
    if (tokenizer.eosToken !== undefined) info.eosToken = tokenizer.eosToken;
    const trainable = half ? null : weights as LlamaWeights;
    this.#models.set(modelId, { info, dir, config, tokenizer, weights, trainable, decoder, scheduler, adapters, registered, trainingJobs: 0 });
    return info;
  }

  /** Stops serving a model (its running requests end with SchedulerClosedError) and gives back its memory. */
  async unloadModel(modelId: string): Promise<void> {
    const model = this.#model(modelId);
    if (model.trainingJobs > 0) throw new EngineRequestError("modelId", `names a model with ${model.trainingJobs} training job(s) running; cancel them first`, modelId);
    this.#models.delete(modelId);
    await model.scheduler.close();
    model.adapters.clear();
    model.decoder.dispose();
    for (const buffer of model.weights.values()) this.backend.free(buffer);
  }

  models(): ModelInfo[] {
    return [...this.#models.values()].map((model) => model.info);
  }

  /**
   * Registers an adapter of a loaded model under `adapterId`: it is read and checked against the
   * base model now (so a bad adapter fails here, not in a user's request), then kept on its tier and
   * loaded into the adapter cache when a request needs it. Registering an id again replaces it for
   * requests that start afterwards.
   */
  async registerAdapter(modelId: string, adapterId: string, source: AdapterSource): Promise<AdapterInfo> {
    const model = this.#model(modelId);
    requireString("adapterId", adapterId);
    const adapter = await readAdapter(checkSource(source), model.config);
    validateLoraAdapter(model.config, adapter);
    model.registered.set(adapterId, source);
    return { modelId, adapterId, config: adapter.config, bytes: adapterByteSize(adapter) };
  }

  unregisterAdapter(modelId: string, adapterId: string): void {
    const model = this.#model(modelId);
    if (!model.registered.delete(adapterId)) throw new AdapterNotRegisteredError(modelId, adapterId);
  }

  /** Queues a generation request in the model's continuous batch; events stream as tokens are sampled. */
  generate(request: EngineGenerationRequest): AsyncIterableIterator<GenerationEvent> {
    const model = this.#model(request.modelId);
    const { modelId: _, ...generation } = request;
    return model.scheduler.generate(generation);
  }

  encode(modelId: string, text: string): number[] {
    requireString("text", text, true);
    return this.#model(modelId).tokenizer.encode(text);
  }

  decode(modelId: string, ids: readonly number[]): string {
    return this.#model(modelId).tokenizer.decode(ids);
  }

  /**
   * Trains a LoRA adapter on the model's frozen weights. Between steps the worker's event loop runs,
   * so generation keeps going (one step at a time) and `signal` can stop the job. The adapter is
   * written to `outputDir` as a PEFT folder; with `checkpointDir` the trainer checkpoints there and a
   * job started again with the same directory resumes bit for bit.
   */
  async train(job: TrainingJob, onProgress: (progress: TrainingProgress) => void = () => {}): Promise<TrainingResult> {
    const model = this.#model(job.modelId);
    requireString("outputDir", job.outputDir);
    if (!Array.isArray(job.train)) throw new EngineRequestError("train", "must be an array of documents");
    const started = performance.now();
    const train = this.#encodeDocuments(model, job.train, "train");
    const heldOut = job.heldOut ? this.#encodeDocuments(model, job.heldOut, "heldOut") : [];
    const adapter = createLoraAdapter(model.config, job.lora, {
      seed: job.seed, baseModel: job.baseModelName ?? job.modelId, alloc: (n) => this.backend.alloc(n),
    });
    const llama = new LlamaModel(model.config, this.#trainableWeights(model), this.backend);
    model.trainingJobs++;
    try {
      llama.setAdapter(adapter);
      const trainer = new Trainer({
        model: llama, trainSequences: train, evalSequences: heldOut, batchSize: job.batchSize, sequenceLength: job.sequenceLength,
        gradientAccumulation: job.gradientAccumulation, totalSteps: job.totalSteps, learningRate: job.learningRate,
        warmupSteps: job.warmupSteps, minLearningRate: job.minLearningRate, weightDecay: job.weightDecay, maxGradNorm: job.maxGradNorm,
        evalEvery: job.evalEvery, seed: job.seed, checkpointDir: job.checkpointDir, checkpointEvery: job.checkpointEvery,
        tracinSteps: job.tracinSteps, tracinDir: job.tracinDir,
      });
      if (job.checkpointDir !== undefined && (job.resume ?? true) && await hasCheckpoint(job.checkpointDir)) await trainer.resume(job.checkpointDir);
      let finalLoss: number | null = null;
      for await (const event of trainer.run()) {
        finalLoss = event.loss;
        onProgress(event);
        if (event.step === event.totalSteps) break;
        if (this.#closed) throw new EngineClosedError();
        if (job.signal?.aborted) {
          if (job.checkpointDir !== undefined) await trainer.saveCheckpoint(job.checkpointDir);
          throw new TrainingCancelledError(trainer.step, job.checkpointDir);
        }
      }
      await savePeftAdapter(job.outputDir, toPeftLayers(adapter, model.config.numLayers), model.config);
      const result: TrainingResult = { adapterDir: job.outputDir, steps: trainer.step, finalLoss, seconds: 0 };
      if (heldOut.length > 0) {
        const { control, memorization } = job.evaluation ?? {};
        result.evaluation = evaluateAdapter(llama, adapter, heldOut, job.batchSize, job.sequenceLength, {
          control: control ? this.#encodeDocuments(model, control, "evaluation.control") : undefined,
          memorization: memorization ? { trainingSequences: train, ...memorization } : undefined,
        });
      }
      result.seconds = (performance.now() - started) / 1000;
      return result;
    } finally {
      model.trainingJobs--;
      llama.dispose();
      freeLoraAdapter(adapter, (buffer) => this.backend.free(buffer));
    }
  }

  /** The evaluation report of a registered adapter against the bare base model. */
  async evaluate(request: EvaluationRequest): Promise<EvaluationReport> {
    const model = this.#model(request.modelId);
    requireString("adapterId", request.adapterId);
    if (!model.registered.has(request.adapterId)) throw new AdapterNotRegisteredError(request.modelId, request.adapterId);
    const heldOut = this.#encodeDocuments(model, request.heldOut, "heldOut");
    const control = request.control ? this.#encodeDocuments(model, request.control, "control") : undefined;
    const memorization = request.memorization
      ? { ...request.memorization, trainingSequences: this.#encodeDocuments(model, request.memorization.training, "memorization.training") }
      : undefined;
    const lease = await this.#acquireAdapter(model, request.adapterId);
    const llama = new LlamaModel(model.config, this.#trainableWeights(model), this.backend);
    try {
      return evaluateAdapter(llama, lease.adapter, heldOut, request.batchSize, request.sequenceLength, { control, memorization });
    } finally {
      llama.dispose();
      lease.release();
    }
  }

  /**
   * The gradient sketch of a trained adapter: each example's projected gradient at every TracIn checkpoint
   * (buildGradientSketch), written to `outputPath`. Examples are encoded exactly as `train` encodes its documents,
   * so the sketch's windows are the ones the adapter was trained on.
   */
  async buildGradientSketch(request: GradientSketchRequest): Promise<GradientSketchResult> {
    const model = this.#model(request.modelId);
    requireString("outputPath", request.outputPath);
    if (!Array.isArray(request.tracinCheckpoints) || request.tracinCheckpoints.length === 0) {
      throw new EngineRequestError("tracinCheckpoints", "must list at least one TracIn checkpoint file (the training job's tracinSteps write them)");
    }
    if (!Array.isArray(request.examples) || request.examples.length === 0) throw new EngineRequestError("examples", "must hold at least one training example");
    requirePositiveInteger("sequenceLength", request.sequenceLength, model.config.maxPositionEmbeddings);
    requirePositiveInteger("projection.dimensions", request.projection?.dimensions);
    if (!Number.isInteger(request.projection.seed) || request.projection.seed < 0 || request.projection.seed > 0xffffffff) {
      throw new EngineRequestError("projection.seed", "must be an integer in [0, 2^32)", request.projection.seed);
    }
    const started = performance.now();
    const contributionIds = request.examples.map((example, i) => {
      if (typeof example?.contributionId !== "string" || !/^\d+$/.test(example.contributionId)) {
        throw new EngineRequestError(`examples[${i}].contributionId`, "must be a uint256 as a decimal string", example?.contributionId);
      }
      return BigInt(example.contributionId);
    });
    if (request.sharedText !== undefined && (typeof request.sharedText !== "object" || request.sharedText === null || Array.isArray(request.sharedText))) {
      throw new EngineRequestError("sharedText", "must be an object { n?, minAccounts? }", request.sharedText);
    }
    const contributors = request.examples.map((example, i) => {
      if (example.contributor === undefined) {
        if (request.sharedText !== undefined) throw new EngineRequestError(`examples[${i}].contributor`, "is needed when sharedText is set (shared text is counted by account)");
        return undefined;
      }
      if (typeof example.contributor !== "string" || !isAddress(example.contributor, { strict: false })) {
        throw new EngineRequestError(`examples[${i}].contributor`, "must be an account address (0x + 40 hex)", example.contributor);
      }
      return getAddress(example.contributor);
    });
    const tokens = this.#encodeDocuments(model, request.examples.map((e) => e.document), "examples.document");
    const decoded = await this.#readTracInCheckpoints(model, request.tracinCheckpoints);
    const baseModel = contentDigest(await readFile(join(model.dir, "model.safetensors")));
    const sketch = this.#withCheckpointModel(model, this.backend, decoded, (llama, checkpoints) =>
      buildGradientSketch(llama, checkpoints, tokens.map((t, i) => ({ contributionId: contributionIds[i], tokens: t, ...(contributors[i] !== undefined ? { contributor: contributors[i] } : {}) })), {
        projection: request.projection, sequenceLength: request.sequenceLength, baseModel, batchSize: request.batchSize,
        ...(request.lastLayers !== undefined ? { lastLayers: request.lastLayers } : {}),
        ...(request.similarity !== undefined ? { similarity: request.similarity } : {}),
        ...(request.sharedText !== undefined ? { sharedText: request.sharedText } : {}),
      }));
    const bytes = encodeGradientSketch(sketch);
    await mkdir(dirname(request.outputPath), { recursive: true });
    await writeFile(request.outputPath, bytes);
    return {
      outputPath: request.outputPath, byteSize: bytes.byteLength, digest: contentDigest(bytes), examples: tokens.length,
      provenance: sketch.provenance!, seconds: (performance.now() - started) / 1000,
    };
  }

  /**
   * The attribution section of a registered adapter's evaluation report (attributionQualityReport): its greedy answers
   * to the canary prompts and the unrelated prompts, attributed with the span index and the gradient sketch (output
   * gradients at the sketch's TracIn checkpoints) on this engine's backend.
   */
  async attributionQuality(request: AttributionQualityRequest): Promise<AttributionQualitySection> {
    const model = this.#attributionModel(request);
    if (!Array.isArray(request.canaries) || request.canaries.length === 0) throw new EngineRequestError("canaries", "must hold at least one canary");
    const tokenIds = (field: string, ids: unknown) => this.#encodeDocuments(model, [ids as Document], field)[0];
    const canaries: AttributionCanary[] = request.canaries.map((c, i) => {
      if (typeof c?.contributionId !== "string" || !/^\d+$/.test(c.contributionId)) {
        throw new EngineRequestError(`canaries[${i}].contributionId`, "must be a uint256 as a decimal string", c?.contributionId);
      }
      return { contributionId: BigInt(c.contributionId), prompt: tokenIds(`canaries[${i}].prompt`, c.prompt), reference: tokenIds(`canaries[${i}].reference`, c.reference) };
    });
    const unrelatedPrompts = (request.unrelatedPrompts ?? []).map((p, i) => tokenIds(`unrelatedPrompts[${i}]`, p));
    return this.#withAttributionModel(model, request, (attribution) => attributionQualityReport({
      ...attribution,
      split: { mode: request.mode, training: [], canaries, tooShort: (request.tooShort ?? []).map((id) => BigInt(id)) },
      unrelatedPrompts, referenceIndexed: request.referenceIndexed, mixPpm: request.mixPpm, threshold: request.threshold,
      calibratedThresholds: request.calibratedThresholds,
    }));
  }

  /**
   * The adapter's null calibration (calibrateAttributionThreshold): its greedy continuations of the unrelated prompts,
   * attributed by span, gradient and combined with the job's span index and sketch on this engine's backend.
   */
  async calibrateAttribution(request: AttributionCalibrationRequest): Promise<NullCalibration> {
    const model = this.#attributionModel(request);
    if (!Array.isArray(request.prompts) || request.prompts.length === 0) throw new EngineRequestError("prompts", "must hold at least one calibration prompt");
    requirePositiveInteger("outputTokens", request.outputTokens, model.config.maxPositionEmbeddings);
    const prompts = request.prompts.map((p, i) => this.#encodeDocuments(model, [p as Document], `prompts[${i}]`)[0]);
    return this.#withAttributionModel(model, request, (attribution) => calibrateAttributionThreshold({
      ...attribution, prompts, outputTokens: request.outputTokens, mixPpm: request.mixPpm, falsePositiveRate: request.falsePositiveRate,
    }));
  }

  /**
   * A served output's projected gradients at the sketch's TracIn checkpoints (outputGradients), for a paid response's
   * attribution record. On a reproducible backend: this engine's when it is one, else a plain SIMD wasm backend made
   * once (one thread: its results do not depend on the thread count, and serving keeps the other cores), which reads
   * the base weights where they are.
   */
  async outputGradients(request: OutputGradientsRequest): Promise<OutputGradientsResult> {
    const model = this.#model(request.modelId);
    const provenance = request.provenance;
    if (typeof provenance !== "object" || provenance === null || !Array.isArray(provenance.checkpoints)) {
      throw new EngineRequestError("provenance", "must be a gradient sketch's provenance (checkpoints, projection, sequenceLength, baseModel)");
    }
    if (!Array.isArray(request.checkpoints) || request.checkpoints.length !== provenance.checkpoints.length) {
      throw new EngineRequestError("checkpoints", `must hold the ${provenance.checkpoints.length} TracIn checkpoint files the provenance names, in its order`);
    }
    const prompt = this.#encodeDocuments(model, [request.prompt as Document], "prompt")[0];
    const output = this.#encodeDocuments(model, [request.output as Document], "output")[0];
    // A half-precision model fails here, before its weights file is hashed.
    this.#trainableWeights(model);
    let baseDigest = this.#baseDigests.get(model);
    if (baseDigest === undefined) {
      baseDigest = contentDigest(await readFile(join(model.dir, "model.safetensors")));
      this.#baseDigests.set(model, baseDigest);
    }
    if (baseDigest !== provenance.baseModel) {
      throw new EngineRequestError("provenance.baseModel", `is ${provenance.baseModel}; model ${request.modelId}'s weights have digest ${baseDigest}`);
    }
    const started = performance.now();
    const { backend, name } = await this.#reproducibleBackend();
    const decoded = request.checkpoints.map((bytes, i) => {
      const digest = contentDigest(bytes);
      if (digest !== provenance.checkpoints[i].digest) {
        throw new EngineRequestError(`checkpoints[${i}]`, `has digest ${digest}; the sketch names ${provenance.checkpoints[i].digest}`);
      }
      return decodeTracInCheckpoint(bytes, model.config);
    });
    return this.#withCheckpointModel(model, backend, decoded, (llama, checkpoints) => {
      const gradients = outputGradients(llama, provenance, checkpoints, prompt, output);
      return { backend: name, checkpoints: gradients.map((g) => ({ learningRate: g.learningRate, gradient: g.gradient })), seconds: (performance.now() - started) / 1000 };
    });
  }

  /** The loaded model an attribution request (quality report or null calibration) names, with the fields they share checked. */
  #attributionModel(request: AttributionQualityRequest | AttributionCalibrationRequest): LoadedModel {
    const model = this.#model(request.modelId);
    requireString("adapterId", request.adapterId);
    if (!model.registered.has(request.adapterId)) throw new AdapterNotRegisteredError(request.modelId, request.adapterId);
    requireString("sketchPath", request.sketchPath);
    requireString("spanIndexPath", request.spanIndexPath);
    if (!Array.isArray(request.tracinCheckpoints) || request.tracinCheckpoints.length === 0) {
      throw new EngineRequestError("tracinCheckpoints", "must list the TracIn checkpoint files the gradient sketch was built at");
    }
    return model;
  }

  /**
   * Runs `fn` with what attributing the registered adapter's outputs needs, as a paid output is attributed: the job's
   * span index and gradient sketch, the adapter (leased from the cache), the model and the sketch's TracIn checkpoints
   * on this engine's backend. Everything is given back when `fn` ends, however it ends.
   */
  async #withAttributionModel<T>(
    model: LoadedModel, request: AttributionQualityRequest | AttributionCalibrationRequest, fn: (attribution: AttributionModel) => T,
  ): Promise<T> {
    const index = decodeSpanIndex(new Uint8Array(await readFile(request.spanIndexPath)));
    const sketch = decodeGradientSketch(new Uint8Array(await readFile(request.sketchPath)));
    const decoded = await this.#readTracInCheckpoints(model, request.tracinCheckpoints);
    const lease = await this.#acquireAdapter(model, request.adapterId);
    try {
      const backend = this.backend.name === "reference" ? "reference" : "wasm-simd";
      return this.#withCheckpointModel(model, this.backend, decoded, (llama, checkpoints) =>
        fn({ model: llama, adapter: lease.adapter, checkpoints, sketch, index, backend }));
    } finally {
      lease.release();
    }
  }

  /**
   * Runs `fn` with a LlamaModel of the model's float32 weights on `backend` and the TracIn checkpoints' adapters copied
   * into that backend's memory, where its kernels read the factors (as the adapter cache places served adapters). It
   * counts as a training job meanwhile, so an unload or close leaves the weights it reads alone; the model and the
   * copies are given back when `fn` returns or throws. Synchronous, like the computations it runs: nothing else runs
   * on the backend between the copies and their release (close relies on it for the plain SIMD backend).
   */
  #withCheckpointModel<T>(
    model: LoadedModel, backend: Backend, decoded: readonly TracInCheckpoint[], fn: (llama: LlamaModel, checkpoints: TracInCheckpoint[]) => T,
  ): T {
    const llama = new LlamaModel(model.config, this.#trainableWeights(model), backend);
    const checkpoints: TracInCheckpoint[] = [];
    model.trainingJobs++;
    try {
      for (const c of decoded) checkpoints.push({ ...c, adapter: copyLoraAdapter(c.adapter, (n) => backend.alloc(n)) });
      return fn(llama, checkpoints);
    } finally {
      model.trainingJobs--;
      llama.dispose();
      for (const { adapter } of checkpoints) freeLoraAdapter(adapter, (buffer) => backend.free(buffer));
    }
  }

  /** The TracIn checkpoint files at `paths`, decoded against the model's config, in step order. */
  async #readTracInCheckpoints(model: LoadedModel, paths: readonly string[]): Promise<TracInCheckpoint[]> {
    const decoded = [];
    for (const path of paths) {
      requireString("tracinCheckpoints[]", path);
      decoded.push(decodeTracInCheckpoint(await readFile(path), model.config));
    }
    return decoded.sort((a, b) => a.step - b.step);
  }

  /** A lease on a registered adapter of the model, which must still be loaded once the adapter is. */
  async #acquireAdapter(model: LoadedModel, adapterId: string): Promise<AdapterLease> {
    const lease = await model.adapters.acquire(adapterId);
    // The model may have been unloaded (its weights given back) while the adapter loaded.
    if (this.#models.get(model.info.modelId) !== model) {
      lease.release();
      model.adapters.clear();
      throw new ModelNotLoadedError(model.info.modelId);
    }
    return lease;
  }

  async #reproducibleBackend(): Promise<{ backend: Backend; name: OutputGradientsResult["backend"] }> {
    if (this.backend.name === "reference") return { backend: this.backend, name: "reference" };
    if (this.backend.name.startsWith("wasm-simd,")) return { backend: this.backend, name: "wasm-simd" };
    this.#plainSimd ??= createWasmBackend({ fusedMultiplyAdd: false, threads: 1 }).catch(() => createReferenceBackend());
    const backend = await this.#plainSimd;
    return { backend, name: backend.name === "reference" ? "reference" : "wasm-simd" };
  }

  stats(): EngineStats {
    const models: EngineStats["models"] = {};
    for (const [modelId, model] of this.#models) {
      models[modelId] = {
        scheduler: model.scheduler.stats, adapters: model.adapters.stats,
        registeredAdapters: model.registered.size, trainingJobs: model.trainingJobs,
      };
    }
    return { backend: this.backend.name, memory: this.backend.memoryStats(), models };
  }

  /** Unloads every model (running requests end with SchedulerClosedError) and stops taking calls. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const [modelId, model] of [...this.#models]) {
      this.#models.delete(modelId);
      await model.scheduler.close();
      model.adapters.clear();
      model.decoder.dispose();
      // Training jobs still running notice #closed after their step and free their own buffers;
      // the weights they read go back only once they have.
      if (model.trainingJobs === 0) for (const buffer of model.weights.values()) this.backend.free(buffer);
    }
    // outputGradients runs without awaiting once it holds this backend, so none is using it now.
    const plainSimd = this.#plainSimd;
    this.#plainSimd = undefined;
    if (plainSimd !== undefined) await (await plainSimd).dispose();
  }

  #model(modelId: string): LoadedModel {
    this.#open();
    requireString("modelId", modelId);
    const model = this.#models.get(modelId);
    if (model === undefined) throw new ModelNotLoadedError(modelId);
    return model;
  }

  #trainableWeights(model: LoadedModel): LlamaWeights {
    if (model.trainable === null) {
      throw new EngineRequestError("modelId", `names a model loaded with half-precision weights (weightPrecision "stored"), which serves only; training and evaluation need it loaded with weightPrecision "float32"`, model.info.modelId);
    }
    return model.trainable;
  }

  #open(): void {
    if (this.#closed) throw new EngineClosedError();
  }

  #encodeDocuments(model: LoadedModel, documents: readonly Document[], field: string): Int32Array[] {
    if (!Array.isArray(documents)) throw new EngineRequestError(field, "must be an array of documents (strings or token id arrays)");
    const V = model.config.vocabSize;
    return documents.map((document, i) => {
      if (typeof document === "string") return Int32Array.from(model.tokenizer.encode(document));
      if (!Array.isArray(document) && !ArrayBuffer.isView(document)) throw new EngineRequestError(`${field}[${i}]`, "must be a string or an array of token ids");
      const ids = Int32Array.from(document as ArrayLike<number>);
      for (const id of ids) {
        if (!(id >= 0 && id < V)) throw new EngineRequestError(`${field}[${i}]`, `holds token id ${id}, outside the vocabulary [0, ${V})`);
      }
      return ids;
    });
  }
}

async function readAdapter(source: AdapterSource, config: ScaledLlamaConfig): Promise<LoraAdapter> {
  if ("dir" in source) return fromPeftLayers(await loadPeftAdapter(source.dir, config));
  return fromPeftLayers(readPeftAdapter(source.adapterConfig, source.safetensors, config));
}

function checkSource(source: AdapterSource): AdapterSource {
  if (source === null || typeof source !== "object") throw new EngineRequestError("source", "must be { dir } or { adapterConfig, safetensors }");
  if ("dir" in source) {
    requireString("source.dir", source.dir);
    return source;
  }
  if (!(source.safetensors instanceof Uint8Array)) throw new EngineRequestError("source.safetensors", "must be the bytes of adapter_model.safetensors");
  return source;
}

async function hasCheckpoint(dir: string): Promise<boolean> {
  try {
    await readFile(join(dir, "trainer-state.json"));
    return true;
  } catch {
    return false;
  }
}

function requireString(field: string, value: unknown, allowEmpty = false): void {
  if (typeof value !== "string" || (!allowEmpty && value.length === 0)) throw new EngineRequestError(field, "must be a non-empty string", value);
}

function requirePositiveInteger(field: string, value: number, max = Infinity): void {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new EngineRequestError(field, `must be an integer in [1, ${max}]`, value);
}
