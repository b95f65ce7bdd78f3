import type { LlamaModel } from "../model/llama.ts";
import type { LoraAdapter } from "../lora/adapter.ts";
import { makeBatch, windowSequences } from "./data.ts";
import { TrainingConfigError } from "./errors.ts";

export interface LossReport {
  /** Mean next-token cross-entropy (nats) over every scored token. */
  loss: number;
  perplexity: number;
  /** How many tokens were scored. */
  tokens: number;
}

/**
 * Token-weighted mean loss of the model (with whatever adapter it has attached) over sequences,
 * cut into T+1 windows and run B at a time. Token-weighted, so a short sequence counts as little as
 * it weighs, not as much as a full batch.
 */
export function evaluateLoss(model: LlamaModel, sequences: readonly Int32Array[], B: number, T: number): LossReport {
  const windows = windowSequences(sequences, T);
  if (windows.length === 0) throw new TrainingConfigError("evalSequences", sequences.length, "hold no sequence of 2 or more tokens");
  let total = 0;
  let tokens = 0;
  for (let start = 0; start < windows.length; start += B) {
    const batch = makeBatch(windows.slice(start, start + B), B, T);
    const { loss, count } = model.forward(batch.tokens, B, T, batch.targets);
    total += (loss ?? 0) * count;
    tokens += count;
  }
  const loss = total / tokens;
  return { loss, perplexity: Math.exp(loss), tokens };
}

export interface MemorizationOptions {
  /** Tokens of a training sequence given as the prompt. */
  prefixLength: number;
  /** A continuation counts as memorized when it reproduces this many following tokens verbatim (32 by default). */
  copyLength?: number;
  /** Check at most this many sequences (the first ones long enough). */
  maxSamples?: number;
}

export interface MemorizationReport {
  /** Fraction of sampled training prefixes whose greedy continuation copies copyLength training tokens verbatim. */
  rate: number;
  memorized: number;
  sampled: number;
  copyLength: number;
}

/**
 * Memorization probe (the extraction test of Carlini et al.): prompt with a training prefix, decode
 * greedily, and count the sequences whose next copyLength tokens come out exactly as in training.
 * Decoding stops at the first token that differs, so unmemorized samples are cheap. Each step runs
 * a full forward over a fixed-length window (padding after the prompt cannot affect a causal model),
 * which reuses one activation allocation; it needs no KV cache.
 */
export function memorizationRate(model: LlamaModel, trainingSequences: readonly Int32Array[], options: MemorizationOptions): MemorizationReport {
  const copyLength = options.copyLength ?? 32;
  const { prefixLength } = options;
  const T = prefixLength + copyLength - 1;
  if (T > model.config.maxPositionEmbeddings) {
    throw new TrainingConfigError("prefixLength", prefixLength, `plus copyLength ${copyLength} exceeds the model's context ${model.config.maxPositionEmbeddings}`);
  }
  const V = model.config.vocabSize;
  const candidates = trainingSequences.filter((s) => s.length >= prefixLength + copyLength).slice(0, options.maxSamples ?? Infinity);
  const window = new Int32Array(T);
  let memorized = 0;
  for (const seq of candidates) {
    window.fill(0);
    window.set(seq.subarray(0, prefixLength));
    let copied = 0;
    for (; copied < copyLength; copied++) {
      const position = prefixLength + copied - 1;
      const { logits } = model.forward(window, 1, T);
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[position * V + v] > logits[position * V + best]) best = v;
      if (best !== seq[prefixLength + copied]) break;
      if (position + 1 < T) window[position + 1] = best;
    }
    if (copied === copyLength) memorized++;
  }
  return { rate: candidates.length ? memorized / candidates.length : 0, memorized, sampled: candidates.length, copyLength };
}

/** One evaluation set scored by the bare base model and by the base with the adapter. */
export interface LossComparison {
  base: LossReport;
  adapter: LossReport;
  /** adapter.loss − base.loss: negative when the adapter helps. */
  lossDelta: number;
}

export interface EvaluationReport extends LossComparison {
  /** The same comparison on general text outside the Datanet: a specialised adapter should not lose much here. */
  control?: LossComparison;
  memorization?: MemorizationReport;
}

export interface EvaluationOptions {
  /** General-text control sequences (for our base model, the corpus's control split). */
  control?: readonly Int32Array[];
  /** Measure the memorization rate on these training sequences. */
  memorization?: { trainingSequences: readonly Int32Array[] } & MemorizationOptions;
}

function compareLoss(model: LlamaModel, adapter: LoraAdapter, sequences: readonly Int32Array[], B: number, T: number): LossComparison {
  model.setAdapter(null);
  const base = evaluateLoss(model, sequences, B, T);
  model.setAdapter(adapter);
  const withAdapter = evaluateLoss(model, sequences, B, T);
  return { base, adapter: withAdapter, lossDelta: withAdapter.loss - base.loss };
}

/**
 * The training job's evaluation report, the question every model builder has: did it specialise
 * (held-out loss and perplexity of the bare base model vs the base with the adapter, on the Datanet's
 * held-out split and on general control text), or did it memorise (the verbatim-copy rate of greedy
 * continuations of training prefixes)? Leaves the adapter attached.
 */
export function evaluateAdapter(
  model: LlamaModel, adapter: LoraAdapter, heldOut: readonly Int32Array[], B: number, T: number, options: EvaluationOptions = {},
): EvaluationReport {
  const report: EvaluationReport = compareLoss(model, adapter, heldOut, B, T);
  if (options.control) report.control = compareLoss(model, adapter, options.control, B, T);
  if (options.memorization) report.memorization = memorizationRate(model, options.memorization.trainingSequences, options.memorization);
  return report;
}
