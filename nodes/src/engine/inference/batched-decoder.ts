import type { Backend } from "../backend/backend.ts";
import { ropeInverseFrequencies, type ScaledLlamaConfig } from "../formats/llama-config.ts";
import { decoderLayerForward, outputHeadForward, type LayerBuffers, type LayerSteps } from "../model/layer-forward.ts";
import { attentionCachedForward } from "../ops/attention-cached.ts";
import { encoderForwardWeights } from "../ops/encoder.ts";
import { linearForward } from "../ops/linear.ts";
import { ropeTable, type RopeTable } from "../ops/rope.ts";
import { loraScale, type LoraAdapter } from "../lora/adapter.ts";
import { InvalidRequestError } from "./errors.ts";
import { writeCacheRows, type SequenceKvCache } from "./kv-cache.ts";
import { addLoraDeltas, addLoraDeltasPerGroup, type AdapterRowGroup } from "./lora-batch.ts";
import { selectModelWeights, type ModelWeights, type ServingWeights } from "./model-weights.ts";

/**
 * One sequence's part of a forward step: its new tokens, which go to positions
 * [cache.length, cache.length + tokens.length). A prefill passes the whole prompt, a decode step
 * the one token sampled last; both kinds mix freely in one step.
 */
export interface ForwardSegment {
  cache: SequenceKvCache;
  tokens: ArrayLike<number>;
  /** The sequence's LoRA adapter, or null for the base model. */
  adapter: LoraAdapter | null;
}

export interface BatchedDecoderOptions {
  /**
   * How the adapters' low-rank updates run: "sgmv" (default), one shrink and one expand kernel call
   * per projection for the whole batch; "per-group", two matmuls per adapter in the batch (the
   * reference, kept for tests and for the benchmark's comparison).
   */
  loraUpdate?: "sgmv" | "per-group";
}

export interface ForwardOptions {
  /** Logits for every new token instead of only each segment's last one (scoring, tests). */
  allLogits?: boolean;
}

/**
 * The base model's rows are laid out in this order: segments grouped by adapter, so each adapter
 * is one contiguous run of rows. `rowOf[s]` is segment s's first row.
 */
interface RowLayout {
  order: number[];
  rowOf: number[];
  groups: AdapterRowGroup[];
  N: number;
}

/**
 * Buffers for one step, sized for N rows (B batch × new tokens, llm.c's B·T) and grown on demand;
 * allocated through the backend so its kernels use them without copies.
 *   x, xn, proj [N, C]   q, att [N, NH*HS]   k, v [N, NKV*HS]   gate, up, hidden [N, F]
 */
interface Workspace {
  rows: number;
  x: Float32Array;
  xn: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  attOut: Float32Array;
  proj: Float32Array;
  gate: Float32Array;
  up: Float32Array;
  hidden: Float32Array;
  loraScratch: Float32Array;
  tokens: Int32Array;
  positions: Int32Array;
}

/**
 * Incremental (KV-cached) forward pass of a Llama decoder over a batch of sequences at different
 * positions and lengths, each with its own LoRA adapter or none. Each layer runs the forward that
 * training runs too (model/layer-forward.ts), with serving's projections and attention plugged in.
 *
 * Every projection runs once for all rows of the step through the backend's matmul; then the
 * adapters' low-rank updates are added to their own rows by one SGMV shrink and one expand for the
 * whole batch (lora-batch.ts), however many adapters it mixes. Attention runs per sequence
 * against that sequence's KV cache. Only the logits the caller needs are computed: the output layer
 * is the most expensive matmul of a small model.
 */
export class BatchedDecoder {
  readonly config: ScaledLlamaConfig;
  readonly backend: Backend;
  readonly weights: ModelWeights;
  readonly contextLength: number;
  readonly #rope: RopeTable;
  #ws: Workspace | null = null;
  #attScratch: Float32Array;
  // [R, C] final hidden states of the rows that need logits, and their logits [R, V].
  #selected: Float32Array = new Float32Array(0);
  #logits: Float32Array = new Float32Array(0);
  #maxRank = 0;
  readonly #addLoraDeltas: typeof addLoraDeltas;

  /**
   * `weights` are Hugging Face tensor names → data, used in place (not copied): allocate them with
   * `backend.alloc` so the backend's kernels read them without staging a copy on every call.
   * Matrices may be half precision (`backend.allocHalf`, as formats/weight-loader.ts reads them).
   * `contextLength` bounds positions (the RoPE table's size); it defaults to maxPositionEmbeddings.
   */
  constructor(config: ScaledLlamaConfig, weights: ServingWeights, backend: Backend, contextLength = config.maxPositionEmbeddings, options: BatchedDecoderOptions = {}) {
    this.config = config;
    this.#addLoraDeltas = options.loraUpdate === "per-group" ? addLoraDeltasPerGroup : addLoraDeltas;
    this.backend = backend;
    this.weights = selectModelWeights(config, weights);
    this.contextLength = contextLength;
    // formats/ computes the frequencies with Llama 3 rope scaling when the config carries it.
    this.#rope = ropeTable(ropeInverseFrequencies(config), contextLength);
    this.#attScratch = new Float32Array(0);
  }

  /**
   * Runs one step: appends every segment's tokens to its KV cache and returns logits [S, V] for each
   * segment's last token in the order given (or [ΣT, V] for all tokens with `allLogits`). The logits
   * live in a buffer the decoder reuses: the next forward overwrites them.
   */
  forward(segments: readonly ForwardSegment[], { allLogits = false }: ForwardOptions = {}): Float32Array {
    const { hiddenSize: C, vocabSize: V, numHeads: NH, numKvHeads: NKV, headDim: HS } = this.config;
    const kvDim = NKV * HS;
    this.#validate(segments);
    const layout = layoutRows(segments);
    const { N, order, rowOf, groups } = layout;
    const ws = this.#workspace(N, groups);
    const { x, xn, q, k, v, attOut, proj, gate, up, hidden, loraScratch, tokens, positions } = ws;
    const backend = this.backend;

    for (const s of order) {
      const { cache, tokens: segmentTokens } = segments[s];
      for (let t = 0; t < segmentTokens.length; t++) {
        tokens[rowOf[s] + t] = segmentTokens[t];
        positions[rowOf[s] + t] = cache.length + t;
      }
    }
    encoderForwardWeights(x, tokens.subarray(0, N), this.weights.embedTokens, N, C, V);

    // Serving's parts of the shared layer forward: the base projection once for every row, then each
    // adapter's update on its own rows (SGMV); attention of each sequence over its KV cache.
    const steps: LayerSteps = {
      project: (layer, target, out, inp, weight, IN, OUT) => {
        linearForward(backend, out, inp, weight, N, IN, OUT);
        this.#addLoraDeltas(backend, out, inp, groups, layer, target, IN, OUT, loraScratch);
      },
      attention: (layer, attnOut, q, k, v) => {
        for (const s of order) {
          const { cache, tokens: segmentTokens } = segments[s];
          const T = segmentTokens.length;
          const row = rowOf[s];
          const past = cache.length;
          writeCacheRows(cache, cache.keys[layer], k, row, T, kvDim);
          writeCacheRows(cache, cache.values[layer], v, row, T, kvDim);
          attentionCachedForward(
            attnOut, q, row, cache.keys[layer], cache.values[layer], this.#attentionScratch((NH / NKV) * (past + T)),
            { Tq: T, Tk: past + T, NH, NKV, HS }, { table: cache.pageTable, size: cache.pageSize },
          );
        }
      },
    };
    // Nothing is kept: one residual stream x updated in place, one norm output, scratch reused by every layer.
    const buffers: LayerBuffers = {
      residual: x, ln1: xn, rstd1: null, q, k, v, attnOut: attOut, proj, residual2: x,
      ln2: xn, rstd2: null, gate, up, gateSigmoid: null, act: hidden, out: x,
    };
    for (let l = 0; l < this.config.numLayers; l++) {
      decoderLayerForward(this.config, l, this.weights.layers[l], buffers, steps, positions, this.#rope, N);
    }
    for (const { cache, tokens: segmentTokens } of segments) cache.length += segmentTokens.length;

    // Rows that need logits, in the caller's order: every row, or each segment's last.
    const outRows: number[] = [];
    for (let s = 0; s < segments.length; s++) {
      const T = segments[s].tokens.length;
      if (allLogits) for (let t = 0; t < T; t++) outRows.push(rowOf[s] + t);
      else outRows.push(rowOf[s] + T - 1);
    }
    const R = outRows.length;
    const { selected, logits } = this.#outputBuffers(R);
    for (let i = 0; i < R; i++) selected.set(x.subarray(outRows[i] * C, outRows[i] * C + C), i * C);
    outputHeadForward(backend, this.config, logits, selected, null, selected, this.weights.finalNorm, this.weights.lmHead, R);
    return logits.subarray(0, R * V);
  }

  #validate(segments: readonly ForwardSegment[]): void {
    if (segments.length === 0) throw new InvalidRequestError("segments", "must not be empty");
    const seen = new Set<SequenceKvCache>();
    for (const { cache, tokens } of segments) {
      if (tokens.length === 0) throw new InvalidRequestError("tokens", "must hold at least one token per segment");
      if (seen.has(cache)) throw new InvalidRequestError("segments", "name the same KV cache twice");
      seen.add(cache);
      if (cache.length + tokens.length > this.contextLength && cache.length + tokens.length <= cache.capacity) {
        throw new InvalidRequestError("tokens", `reach position ${cache.length + tokens.length - 1}, past the context length ${this.contextLength}`);
      }
      // Checks the capacity and, for a paged cache, takes the pages the new positions need.
      cache.reserve(tokens.length);
    }
  }

  #workspace(N: number, groups: readonly AdapterRowGroup[]): Workspace {
    for (const { adapter } of groups) this.#maxRank = Math.max(this.#maxRank, adapter.config.rank);
    const current = this.#ws;
    if (current !== null && current.rows >= N && current.loraScratch.length >= current.rows * this.#maxRank) return current;
    // Grown geometrically, so a batch that keeps growing reallocates a few times, not every step.
    const rows = Math.max(N, 2 * (current?.rows ?? 0), 8);
    if (current !== null) this.#freeWorkspace(current);
    const { hiddenSize: C, numHeads: NH, numKvHeads: NKV, headDim: HS, intermediateSize: F } = this.config;
    const alloc = (n: number) => this.backend.alloc(n);
    this.#ws = {
      rows,
      x: alloc(rows * C), xn: alloc(rows * C), q: alloc(rows * NH * HS), k: alloc(rows * NKV * HS), v: alloc(rows * NKV * HS),
      attOut: alloc(rows * NH * HS), proj: alloc(rows * C), gate: alloc(rows * F), up: alloc(rows * F), hidden: alloc(rows * F),
      loraScratch: alloc(rows * Math.max(this.#maxRank, 1)), tokens: new Int32Array(rows), positions: new Int32Array(rows),
    };
    return this.#ws;
  }

  #outputBuffers(R: number): { selected: Float32Array; logits: Float32Array } {
    const { hiddenSize: C, vocabSize: V } = this.config;
    if (this.#logits.length < R * V) {
      const rows = Math.max(R, 2 * (this.#logits.length / V));
      this.backend.free(this.#selected);
      this.backend.free(this.#logits);
      this.#selected = this.backend.alloc(rows * C);
      this.#logits = this.backend.alloc(rows * V);
    }
    return { selected: this.#selected, logits: this.#logits };
  }

  /**
   * Gives back the step buffers (the weights belong to the caller). A decoder can keep being used:
   * the next forward allocates afresh; a server calls this when it unloads a model.
   */
  dispose(): void {
    if (this.#ws !== null) this.#freeWorkspace(this.#ws);
    this.#ws = null;
    this.backend.free(this.#selected);
    this.backend.free(this.#logits);
    this.#selected = new Float32Array(0);
    this.#logits = new Float32Array(0);
  }

  #freeWorkspace(ws: Workspace): void {
    for (const buffer of [ws.x, ws.xn, ws.q, ws.k, ws.v, ws.attOut, ws.proj, ws.gate, ws.up, ws.hidden, ws.loraScratch]) this.backend.free(buffer);
  }

  #attentionScratch(n: number): Float32Array {
    if (this.#attScratch.length < n) this.#attScratch = new Float32Array(n);
    return this.#attScratch;
  }
}

/** Orders the segments so that those sharing an adapter are adjacent, and makes one row group per adapter. */
function layoutRows(segments: readonly ForwardSegment[]): RowLayout {
  const byAdapter = new Map<LoraAdapter | null, number[]>();
  segments.forEach((segment, s) => {
    const list = byAdapter.get(segment.adapter);
    if (list) list.push(s);
    else byAdapter.set(segment.adapter, [s]);
  });
  const order: number[] = [];
  const rowOf = new Array<number>(segments.length);
  const groups: AdapterRowGroup[] = [];
  let row = 0;
  for (const [adapter, members] of byAdapter) {
    const rowStart = row;
    for (const s of members) {
      order.push(s);
      rowOf[s] = row;
      row += segments[s].tokens.length;
    }
    if (adapter !== null) groups.push({ adapter, scale: loraScale(adapter.config), rowStart, rowEnd: row });
  }
  return { order, rowOf, groups, N: row };
}
