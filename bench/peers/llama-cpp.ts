/**
 * llama.cpp as a peer, through node-llama-cpp 3.21.1 and its prebuilt linux-x64 CPU binaries. The package lives in
 * bench/peers/llama-cpp/ with its own package.json and lockfile, so the root install never pulls its optional
 * CUDA/Vulkan binary packages; `installLlamaCpp` installs it there on demand (the npm registry is the only network
 * it needs), `loadLlamaCpp` imports it or says why it cannot.
 *
 * Only the slice of node-llama-cpp's API the bench and the GGUF test use is typed here.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

export const LLAMA_CPP_DIR = join(import.meta.dirname, "llama-cpp");
export const NODE_LLAMA_CPP_VERSION = "3.21.1";
const ENTRY = join(LLAMA_CPP_DIR, "node_modules", "node-llama-cpp", "dist", "index.js");

export interface LlamaCppSequence {
  evaluate(tokens: number[], options?: { temperature?: number }): AsyncGenerator<number, void, void | number[]>;
  clearHistory(): Promise<void>;
  dispose(): void;
}
export interface LlamaCppContext {
  getSequence(): LlamaCppSequence;
  dispose(): Promise<void>;
}
export interface LlamaCppModel {
  tokenize(text: string, specialTokens?: boolean): number[];
  detokenize(tokens: readonly number[]): string;
  createContext(options: {
    contextSize?: number; batchSize?: number; sequences?: number; threads?: number;
    lora?: { adapters: { filePath: string; scale?: number }[] };
  }): Promise<LlamaCppContext>;
  dispose(): Promise<void>;
}
export interface LlamaCpp {
  loadModel(options: { modelPath: string; gpuLayers?: number }): Promise<LlamaCppModel>;
  readonly cpuMathCores: number;
  dispose(): Promise<void>;
}
interface NodeLlamaCppModule {
  getLlama(options: { gpu: false; build: "never"; logLevel?: string; maxThreads?: number }): Promise<LlamaCpp>;
  LlamaLogLevel: Record<string, string>;
}

/** Whether the peer's package is installed in bench/peers/llama-cpp/node_modules. */
export function llamaCppInstalled(): boolean {
  return existsSync(ENTRY);
}

/** Installs node-llama-cpp and only its linux-x64 CPU binaries, from the committed lockfile. */
export async function installLlamaCpp(): Promise<void> {
  // --ignore-scripts: node-llama-cpp's postinstall would compile llama.cpp from source when it cannot see a GPU
  // build; the prebuilt linux-x64 package is all a CPU peer needs, and getLlama({ build: "never" }) uses it.
  await promisify(execFile)("npm", ["install", "--prefix", LLAMA_CPP_DIR, "--no-audit", "--no-fund", "--omit=optional", "--ignore-scripts"], { maxBuffer: 1 << 24 });
}

/** llama.cpp on the CPU with its prebuilt binaries, never building; `undefined` with the reason when it is not installed. */
export async function loadLlamaCpp(maxThreads?: number): Promise<{ llama: LlamaCpp } | { missing: string }> {
  if (!llamaCppInstalled()) {
    return { missing: `node-llama-cpp is not installed in ${LLAMA_CPP_DIR} (npm install --prefix ${LLAMA_CPP_DIR} --omit=optional --ignore-scripts, or run npm run bench:peers once)` };
  }
  const module = (await import(pathToFileURL(ENTRY).href)) as NodeLlamaCppModule;
  const llama = await module.getLlama({ gpu: false, build: "never", logLevel: module.LlamaLogLevel.error, ...(maxThreads === undefined ? {} : { maxThreads }) });
  return { llama };
}

/** Greedily generates `newTokens` after `prompt` in `sequence`, returning the tokens (eos is not special to the loop). */
export async function llamaCppGreedy(sequence: LlamaCppSequence, prompt: number[], newTokens: number): Promise<number[]> {
  const out: number[] = [];
  for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
    out.push(token);
    if (out.length === newTokens) break;
  }
  return out;
}

/**
 * Tokens per second for `prompts`, request i with adapter file i mod K. llama.cpp applies LoRA adapters per context,
 * never per sequence, so requests are grouped by adapter: one context per adapter, its requests decoded together as
 * the context's parallel sequences (batched in each llama_decode), groups served one after another with all threads.
 * One request and one adapter is single-stream decode.
 */
export async function llamaCppThroughput(
  model: LlamaCppModel, adapterFiles: readonly (string | null)[], prompts: readonly number[][], newTokens: number, threads: number,
): Promise<{ tokensPerSecond: number; firstTokens: number[] }> {
  const groups = new Map<number, number[][]>();
  prompts.forEach((prompt, i) => {
    const k = i % adapterFiles.length;
    groups.set(k, [...(groups.get(k) ?? []), prompt]);
  });
  const contexts: [LlamaCppContext, number[][]][] = [];
  for (const [k, members] of groups) {
    const file = adapterFiles[k];
    const perSequence = members[0].length + newTokens;
    contexts.push([await model.createContext({
      contextSize: perSequence * members.length, sequences: members.length, batchSize: Math.max(perSequence * members.length, 32), threads,
      ...(file === null ? {} : { lora: { adapters: [{ filePath: file }] } }),
    }), members]);
  }
  let firstTokens: number[] = [];
  const start = performance.now();
  for (const [context, members] of contexts) {
    const outputs = await Promise.all(members.map((prompt) => llamaCppGreedy(context.getSequence(), prompt, newTokens)));
    if (firstTokens.length === 0) firstTokens = outputs[0];
  }
  const seconds = (performance.now() - start) / 1000;
  for (const [context] of contexts) await context.dispose();
  return { tokensPerSecond: (prompts.length * newTokens) / seconds, firstTokens };
}
