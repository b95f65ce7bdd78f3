import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLlamaConfig, ropeInverseFrequencies, toHfConfig } from "../../../../nodes/src/engine/formats/llama-config.ts";
import { ConfigFieldError } from "../../../../nodes/src/engine/formats/errors.ts";

/** SmolLM2-135M's config.json, as published. */
const SMOLLM2 = {
  architectures: ["LlamaForCausalLM"], attention_bias: false, attention_dropout: 0.0, bos_token_id: 0, eos_token_id: 0,
  hidden_act: "silu", hidden_size: 576, initializer_range: 0.041666666666666664, intermediate_size: 1536,
  is_llama_config: true, max_position_embeddings: 8192, model_type: "llama", num_attention_heads: 9,
  num_hidden_layers: 30, num_key_value_heads: 3, pretraining_tp: 1, rms_norm_eps: 1e-05, rope_interleaved: false,
  rope_scaling: null, rope_theta: 100000, tie_word_embeddings: true, torch_dtype: "bfloat16", use_cache: true, vocab_size: 49152,
};

/** Llama 3.2 1B's config.json fields that matter. */
const LLAMA32 = {
  architectures: ["LlamaForCausalLM"], model_type: "llama", bos_token_id: 128000, eos_token_id: [128001, 128008, 128009],
  head_dim: 64, hidden_act: "silu", hidden_size: 2048, intermediate_size: 8192, max_position_embeddings: 131072,
  mlp_bias: false, num_attention_heads: 32, num_hidden_layers: 16, num_key_value_heads: 8, rms_norm_eps: 1e-05,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: "llama3" },
  rope_theta: 500000.0, tie_word_embeddings: true, vocab_size: 128256,
};

test("parses SmolLM2's config", () => {
  assert.deepEqual(parseLlamaConfig(SMOLLM2), {
    vocabSize: 49152, hiddenSize: 576, intermediateSize: 1536, numLayers: 30, numHeads: 9, numKvHeads: 3, headDim: 64,
    rmsNormEps: 1e-5, ropeTheta: 100000, maxPositionEmbeddings: 8192, tieWordEmbeddings: true, bosTokenId: 0, eosTokenId: 0,
  });
});

test("applies transformers' defaults", () => {
  const config = parseLlamaConfig({ model_type: "llama", vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4 });
  assert.equal(config.numKvHeads, 4);
  assert.equal(config.headDim, 16);
  assert.equal(config.rmsNormEps, 1e-6);
  assert.equal(config.ropeTheta, 10000);
  assert.equal(config.tieWordEmbeddings, false);
  assert.equal(config.maxPositionEmbeddings, 2048);
  assert.equal(config.ropeScaling, undefined);
});

test("parses Llama 3.2's llama3 RoPE scaling and computes its inverse frequencies", () => {
  const config = parseLlamaConfig(LLAMA32);
  assert.deepEqual(config.ropeScaling, { type: "llama3", factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
  assert.deepEqual(config.eosTokenId, [128001, 128008, 128009]);
  const scaled = ropeInverseFrequencies(config);
  const plain = ropeInverseFrequencies({ ...config, ropeScaling: undefined });
  assert.equal(scaled.length, 32);
  assert.equal(plain[0], 1);
  assert.equal(scaled[0], plain[0], "short wavelengths are kept");
  assert.ok(Math.abs(scaled[31] - plain[31] / 32) < 1e-12, "long wavelengths are divided by the factor");
  // a frequency whose wavelength lies between 8192/4 and 8192/1 is interpolated
  const between = [...plain].findIndex((f) => { const w = (2 * Math.PI) / f; return w > 2048 && w < 8192; });
  assert.ok(between > 0 && scaled[between] < plain[between] && scaled[between] > plain[between] / 32);
  assert.ok(Math.abs(plain[1] - Math.fround(1 / 500000 ** (2 / 64))) === 0);
});

test("accepts transformers 5's rope_parameters and Mistral without a sliding window", () => {
  const { rope_scaling, rope_theta, ...rest } = LLAMA32;
  const config = parseLlamaConfig({ ...rest, rope_parameters: { ...rope_scaling, rope_theta } });
  assert.equal(config.ropeTheta, 500000);
  assert.equal(config.ropeScaling?.factor, 32);
  const mistral = parseLlamaConfig({ ...SMOLLM2, architectures: ["MistralForCausalLM"], model_type: "mistral", sliding_window: null });
  assert.equal(mistral.hiddenSize, 576);
});

test("round-trips through toHfConfig", () => {
  for (const source of [SMOLLM2, LLAMA32]) {
    const config = parseLlamaConfig(source);
    assert.deepEqual(parseLlamaConfig(toHfConfig(config)), config);
  }
  assert.equal(toHfConfig(parseLlamaConfig(SMOLLM2)).architectures instanceof Array, true);
});

test("refuses what the engine does not implement, naming the field", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ ...SMOLLM2, model_type: "qwen2", architectures: ["Qwen2ForCausalLM"] }, "model_type"],
    [{ ...SMOLLM2, architectures: ["GPT2LMHeadModel"] }, "architectures"],
    [{ ...SMOLLM2, model_type: undefined, architectures: undefined }, "model_type"],
    [{ ...SMOLLM2, hidden_act: "gelu" }, "hidden_act"],
    [{ ...SMOLLM2, attention_bias: true }, "attention_bias"],
    [{ ...SMOLLM2, mlp_bias: true }, "mlp_bias"],
    [{ ...SMOLLM2, model_type: "mistral", sliding_window: 4096 }, "sliding_window"],
    [{ ...SMOLLM2, rope_scaling: { rope_type: "yarn", factor: 4 } }, "rope_scaling.rope_type"],
    [{ ...SMOLLM2, rope_scaling: { type: "linear", factor: 4 } }, "rope_scaling.rope_type"],
    [{ ...LLAMA32, rope_scaling: { ...LLAMA32.rope_scaling, factor: undefined } }, "rope_scaling.factor"],
    [{ ...LLAMA32, rope_scaling: { ...LLAMA32.rope_scaling, high_freq_factor: 0.5 } }, "rope_scaling.high_freq_factor"],
    [{ ...SMOLLM2, hidden_size: undefined }, "hidden_size"],
    [{ ...SMOLLM2, vocab_size: 0 }, "vocab_size"],
    [{ ...SMOLLM2, num_hidden_layers: 2.5 }, "num_hidden_layers"],
    [{ ...SMOLLM2, num_key_value_heads: 2 }, "num_key_value_heads"],
    [{ ...SMOLLM2, hidden_size: 577 }, "num_attention_heads"],
    [{ ...SMOLLM2, head_dim: 63 }, "head_dim"],
    [{ ...SMOLLM2, rms_norm_eps: "tiny" }, "rms_norm_eps"],
    [{ ...SMOLLM2, tie_word_embeddings: "yes" }, "tie_word_embeddings"],
    [{ ...SMOLLM2, eos_token_id: [] }, "eos_token_id"],
    [{ ...SMOLLM2, bos_token_id: [1] }, "bos_token_id"],
  ];
  for (const [json, field] of cases) {
    assert.throws(() => parseLlamaConfig(json), (e: unknown) => e instanceof ConfigFieldError && e.field === field && e.message.includes(`"${field}"`), field);
  }
  assert.throws(() => parseLlamaConfig([]), ConfigFieldError);
});
