/**
 * The engine's worker thread: hosts an EngineHost (models, scheduler, training) and answers the
 * client's messages (protocol.ts). Model calls block this thread, never the caller's: the node's
 * HTTP server keeps answering while a decode step or a training step runs here.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createBackend } from "../backend/create-backend.ts";
import { EngineHost } from "./engine-host.ts";
import { EngineRequestError } from "./errors.ts";
import type { CallMethod, ClientMessage, EngineWorkerData, WorkerMessage } from "./protocol.ts";
import { serializeError } from "./remote-errors.ts";
import type { EngineGenerationRequest, TrainingJob } from "./types.ts";

const port = parentPort!;
const { options } = workerData as EngineWorkerData;

function send(message: WorkerMessage): void {
  port.postMessage(message);
}

/**
 * Events of one scheduler step arrive as a burst of microtasks; they are sent as one message once
 * the burst is over, so a batch of 64 sequences costs the caller one message per step, not 64.
 */
let outbox: { id: number; event: unknown }[] = [];
function sendEvent(id: number, event: unknown): void {
  if (outbox.length === 0) queueMicrotask(flushEvents);
  outbox.push({ id, event });
}
function flushEvents(): void {
  if (outbox.length === 0) return;
  const events = outbox;
  outbox = [];
  send({ kind: "events", events });
}
function sendResult(id: number, value: unknown): void {
  flushEvents();
  send({ kind: "result", id, value });
}
function sendError(id: number, error: unknown): void {
  flushEvents();
  send({ kind: "error", id, error: serializeError(error) });
}

let host: EngineHost;
try {
  host = new EngineHost(await createBackend(options));
} catch (error) {
  send({ kind: "startFailed", error: serializeError(error) });
  process.exit(1);
}

/** Streams in flight by call id, so "cancel" can stop them. */
const cancellers = new Map<number, () => void>();

const calls: Record<CallMethod, (...args: never[]) => unknown> = {
  loadModel: (modelId: string, dir: string, loadOptions: object) => host.loadModel(modelId, dir, loadOptions),
  unloadModel: (modelId: string) => host.unloadModel(modelId),
  models: () => host.models(),
  registerAdapter: (modelId: string, adapterId: string, source: never) => host.registerAdapter(modelId, adapterId, source),
  unregisterAdapter: (modelId: string, adapterId: string) => host.unregisterAdapter(modelId, adapterId),
  evaluate: (request: never) => host.evaluate(request),
  buildGradientSketch: (request: never) => host.buildGradientSketch(request),
  attributionQuality: (request: never) => host.attributionQuality(request),
  outputGradients: (request: never) => host.outputGradients(request),
  calibrateAttribution: (request: never) => host.calibrateAttribution(request),
  encode: (modelId: string, text: string) => host.encode(modelId, text),
  decode: (modelId: string, ids: number[]) => host.decode(modelId, ids),
  stats: () => host.stats(),
};

async function call(id: number, method: CallMethod, args: unknown[]): Promise<void> {
  try {
    const fn = calls[method];
    if (fn === undefined) throw new EngineRequestError("method", `"${String(method)}" is not an engine method`);
    sendResult(id, await (fn as (...a: unknown[]) => unknown)(...args));
  } catch (error) {
    sendError(id, error);
  }
}

async function generate(id: number, request: EngineGenerationRequest): Promise<void> {
  const controller = new AbortController();
  cancellers.set(id, () => controller.abort());
  try {
    const stream = host.generate({ ...request, signal: controller.signal });
    for await (const event of stream) sendEvent(id, event);
    sendResult(id, null);
  } catch (error) {
    sendError(id, error);
  } finally {
    cancellers.delete(id);
  }
}

async function train(id: number, job: TrainingJob): Promise<void> {
  const controller = new AbortController();
  cancellers.set(id, () => controller.abort());
  try {
    const result = await host.train({ ...job, signal: controller.signal }, (progress) => sendEvent(id, progress));
    sendResult(id, result);
  } catch (error) {
    sendError(id, error);
  } finally {
    cancellers.delete(id);
  }
}

port.on("message", (message: ClientMessage) => {
  switch (message.kind) {
    case "call": void call(message.id, message.method, message.args); break;
    case "generate": void generate(message.id, message.request as EngineGenerationRequest); break;
    case "train": void train(message.id, message.job as TrainingJob); break;
    case "cancel": cancellers.get(message.id)?.(); break;
    case "close":
      void host.close().then(async () => {
        await host.backend.dispose();
        sendResult(message.id, null);
        port.close();
      }, (error: unknown) => sendError(message.id, error));
      break;
  }
});

send({ kind: "ready" });
