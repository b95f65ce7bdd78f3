import type { Backend } from "../backend/backend.ts";
import type { LlamaConfig, LoraTarget } from "./config.ts";
import { ropeInverseFrequencies as scaledRopeInverseFrequencies, type ScaledLlamaConfig } from "../formats/llama-config.ts";
import { activationBuffers, allocateActivations, type Activations } from "./activations.ts";
import { ModelInputError } from "./errors.ts";
import {
  EMBED_TOKENS, FINAL_NORM, LM_HEAD, layerWeightName, llamaWeightShapes, validateLlamaWeights,
  type LayerWeightName, type LlamaWeights,
} from "./weights.ts";
import { createLoraGradients, loraKey, loraScale, loraTargetDims, validateLoraAdapter, type LoraAdapter } from "../lora/adapter.ts";
import { encoderBackward, encoderForwardWeights } from "../ops/encoder.ts";
import { rmsnormBackward } from "../ops/rmsnorm.ts";
import { ropeBackward, ropeTable, type RopeTable } from "../ops/rope.ts";
import type { AttentionShape } from "../ops/attention.ts";
import { attentionMatmulBackward, attentionMatmulForward } from "../ops/attention-matmul.ts";
import { swigluBackward } from "../ops/swiglu.ts";
import { linearBackward, linearForward } from "../ops/linear.ts";
import { decoderLayerForward, decoderLayerWeights, outputHeadForward, type DecoderLayerWeights, type LayerSteps } from "./layer-forward.ts";
import { loraLinearBackward, loraLinearForward, type LoraFactors } from "../ops/lora-linear.ts";
import { crossEntropyBackward, crossEntropyForward } from "../ops/cross-entropy.ts";

const PROJECTION_WEIGHT: Record<LoraTarget, LayerWeightName> = {
  q_proj: "self_attn.q_proj", k_proj: "self_attn.k_proj", v_proj: "self_attn.v_proj", o_proj: "self_attn.o_proj",
  gate_proj: "mlp.gate_proj", up_proj: "mlp.up_proj", down_proj: "mlp.down_proj",
};

export interface LlamaModelOptions {
  /** Allocate and compute gradients of every base weight (pretraining); off for LoRA fine-tuning. */
  trainBase?: boolean;
  /** RoPE inverse frequencies to use instead of the config's (theta^(−2i/HS), llama3-scaled when config.ropeScaling says so). */
  ropeInverseFrequencies?: Float32Array;
}

export interface LlamaForwardOptions {
  /**
   * K: the backward after this forward computes the LoRA gradients of the last K layers only
   * (layers L−K … L−1) and does no work below layer L−K; the adapter factors of earlier layers get
   * no gradient (their buffers are left as they are). The forward still runs every layer, but keeps
   * activations for the last K only. Those K layers' gradients equal the full backward's bit for bit:
   * the same operations run in the same order on the same values. Default: every layer (L). Not
   * with trainBase, whose embedding and lower layers need the whole backward.
   */
  lastLayers?: number;
}

export interface ForwardResult {
  /** [B*T, V], owned by the model and overwritten by the next forward. */
  logits: Float32Array;
  /** Mean cross-entropy over the scored targets; null without targets. */
  loss: number | null;
  /** How many targets were scored (not IGNORE_INDEX). */
  count: number;
  /** [B*T] per-token losses (0 where ignored), owned by the model like `logits`. */
  losses: Float32Array;
}

/** A trainable tensor beside its gradient buffer, by name (HF names for base weights, `${layer}.${target}.lora_A|B` for LoRA). */
export interface TrainableParameter {
  name: string;
  data: Float32Array;
  grad: Float32Array;
}

/**
 * A Llama-architecture decoder (HF LlamaForCausalLM) with a hand-written backward, llm.c style:
 *   x = embed(tokens)
 *   per layer: x += o_proj(attn(rope(q_proj(n)), rope(k_proj(n)), v_proj(n))),  n = input_layernorm(x)
 *              x += down_proj(silu(gate_proj(n)) · up_proj(n)),                n = post_attention_layernorm(x)
 *   logits = lm_head(norm(x))     (lm_head is embed_tokens when tie_word_embeddings)
 * Attention has no bias and no dropout (attention_bias false, attention_dropout 0, Llama defaults).
 *
 * An optional LoRA adapter adds its low-rank path to the projections it targets. By default only
 * the adapter has gradients (the base is frozen); `trainBase` adds gradients for every base weight.
 * Gradients accumulate across backward calls until `zeroGradients`. A forward with `lastLayers` K
 * makes the next backward cover the adapter factors of the last K layers only, and stop there
 * (attribution's cheaper gradients; see LlamaForwardOptions).
 *
 * The model owns the backend buffers it allocates (activations, gradients) and gives them back: the
 * activations when the batch shape or adapter changes, an adapter's gradients on `releaseAdapter`,
 * everything on `dispose`. It does not own the weights or adapters it is given.
 */
export class LlamaModel {
  readonly config: LlamaConfig;
  readonly backend: Backend;
  readonly weights: LlamaWeights;
  /** Gradients of the base weights by HF name; null unless built with trainBase. */
  readonly weightGrads: LlamaWeights | null;
  private readonly ropeFrequencies: Float32Array;
  /** Each layer's weights, looked up once (layer-forward.ts). */
  private readonly layerWeights: DecoderLayerWeights<Float32Array>[];
  /** Training's projections and attention inside the shared layer forward: they keep what the backward reads. */
  private readonly layerSteps: LayerSteps<Float32Array> = {
    project: (layer, target, out, inp, weight, IN, OUT) => this.projectForward(layer, target, out, inp, weight, IN, OUT),
    attention: (layer, attnOut, q, k, v) => {
      const acts = this.acts!;
      const { numHeads: NH, numKvHeads: NKV, headDim: HS } = this.config;
      const shape: AttentionShape = { B: acts.B, Tq: acts.T, Tk: acts.T, NH, NKV, HS };
      attentionMatmulForward(this.backend, acts.attention, attnOut, acts.layers[layer].att, q, k, v, shape);
    },
  };
  private rope: RopeTable | null = null;
  private adapter: LoraAdapter | null = null;
  private adapterGrads: Map<string, LoraFactors> | null = null;
  private readonly gradsByAdapter = new Map<LoraAdapter, Map<string, LoraFactors>>();
  private acts: Activations | null = null;
  private pending: { tokens: Int32Array; targets: Int32Array; count: number } | null = null;

  constructor(config: ScaledLlamaConfig, weights: LlamaWeights, backend: Backend, options: LlamaModelOptions = {}) {
    validateLlamaWeights(config, weights);
    if (config.numHeads % config.numKvHeads !== 0) {
      throw new ModelInputError(`numHeads (${config.numHeads}) must be a multiple of numKvHeads (${config.numKvHeads}).`, {
        numHeads: config.numHeads, numKvHeads: config.numKvHeads,
      });
    }
    this.config = config;
    this.backend = backend;
    this.weights = weights;
    this.layerWeights = Array.from({ length: config.numLayers }, (_, l) => decoderLayerWeights<Float32Array>(weights, l));
    this.ropeFrequencies = options.ropeInverseFrequencies ?? scaledRopeInverseFrequencies(config);
    if (this.ropeFrequencies.length !== config.headDim / 2) {
      throw new ModelInputError(`RoPE needs headDim/2 = ${config.headDim / 2} inverse frequencies, got ${this.ropeFrequencies.length}.`);
    }
    this.weightGrads = null;
    if (options.trainBase) {
      const grads: LlamaWeights = new Map();
      for (const [name, shape] of llamaWeightShapes(config)) grads.set(name, backend.alloc(shape.reduce((a, b) => a * b, 1)));
      this.weightGrads = grads;
    }
  }

  /** Attach an adapter (its gradients are allocated here) or detach with null to run the bare base model. */
  setAdapter(adapter: LoraAdapter | null): void {
    if (adapter) validateLoraAdapter(this.config, adapter);
    this.adapter = adapter;
    this.adapterGrads = null;
    if (adapter) {
      // Re-attaching an adapter (after evaluating the bare base, say) must give back the same
      // gradient buffers: a Trainer's optimizer holds references to them.
      let grads = this.gradsByAdapter.get(adapter);
      if (!grads) {
        grads = createLoraGradients(adapter, (n) => this.backend.alloc(n));
        this.gradsByAdapter.set(adapter, grads);
      }
      this.adapterGrads = grads;
    }
    this.pending = null;
  }

  /**
   * Frees the gradient buffers kept for `adapter` (detaching it first if attached). Call it once a
   * training job is done with an adapter: a long-lived model would otherwise keep every adapter's
   * gradients it ever trained.
   */
  releaseAdapter(adapter: LoraAdapter): void {
    if (this.adapter === adapter) this.setAdapter(null);
    const grads = this.gradsByAdapter.get(adapter);
    if (!grads) return;
    this.gradsByAdapter.delete(adapter);
    for (const { A, B } of grads.values()) {
      this.backend.free(A);
      this.backend.free(B);
    }
  }

  /** Gives back every buffer the model allocated (activations, gradients). The model is unusable afterwards. */
  dispose(): void {
    this.setAdapter(null);
    for (const adapter of [...this.gradsByAdapter.keys()]) this.releaseAdapter(adapter);
    this.freeActivations();
    if (this.weightGrads) {
      for (const grad of this.weightGrads.values()) this.backend.free(grad);
      this.weightGrads.clear();
    }
  }

  getAdapter(): LoraAdapter | null {
    return this.adapter;
  }

  /** Gradients of the attached adapter's factors, keyed like its weights. */
  getAdapterGradients(): Map<string, LoraFactors> | null {
    return this.adapterGrads;
  }

  /** The tensors an optimizer updates: adapter factors, then base weights when trainBase. */
  trainableParameters(): TrainableParameter[] {
    const out: TrainableParameter[] = [];
    if (this.adapter && this.adapterGrads) {
      for (const [key, { A, B }] of this.adapter.weights) {
        const grad = this.adapterGrads.get(key)!;
        out.push({ name: `${key}.lora_A`, data: A, grad: grad.A }, { name: `${key}.lora_B`, data: B, grad: grad.B });
      }
    }
    if (this.weightGrads) for (const [name, grad] of this.weightGrads) out.push({ name, data: this.weights.get(name)!, grad });
    return out;
  }

  zeroGradients(): void {
    for (const { grad } of this.trainableParameters()) grad.fill(0);
  }

  /**
   * tokens [B*T] (row-major [B, T]); targets [B*T] are the next tokens (IGNORE_INDEX where not
   * scored). Without targets only logits are computed and backward is unavailable.
   */
  forward(tokens: Int32Array, B: number, T: number, targets?: Int32Array, options: LlamaForwardOptions = {}): ForwardResult {
    const { config, backend } = this;
    const { hiddenSize: C, vocabSize: V } = config;
    if (!Number.isInteger(B) || !Number.isInteger(T) || B <= 0 || T <= 0) throw new ModelInputError(`B and T must be positive integers, got B=${B}, T=${T}.`, { B, T });
    if (tokens.length !== B * T) throw new ModelInputError(`Expected ${B}×${T} = ${B * T} tokens, got ${tokens.length}.`, { B, T, tokens: tokens.length });
    if (targets && targets.length !== B * T) throw new ModelInputError(`Expected ${B * T} targets, got ${targets.length}.`, { B, T, targets: targets.length });
    if (T > config.maxPositionEmbeddings) {
      throw new ModelInputError(`Sequence length ${T} exceeds maxPositionEmbeddings ${config.maxPositionEmbeddings}.`, { T, max: config.maxPositionEmbeddings });
    }
    const acts = this.activations(B, T, this.keptLayers(options.lastLayers));
    const rope = this.ropeFor(T);
    const N = B * T;

    encoderForwardWeights(acts.layers[0].residual, tokens, this.weights.get(EMBED_TOKENS)!, N, C, V);
    for (let l = 0; l < config.numLayers; l++) {
      const la = acts.layers[l];
      const out = l + 1 < config.numLayers ? acts.layers[l + 1].residual : acts.output;
      decoderLayerForward(config, l, this.layerWeights[l], { ...la, proj: acts.proj, out }, this.layerSteps, acts.positions, rope, N);
    }
    outputHeadForward(backend, config, acts.logits, acts.lnf, acts.rstdf, acts.output, this.weights.get(FINAL_NORM)!, this.lmHead(), N);

    if (!targets) {
      this.pending = null;
      acts.losses.fill(0);
      return { logits: acts.logits, loss: null, count: 0, losses: acts.losses };
    }
    const { loss, count } = crossEntropyForward(acts.losses, acts.probs, acts.logits, targets, N, V);
    // Copies: the caller may reuse its arrays before calling backward.
    this.pending = { tokens: Int32Array.from(tokens), targets: Int32Array.from(targets), count };
    return { logits: acts.logits, loss, count, losses: acts.losses };
  }

  /**
   * Accumulates into the gradient buffers the gradient of `lossScale` × (the last forward's mean
   * loss). Gradient accumulation over k micro-batches passes lossScale = 1/k. Consumes the forward.
   */
  backward(lossScale = 1): void {
    const { config, backend } = this;
    const acts = this.acts;
    if (!this.pending || !acts) throw new ModelInputError("backward() needs a forward() with targets first (each forward allows one backward).");
    const { tokens, targets, count } = this.pending;
    this.pending = null;
    const { hiddenSize: C, intermediateSize: F, vocabSize: V, numHeads: NH, numKvHeads: NKV, headDim: HS } = config;
    const { N, B, T } = acts;
    const rope = this.ropeFor(T);
    const attention: AttentionShape = { B, Tq: T, Tk: T, NH, NKV, HS };
    const trainBase = this.weightGrads !== null;
    // The backward runs down to layer `stop` (0 unless the forward asked for the last layers only).
    const stop = config.numLayers - acts.keptLayers;

    // probs become dlogits in place: the softmax output is not needed once its gradient is formed.
    const dlogits = acts.probs;
    crossEntropyBackward(dlogits, acts.probs, targets, N, V, count, lossScale);
    const lmHeadName = config.tieWordEmbeddings ? EMBED_TOKENS : LM_HEAD;
    linearBackward(backend, acts.dln, this.weightGrad(lmHeadName), dlogits, acts.lnf, this.lmHead(), N, C, V);
    acts.dres.fill(0);
    rmsnormBackward(acts.dres, this.weightGrad(FINAL_NORM), acts.dln, acts.output, this.weights.get(FINAL_NORM)!, acts.rstdf, N, C);

    for (let l = config.numLayers - 1; l >= stop; l--) {
      const la = acts.layers[l];
      // MLP block: residual2 → residual2 + down(act); dres is the gradient of the block's output.
      this.projectBackward(l, "down_proj", acts.dact, acts.dres, la.act, false);
      swigluBackward(acts.dgate, acts.dup, acts.dact, la.gate, la.up, N * F, la.gateSigmoid);
      this.projectBackward(l, "gate_proj", acts.dln, acts.dgate, la.ln2, false);
      this.projectBackward(l, "up_proj", acts.dln, acts.dup, la.ln2, true);
      rmsnormBackward(acts.dres, this.layerWeightGrad(l, "post_attention_layernorm"), acts.dln, la.residual2,
        this.layerWeight(l, "post_attention_layernorm"), la.rstd2, N, C);
      // Attention block: dres is now the gradient of residual2.
      this.projectBackward(l, "o_proj", acts.dattnOut, acts.dres, la.attnOut, false);
      attentionMatmulBackward(backend, acts.attention, acts.dq, acts.dk, acts.dv, acts.dattnOut, la.q, la.k, la.v, la.att, attention);
      ropeBackward(acts.dq, acts.dq, acts.positions, rope, N, NH, HS);
      ropeBackward(acts.dk, acts.dk, acts.positions, rope, N, NKV, HS);
      // Below the first layer there is only the frozen embedding: LoRA training stops here, and so
      // does a backward asked for the last layers only at its lowest layer.
      const needInput = l > stop || trainBase;
      const dln = needInput ? acts.dln : null;
      this.projectBackward(l, "q_proj", dln, acts.dq, la.ln1, false);
      this.projectBackward(l, "k_proj", dln, acts.dk, la.ln1, true);
      this.projectBackward(l, "v_proj", dln, acts.dv, la.ln1, true);
      if (needInput) {
        rmsnormBackward(acts.dres, this.layerWeightGrad(l, "input_layernorm"), acts.dln, la.residual,
          this.layerWeight(l, "input_layernorm"), la.rstd1, N, C);
      }
    }
    const dEmbed = this.weightGrad(EMBED_TOKENS);
    if (dEmbed) encoderBackward(dEmbed, acts.dres, tokens, N, C);
  }

  /** out [N, OUT] = inp [N, IN] through a projection, with the adapter's low-rank path (its hidden kept for the backward) if it targets it. */
  private projectForward(layer: number, target: LoraTarget, out: Float32Array, inp: Float32Array, weight: Float32Array, IN: number, OUT: number): void {
    const acts = this.acts!;
    const factors = this.adapter?.weights.get(loraKey(layer, target));
    if (factors && this.adapter) {
      const shape = { N: acts.N, IN, OUT, rank: this.adapter.config.rank, scale: loraScale(this.adapter.config) };
      loraLinearForward(this.backend, out, acts.layers[layer].loraHidden.get(target)!, inp, weight, factors, shape);
    } else {
      linearForward(this.backend, out, inp, weight, acts.N, IN, OUT);
    }
  }

  private projectBackward(layer: number, target: LoraTarget, dinp: Float32Array | null, dout: Float32Array, inp: Float32Array, accumulateInput: boolean): void {
    const acts = this.acts!;
    const { IN, OUT } = loraTargetDims(this.config, target);
    const name = PROJECTION_WEIGHT[target];
    const weight = this.layerWeight(layer, name);
    const dweight = this.layerWeightGrad(layer, name);
    const key = loraKey(layer, target);
    const factors = this.adapter?.weights.get(key);
    if (factors && this.adapter && this.adapterGrads) {
      const shape = { N: acts.N, IN, OUT, rank: this.adapter.config.rank, scale: loraScale(this.adapter.config) };
      loraLinearBackward(this.backend, dinp, dweight, this.adapterGrads.get(key)!, acts.dhidden, dout, inp,
        acts.layers[layer].loraHidden.get(target)!, weight, factors, shape, accumulateInput);
    } else {
      linearBackward(this.backend, dinp, dweight, dout, inp, weight, acts.N, IN, OUT, accumulateInput);
    }
  }

  /** K of LlamaForwardOptions.lastLayers, checked; every layer when not given. */
  private keptLayers(lastLayers: number | undefined): number {
    const L = this.config.numLayers;
    if (lastLayers === undefined) return L;
    if (!Number.isInteger(lastLayers) || lastLayers < 1 || lastLayers > L) {
      throw new ModelInputError(`lastLayers must be an integer in [1, ${L}] (the model's layers), got ${lastLayers}.`, { lastLayers, numLayers: L });
    }
    if (this.weightGrads && lastLayers < L) {
      throw new ModelInputError(`lastLayers (${lastLayers}) cannot restrict a model that trains its base weights: every weight needs the whole backward.`, { lastLayers });
    }
    return lastLayers;
  }

  /**
   * The buffers for (B, T), the attached adapter's rank and targets and the layers the backward
   * runs through, reallocated only when one of those changes.
   */
  private activations(B: number, T: number, keptLayers: number): Activations {
    const rank = this.adapter?.config.rank ?? 0;
    const targets = this.adapter?.config.targetModules ?? [];
    const acts = this.acts;
    if (acts && acts.B === B && acts.T === T && acts.loraRank === rank && acts.keptLayers === keptLayers
      && acts.loraTargets.length === targets.length && targets.every((t) => acts.loraTargets.includes(t))) {
      return acts;
    }
    // The old buffers go back first, so the new ones can take their place in the backend's memory.
    this.freeActivations();
    this.acts = allocateActivations(this.config, B, T, this.adapter ? { rank, targets } : null, (n) => this.backend.alloc(n), keptLayers);
    return this.acts;
  }

  private freeActivations(): void {
    if (!this.acts) return;
    for (const buffer of activationBuffers(this.acts)) this.backend.free(buffer);
    this.acts = null;
    this.pending = null;
  }

  /** The cos/sin table, grown to cover T positions on first need (the full maxPositionEmbeddings can be huge). */
  private ropeFor(T: number): RopeTable {
    if (!this.rope || this.rope.maxPositions < T) this.rope = ropeTable(this.ropeFrequencies, T);
    return this.rope;
  }

  private lmHead(): Float32Array {
    return this.weights.get(this.config.tieWordEmbeddings ? EMBED_TOKENS : LM_HEAD)!;
  }

  private layerWeight(layer: number, name: LayerWeightName): Float32Array {
    return this.weights.get(layerWeightName(layer, name))!;
  }

  private layerWeightGrad(layer: number, name: LayerWeightName): Float32Array | null {
    return this.weightGrad(layerWeightName(layer, name));
  }

  private weightGrad(name: string): Float32Array | null {
    return this.weightGrads?.get(name) ?? null;
  }
}
