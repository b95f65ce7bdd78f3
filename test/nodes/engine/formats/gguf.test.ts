import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { GgufExportError, GgufFormatError } from "../../../../nodes/src/engine/formats/errors.ts";
import { encodeGguf, gguf, GgufValueType, readGguf, type GgufValue } from "../../../../nodes/src/engine/formats/gguf.ts";
import { exportModelGguf } from "../../../../nodes/src/engine/formats/gguf-export.ts";
import { loraAdapterGguf, rotaryRowPermutation, tokenizerMetadata } from "../../../../nodes/src/engine/formats/gguf-llama.ts";
import { f16ToF32, f32ToF16 } from "../../../../nodes/src/engine/formats/half-precision.ts";
import { loadModelFolder } from "../../../../nodes/src/engine/formats/model-folder.ts";
import { savePeftAdapter, type LoraAdapter } from "../../../../nodes/src/engine/formats/peft-adapter.ts";
import type { LlamaConfig } from "../../../../nodes/src/engine/model/config.ts";
import { randomValues } from "./tiny-checkpoint.ts";

/** The GGUF writer checked by reading its files back (no llama.cpp needed; gguf-llama-cpp.test.ts runs llama.cpp). */
const MODEL_DIR = join(import.meta.dirname, "../../../../models/tributary-base-v0");
const CLI = join(import.meta.dirname, "../../../../nodes/src/cli/main.ts");

test("a GGUF file reads back with its metadata, its tensors and GGUF's layout", () => {
  const metadata = new Map<string, GgufValue>([
    ["a.u32", gguf.u32(4_000_000_000)], ["a.i32", gguf.i32(-5)], ["a.f32", gguf.f32(1e-5)], ["a.bool", gguf.bool(true)],
    ["a.string", gguf.string("héllo")], ["a.strings", gguf.strings(["x", "Ġthe", ""])], ["a.i32s", gguf.i32s([1, -3, 5])],
    ["a.u64", { type: GgufValueType.UINT64, value: 1n << 40n }],
  ]);
  const matrix = randomValues(6, 1);
  const vector = randomValues(5, 2);
  const bytes = encodeGguf({ metadata, tensors: [
    { name: "m", shape: [2, 3], type: "F32", data: matrix },
    { name: "v", shape: [5], type: "F16", data: vector },
  ] });
  const view = new DataView(bytes.buffer);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "GGUF");
  assert.equal(view.getUint32(4, true), 3);

  const parsed = readGguf(bytes);
  assert.equal(parsed.metadata.get("a.u32"), 4_000_000_000);
  assert.equal(parsed.metadata.get("a.i32"), -5);
  assert.equal(parsed.metadata.get("a.f32"), Math.fround(1e-5));
  assert.equal(parsed.metadata.get("a.bool"), true);
  assert.equal(parsed.metadata.get("a.string"), "héllo");
  assert.deepEqual(parsed.metadata.get("a.strings"), ["x", "Ġthe", ""]);
  assert.deepEqual(parsed.metadata.get("a.i32s"), [1, -3, 5]);
  assert.equal(parsed.metadata.get("a.u64"), 1n << 40n);
  assert.deepEqual(parsed.tensors.get("m"), { shape: [2, 3], type: "F32", data: matrix });
  assert.deepEqual(parsed.tensors.get("v")!.data, f16ToF32(f32ToF16(vector)));

  // ne is innermost first: the [2, 3] matrix is stored with dims 3, 2; tensor data starts 32-byte aligned.
  const name = new TextEncoder().encode("m");
  let at = bytes.findIndex((_, i) => bytes[i] === name[0] && view.getBigUint64(i - 8, true) === 1n && view.getUint32(i + 1, true) === 2);
  at += 1 + 4;
  assert.deepEqual([view.getBigUint64(at, true), view.getBigUint64(at + 8, true)], [3n, 2n]);
  assert.equal(bytes.length % 32, 0);
});

test("the GGUF reader and writer refuse what is not GGUF or not writable", () => {
  assert.throws(() => readGguf(new TextEncoder().encode("GGML and more bytes")), GgufFormatError);
  assert.throws(() => readGguf(encodeGguf({ metadata: new Map(), tensors: [] }).subarray(0, 12)), GgufFormatError);
  const tensor = { name: "t", shape: [2], type: "F32" as const, data: new Float32Array(2) };
  assert.throws(() => encodeGguf({ metadata: new Map(), tensors: [tensor, tensor] }), /written twice/);
  assert.throws(() => encodeGguf({ metadata: new Map(), tensors: [{ ...tensor, shape: [3] }] }), /holds 3/);
  assert.throws(() => encodeGguf({ metadata: new Map([["k", gguf.u32(1.5)]]), tensors: [] }), /integer/);
});

test("the Q/K row permutation turns Hugging Face's half-split RoPE into llama.cpp's adjacent-pair RoPE", () => {
  const config = { numHeads: 2, numKvHeads: 1, headDim: 8 } as LlamaConfig;
  const width = 3;
  const q = randomValues(config.numHeads * config.headDim * width, 3);
  const x = randomValues(width, 4);
  const project = (w: Float32Array) => Array.from({ length: w.length / width }, (_, r) => x.reduce((s, xi, c) => s + xi * w[r * width + c], 0));
  const angle = (i: number) => 5 / 10000 ** ((2 * i) / config.headDim); // position 5
  const hfRope = (v: number[]) => v.map((_, r) => {
    const head = Math.floor(r / config.headDim) * config.headDim, d = r % config.headDim, half = config.headDim / 2;
    const i = d % half;
    const [a, b] = [v[head + i], v[head + i + half]];
    return d < half ? a * Math.cos(angle(i)) - b * Math.sin(angle(i)) : b * Math.cos(angle(i)) + a * Math.sin(angle(i));
  });
  const ggmlRope = (v: number[]) => v.map((_, r) => {
    const head = Math.floor(r / config.headDim) * config.headDim, d = r % config.headDim, i = Math.floor(d / 2);
    const [a, b] = [v[head + 2 * i], v[head + 2 * i + 1]];
    return d % 2 === 0 ? a * Math.cos(angle(i)) - b * Math.sin(angle(i)) : b * Math.cos(angle(i)) + a * Math.sin(angle(i));
  });
  const permute = rotaryRowPermutation(config, "q_proj")!;
  const hf = hfRope(project(q));
  const ggml = ggmlRope(project(permute(q)));
  // Same rotated values, llama.cpp's in interleaved order; attention scores (dot products per head) are equal.
  for (let h = 0; h < config.numHeads; h++) {
    for (let i = 0; i < config.headDim / 2; i++) {
      for (let j = 0; j < 2; j++) {
        assert.ok(Math.abs(hf[h * 8 + j * 4 + i] - ggml[h * 8 + 2 * i + j]) < 1e-6);
      }
    }
  }
  assert.equal(rotaryRowPermutation(config, "v_proj"), undefined);
  assert.equal(rotaryRowPermutation(config, "k_proj")!(new Float32Array(8 * width)).length, 8 * width);
});

test("the committed base model exports with llama.cpp's metadata, tokenizer, names and permuted Q/K, at f32 and f16", async () => {
  const dir = await mkdtemp(join(tmpdir(), "gguf-"));
  try {
    const folder = await loadModelFolder(MODEL_DIR);
    const { config } = folder;
    for (const type of ["F32", "F16"] as const) {
      await exportModelGguf(MODEL_DIR, join(dir, "model.gguf"), { type });
      const parsed = readGguf(new Uint8Array(await readFile(join(dir, "model.gguf"))));
      const m = parsed.metadata;
      assert.equal(m.get("general.architecture"), "llama");
      assert.equal(m.get("general.file_type"), type === "F32" ? 0 : 1);
      assert.equal(m.get("llama.block_count"), config.numLayers);
      assert.equal(m.get("llama.embedding_length"), config.hiddenSize);
      assert.equal(m.get("llama.feed_forward_length"), config.intermediateSize);
      assert.equal(m.get("llama.attention.head_count"), config.numHeads);
      assert.equal(m.get("llama.attention.head_count_kv"), config.numKvHeads);
      assert.equal(m.get("llama.rope.dimension_count"), config.headDim);
      assert.equal(m.get("llama.rope.freq_base"), config.ropeTheta);
      assert.equal(m.get("llama.attention.layer_norm_rms_epsilon"), Math.fround(config.rmsNormEps));
      assert.equal(m.get("tokenizer.ggml.model"), "gpt2");
      assert.equal(m.get("tokenizer.ggml.pre"), "gpt-2");
      assert.equal(m.get("tokenizer.ggml.add_bos_token"), false);
      assert.equal(m.get("tokenizer.chat_template"), folder.chatTemplate);
      const tokens = m.get("tokenizer.ggml.tokens") as string[];
      const types = m.get("tokenizer.ggml.token_type") as number[];
      assert.equal(tokens.length, config.vocabSize);
      const vocab = (folder.tokenizerJson as { model: { vocab: Record<string, number>; merges: unknown[] } }).model;
      for (const [token, id] of Object.entries(vocab.vocab)) if (id > 2) assert.equal(tokens[id], token);
      assert.deepEqual([tokens[0], types[0], types[100]], ["<|endoftext|>", 3, 1]);
      assert.equal((m.get("tokenizer.ggml.merges") as string[]).length, vocab.merges.length);

      assert.equal(parsed.tensors.size, 2 + config.numLayers * 9, "embeddings, final norm, 9 per block; no output.weight for a tied model");
      assert.ok(!parsed.tensors.has("output.weight"));
      const widen = (data: Float32Array) => (type === "F32" ? data : f16ToF32(f32ToF16(data)));
      for (let layer = 0; layer < config.numLayers; layer++) {
        const hf = (name: string) => folder.tensors.get(`model.layers.${layer}.${name}`)!;
        const norm = parsed.tensors.get(`blk.${layer}.attn_norm.weight`)!;
        assert.equal(norm.type, "F32", "norms stay f32 in an f16 file");
        assert.deepEqual(norm.data, hf("input_layernorm.weight").data);
        assert.deepEqual(parsed.tensors.get(`blk.${layer}.ffn_down.weight`)!.data, widen(hf("mlp.down_proj.weight").data));
        assert.deepEqual(parsed.tensors.get(`blk.${layer}.ffn_down.weight`)!.shape, hf("mlp.down_proj.weight").shape);
        assert.deepEqual(parsed.tensors.get(`blk.${layer}.attn_v.weight`)!.data, widen(hf("self_attn.v_proj.weight").data));
        for (const [gg, target] of [["attn_q", "q_proj"], ["attn_k", "k_proj"]] as const) {
          assert.deepEqual(parsed.tensors.get(`blk.${layer}.${gg}.weight`)!.data, widen(rotaryRowPermutation(config, target)!(hf(`self_attn.${target}.weight`).data)));
        }
      }
      assert.deepEqual(parsed.tensors.get("token_embd.weight")!.shape, [config.vocabSize, config.hiddenSize]);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a PEFT adapter exports as a GGUF LoRA adapter through tributary-node export-gguf", async () => {
  const dir = await mkdtemp(join(tmpdir(), "gguf-adapter-"));
  try {
    const { config } = await loadModelFolder(MODEL_DIR);
    const rank = 4;
    const adapter: LoraAdapter = {
      config: { rank, alpha: 8, targetModules: ["q_proj", "v_proj"] },
      baseModel: "tributary-base-v0",
      layers: Array.from({ length: config.numLayers }, (_, l) => ({
        q_proj: { A: randomValues(rank * config.hiddenSize, 10 + l), B: randomValues(config.numHeads * config.headDim * rank, 20 + l) },
        v_proj: { A: randomValues(rank * config.hiddenSize, 30 + l), B: randomValues(config.numKvHeads * config.headDim * rank, 40 + l) },
      })),
    };
    await savePeftAdapter(join(dir, "adapter"), adapter, config);
    await promisify(execFile)(process.execPath, [CLI, "export-gguf", "--model", MODEL_DIR, "--adapter", join(dir, "adapter"), "--out", join(dir, "adapter.gguf")]);
    const parsed = readGguf(new Uint8Array(await readFile(join(dir, "adapter.gguf"))));
    assert.equal(parsed.metadata.get("general.type"), "adapter");
    assert.equal(parsed.metadata.get("general.architecture"), "llama");
    assert.equal(parsed.metadata.get("adapter.type"), "lora");
    assert.equal(parsed.metadata.get("adapter.lora.alpha"), 8);
    assert.equal(parsed.tensors.size, config.numLayers * 2 * 2);
    for (let l = 0; l < config.numLayers; l++) {
      const a = parsed.tensors.get(`blk.${l}.attn_q.weight.lora_a`)!;
      const b = parsed.tensors.get(`blk.${l}.attn_q.weight.lora_b`)!;
      assert.deepEqual(a.shape, [rank, config.hiddenSize]);
      assert.deepEqual(a.data, adapter.layers[l].q_proj!.A);
      assert.deepEqual(b.shape, [config.numHeads * config.headDim, rank]);
      assert.deepEqual(b.data, rotaryRowPermutation(config, "q_proj")!(adapter.layers[l].q_proj!.B), "q's B rows are permuted like q's weight");
      assert.deepEqual(parsed.tensors.get(`blk.${l}.attn_v.weight.lora_b`)!.data, adapter.layers[l].v_proj!.B, "v is not rotated");
    }
    const f16 = readGguf(encodeGguf(loraAdapterGguf(adapter, config, { type: "F16" })));
    assert.equal(f16.tensors.get("blk.0.attn_v.weight.lora_a")!.type, "F16");
    const failed = await promisify(execFile)(process.execPath, [CLI, "export-gguf", "--model", MODEL_DIR, "--adapter", join(dir, "missing"), "--out", join(dir, "x.gguf")]).catch((e: { code: number; stderr: string }) => e);
    assert.equal((failed as { code: number }).code, 2);
    assert.match((failed as { stderr: string }).stderr, /adapter_config\.json: is missing/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a tokenizer llama.cpp would split differently is refused, not exported wrongly", () => {
  const config = { vocabSize: 4 } as LlamaConfig;
  const bpe = (pre_tokenizer: unknown) => ({ model: { type: "BPE", vocab: { a: 0, b: 1 }, merges: ["a b"] }, pre_tokenizer });
  assert.throws(() => tokenizerMetadata({ model: { type: "Unigram", vocab: [] } }, config), GgufExportError);
  assert.throws(() => tokenizerMetadata(bpe({ type: "Whitespace" }), config), /pre_tokenizer/);
  const entries = new Map(tokenizerMetadata(bpe({ type: "ByteLevel", use_regex: true }), config));
  assert.deepEqual(entries.get("tokenizer.ggml.tokens")!.value, ["a", "b", "[PAD2]", "[PAD3]"]);
  assert.deepEqual(entries.get("tokenizer.ggml.token_type")!.value, [1, 1, 5, 5]);
});
