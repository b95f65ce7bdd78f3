/**
 * The engine behind an async API, on its own worker thread: what the node's HTTP server and job
 * runner use. Model calls (decode steps, training steps) run on the worker, so the caller's event
 * loop stays free; requests from many callers are batched together by the continuous-batching
 * scheduler inside the worker.
 *
 *   const engine = await Engine.start({ threads: 2 });
 *   await engine.loadModel("base", "models/tributary-base-v0");
 *   await engine.registerAdapter("base", "legal-v1", { dir: "adapters/legal-v1" });
 *   for await (const event of engine.generate({ modelId: "base", adapterId: "legal-v1", prompt: "The court", maxTokens: 32 })) ...
 *   const run = engine.train({ modelId: "base", train: docs, lora, ..., outputDir });
 *   for await (const progress of run.progress) console.log(progress.step, progress.loss, progress.etaSeconds);
 *   const { adapterDir, evaluation } = await run.result;
 *   await engine.close();
 *
 * Errors thrown in the worker arrive as instances of their own classes (InvalidRequestError,
 * ModelNotLoadedError, FormatError...) with their message and `details`.
 */
import { Worker } from "node:worker_threads";
import { EventStream } from "../inference/event-stream.ts";
import type { GenerationEvent } from "../inference/generation-sequence.ts";
import type { EvaluationReport } from "../train/evaluate.ts";
import type { AttributionQualitySection } from "../../attribution/attribution-quality-report.ts";
import type { NullCalibration } from "../../attribution/null-calibration.ts";
import { EngineClosedError, EngineWorkerExitedError } from "./errors.ts";
import type { CallMethod, ClientMessage, EngineWorkerData, WorkerMessage } from "./protocol.ts";
import { deserializeError } from "./remote-errors.ts";
import type {
  AdapterInfo, AdapterSource, AttributionCalibrationRequest, AttributionQualityRequest, EngineGenerationRequest, EngineOptions, EngineStats, EvaluationRequest, GradientSketchRequest,
  GradientSketchResult, LoadModelOptions, ModelInfo, OutputGradientsRequest, OutputGradientsResult, TrainingJob, TrainingProgress, TrainingResult, TrainingRun,
} from "./types.ts";

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  onEvent?: (event: unknown) => void;
}

export class Engine {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;
  #exitReason: string | null = null;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on("message", (message: WorkerMessage) => this.#receive(message));
    worker.on("error", (error) => this.#failAll(`it threw ${error.name}: ${error.message}`));
    worker.on("exit", (code) => this.#failAll(`it exited with code ${code}`));
  }

  /** Starts the engine's worker thread and its compute backend; resolves once they are ready. */
  static async start(options: EngineOptions = {}): Promise<Engine> {
    const data: EngineWorkerData = { options };
    const worker = new Worker(new URL("./engine-worker.ts", import.meta.url), { workerData: data });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: WorkerMessage) => {
        if (message.kind === "ready") resolve();
        else if (message.kind === "startFailed") reject(deserializeError(message.error));
        else return;
        worker.off("message", onMessage);
        worker.off("exit", onExit);
      };
      const onExit = (code: number) => reject(new EngineWorkerExitedError(`it exited with code ${code} while starting`));
      worker.on("message", onMessage);
      worker.once("exit", onExit);
    });
    return new Engine(worker);
  }

  /** Loads a Hugging Face model folder (config.json, model.safetensors, tokenizer.json) and serves it as `modelId`. */
  loadModel(modelId: string, dir: string, options: LoadModelOptions = {}): Promise<ModelInfo> {
    return this.#call("loadModel", [modelId, dir, options]) as Promise<ModelInfo>;
  }

  /** Stops serving a model: its running requests end with SchedulerClosedError; its memory is given back. */
  unloadModel(modelId: string): Promise<void> {
    return this.#call("unloadModel", [modelId]) as Promise<void>;
  }

  models(): Promise<ModelInfo[]> {
    return this.#call("models", []) as Promise<ModelInfo[]>;
  }

  /**
   * Registers a PEFT LoRA adapter for a loaded model, from a folder or from the two files' bytes
   * (adapter_config.json parsed, adapter_model.safetensors raw). It is checked against the base
   * model now; requests then name it by `adapterId`. Bytes are copied to the worker.
   */
  registerAdapter(modelId: string, adapterId: string, source: AdapterSource): Promise<AdapterInfo> {
    return this.#call("registerAdapter", [modelId, adapterId, source]) as Promise<AdapterInfo>;
  }

  unregisterAdapter(modelId: string, adapterId: string): Promise<void> {
    return this.#call("unregisterAdapter", [modelId, adapterId]) as Promise<void>;
  }

  /**
   * Generates a completion, streamed: one "token" event per token, then "finish". Cancelled by the
   * request's `signal` or by leaving the `for await` early. A request that can never be served
   * (a bad field, too long) throws InvalidRequestError from the first `next()`.
   */
  generate(request: EngineGenerationRequest): AsyncIterableIterator<GenerationEvent> {
    const { signal, ...rest } = request;
    const id = this.#nextId++;
    let settled = false;
    const cancel = () => {
      if (!settled) this.#send({ kind: "cancel", id });
    };
    const stream = new EventStream<GenerationEvent>(cancel);
    const removeAbort = listenForAbort(signal, cancel);
    const finish = () => {
      settled = true;
      removeAbort();
    };
    if (!this.#register(id, {
      resolve: () => { finish(); stream.end(); },
      reject: (error) => { finish(); stream.fail(error); },
      onEvent: (event) => stream.push(event as GenerationEvent),
    })) {
      finish();
      stream.fail(this.#closedError());
      return stream;
    }
    if (signal?.aborted) cancel();
    this.#send({ kind: "generate", id, request: rest });
    return stream;
  }

  /**
   * Starts a LoRA training job: progress streams after every optimizer step, the adapter is written
   * to `outputDir` (and checkpoints to `checkpointDir`) and `result` resolves with its folder and
   * evaluation report. `cancel()` or the job's `signal` stops it after the current step.
   */
  train(job: TrainingJob): TrainingRun {
    const { signal, ...rest } = job;
    const id = this.#nextId++;
    let settled = false;
    const cancel = () => {
      if (!settled) this.#send({ kind: "cancel", id });
    };
    // Leaving the progress loop early does not cancel the job: the result still arrives.
    const progress = new EventStream<TrainingProgress>(() => {});
    const removeAbort = listenForAbort(signal, cancel);
    const result = new Promise<TrainingResult>((resolve, reject) => {
      const registered = this.#register(id, {
        resolve: (value) => { settled = true; removeAbort(); progress.end(); resolve(value as TrainingResult); },
        reject: (error) => { settled = true; removeAbort(); progress.fail(error); reject(error); },
        onEvent: (event) => progress.push(event as TrainingProgress),
      });
      if (!registered) {
        settled = true;
        const error = this.#closedError();
        progress.fail(error);
        reject(error);
      }
    });
    // A caller may only read progress (which fails too); the result's rejection is not unhandled then.
    result.catch(() => {});
    if (!settled) {
      if (signal?.aborted) cancel();
      this.#send({ kind: "train", id, job: rest });
    }
    return { progress, result, cancel };
  }

  /** The evaluation report of a registered adapter against the bare base model (held-out and control loss, memorization). */
  evaluate(request: EvaluationRequest): Promise<EvaluationReport> {
    return this.#call("evaluate", [request]) as Promise<EvaluationReport>;
  }

  /**
   * Builds the gradient sketch of a trained adapter from its TracIn checkpoint files and writes it to
   * `outputPath`; the worker does the backward passes, so the caller's thread stays free.
   */
  buildGradientSketch(request: GradientSketchRequest): Promise<GradientSketchResult> {
    return this.#call("buildGradientSketch", [request]) as Promise<GradientSketchResult>;
  }

  /**
   * The attribution section of a trained adapter's evaluation report: its answers to held-out canary prompts (and to
   * unrelated prompts) attributed with the job's span index and gradient sketch, on the worker.
   */
  attributionQuality(request: AttributionQualityRequest): Promise<AttributionQualitySection> {
    return this.#call("attributionQuality", [request]) as Promise<AttributionQualitySection>;
  }

  /**
   * A served output's projected gradients at its adapter's TracIn checkpoints, on a reproducible backend on the worker
   * (what a paid response's attribution record carries and a verifier recomputes bit for bit).
   */
  outputGradients(request: OutputGradientsRequest): Promise<OutputGradientsResult> {
    return this.#call("outputGradients", [request]) as Promise<OutputGradientsResult>;
  }

  /** The adapter's null calibration (split-conformal thresholds per attribution method), on the worker. */
  calibrateAttribution(request: AttributionCalibrationRequest): Promise<NullCalibration> {
    return this.#call("calibrateAttribution", [request]) as Promise<NullCalibration>;
  }

  /** Token ids of `text` with the model's tokenizer (special tokens added as the tokenizer does). */
  encode(modelId: string, text: string): Promise<number[]> {
    return this.#call("encode", [modelId, text]) as Promise<number[]>;
  }

  decode(modelId: string, ids: readonly number[]): Promise<string> {
    return this.#call("decode", [modelId, [...ids]]) as Promise<string>;
  }

  /** Memory (the backend's live bytes and high-water mark), scheduler and adapter-cache figures per model. */
  stats(): Promise<EngineStats> {
    return this.#call("stats", []) as Promise<EngineStats>;
  }

  /**
   * Unloads every model (requests in flight end with SchedulerClosedError, training jobs with
   * EngineClosedError after their step), releases the backend and stops the worker. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#exitReason !== null) {
      this.#closed = true;
      return;
    }
    const id = this.#nextId++;
    const done = new Promise<void>((resolve, reject) => {
      this.#register(id, { resolve: () => resolve(), reject });
    });
    this.#closed = true;
    this.#send({ kind: "close", id });
    try {
      await done;
    } catch (error) {
      if (!(error instanceof EngineWorkerExitedError)) throw error;
    }
    await this.#worker.terminate();
  }

  #call(method: CallMethod, args: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      if (!this.#register(id, { resolve, reject })) return reject(this.#closedError());
      this.#send({ kind: "call", id, method, args });
    });
  }

  #register(id: number, pending: Pending): boolean {
    if (this.#closed || this.#exitReason !== null) return false;
    this.#pending.set(id, pending);
    return true;
  }

  #send(message: ClientMessage): void {
    if (this.#exitReason === null) this.#worker.postMessage(message);
  }

  #receive(message: WorkerMessage): void {
    switch (message.kind) {
      case "event": this.#pending.get(message.id)?.onEvent?.(message.event); break;
      case "events": for (const { id, event } of message.events) this.#pending.get(id)?.onEvent?.(event); break;
      case "result": this.#settle(message.id)?.resolve(message.value); break;
      case "error": this.#settle(message.id)?.reject(deserializeError(message.error)); break;
    }
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    return pending;
  }

  #closedError(): Error {
    return this.#closed || this.#exitReason === null ? new EngineClosedError() : new EngineWorkerExitedError(this.#exitReason);
  }

  #failAll(reason: string): void {
    if (this.#exitReason !== null) return;
    this.#exitReason = reason;
    const error = this.#closed ? new EngineClosedError() : new EngineWorkerExitedError(reason);
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.reject(error);
    }
  }
}

function listenForAbort(signal: AbortSignal | undefined, onAbort: () => void): () => void {
  if (signal === undefined) return () => {};
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}
