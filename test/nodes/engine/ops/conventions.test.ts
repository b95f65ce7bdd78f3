import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ropeForward, ropeInverseFrequencies, ropeTable } from "../../../../nodes/src/engine/ops/rope.ts";
import { attentionForward } from "../../../../nodes/src/engine/ops/attention.ts";
import { rmsnormForward } from "../../../../nodes/src/engine/ops/rmsnorm.ts";
import { BufferSizeError, InvalidShapeError } from "../../../../nodes/src/engine/ops/errors.ts";
import { randomArray } from "./gradcheck.ts";

/** Hugging Face conventions, written out the way modeling_llama.py states them. */
describe("ops follow Hugging Face Llama conventions", () => {
  it("RoPE is x·cos + rotate_half(x)·sin with cos = cat(freqs, freqs)", () => {
    const HS = 8;
    const theta = 500;
    const position = 3;
    const x = randomArray(HS, 1);
    const out = new Float32Array(HS);
    ropeForward(out, x, Int32Array.of(position), ropeTable(ropeInverseFrequencies(HS, theta), 4), 1, 1, HS);
    const half = HS / 2;
    for (let d = 0; d < HS; d++) {
      const freq = Math.pow(theta, -(2 * (d % half)) / HS) * position;
      const rotated = d < half ? -x[d + half] : x[d - half];
      assert.ok(Math.abs(out[d] - (x[d] * Math.cos(freq) + rotated * Math.sin(freq))) < 1e-5, `dimension ${d}`);
    }
  });

  it("RMSNorm is weight · x · rsqrt(mean(x²) + eps)", () => {
    const C = 6;
    const x = randomArray(C, 2, 3);
    const w = randomArray(C, 3);
    const out = new Float32Array(C);
    rmsnormForward(out, null, x, w, 1, C, 1e-6);
    const meanSq = x.reduce((s, v) => s + v * v, 0) / C;
    for (let c = 0; c < C; c++) assert.ok(Math.abs(out[c] - (w[c] * x[c]) / Math.sqrt(meanSq + 1e-6)) < 1e-5);
  });

  it("grouped-query attention equals full multi-head attention with repeat_kv'd keys and values", () => {
    const [B, T, NH, NKV, HS] = [2, 6, 4, 2, 4];
    const q = randomArray(B * T * NH * HS, 4);
    const k = randomArray(B * T * NKV * HS, 5);
    const v = randomArray(B * T * NKV * HS, 6);
    // repeat_kv: kv head g becomes heads g·(NH/NKV) .. g·(NH/NKV) + NH/NKV − 1.
    const repeat = (src: Float32Array) => {
      const dst = new Float32Array(B * T * NH * HS);
      for (let n = 0; n < B * T; n++) for (let h = 0; h < NH; h++) {
        dst.set(src.subarray((n * NKV + Math.floor(h / (NH / NKV))) * HS, (n * NKV + Math.floor(h / (NH / NKV)) + 1) * HS), (n * NH + h) * HS);
      }
      return dst;
    };
    const grouped = new Float32Array(B * T * NH * HS);
    const full = new Float32Array(B * T * NH * HS);
    attentionForward(grouped, new Float32Array(B * NH * T * T), q, k, v, { B, Tq: T, Tk: T, NH, NKV, HS });
    attentionForward(full, new Float32Array(B * NH * T * T), q, repeat(k), repeat(v), { B, Tq: T, Tk: T, NH, NKV: NH, HS });
    assert.deepEqual(grouped, full);
  });

  it("attention is causal and a cached decode step equals the full pass's last row", () => {
    const [T, NH, HS] = [5, 2, 4];
    const q = randomArray(T * NH * HS, 7);
    const k = randomArray(T * NH * HS, 8);
    const v = randomArray(T * NH * HS, 9);
    const shape = { B: 1, Tq: T, Tk: T, NH, NKV: NH, HS };
    const out = new Float32Array(T * NH * HS);
    attentionForward(out, new Float32Array(NH * T * T), q, k, v, shape);
    const changedFuture = Float32Array.from(v);
    changedFuture.fill(9, (T - 1) * NH * HS);
    const out2 = new Float32Array(T * NH * HS);
    attentionForward(out2, new Float32Array(NH * T * T), q, k, changedFuture, shape);
    assert.deepEqual(out2.subarray(0, (T - 1) * NH * HS), out.subarray(0, (T - 1) * NH * HS));

    const last = new Float32Array(NH * HS);
    attentionForward(last, new Float32Array(NH * T), q.subarray((T - 1) * NH * HS), k, v, { ...shape, Tq: 1 });
    for (let i = 0; i < NH * HS; i++) assert.ok(Math.abs(last[i] - out[(T - 1) * NH * HS + i]) < 1e-6);
  });

  it("bad shapes fail with errors that name the problem", () => {
    assert.throws(() => attentionForward(new Float32Array(1), new Float32Array(1), new Float32Array(1), new Float32Array(1), new Float32Array(1),
      { B: 1, Tq: 1, Tk: 1, NH: 3, NKV: 2, HS: 1 }), InvalidShapeError);
    assert.throws(() => rmsnormForward(new Float32Array(3), null, new Float32Array(4), new Float32Array(4), 1, 4, 1e-5),
      (e: unknown) => e instanceof BufferSizeError && e.details.buffer === "out" && e.details.required === 4);
    assert.throws(() => ropeInverseFrequencies(5, 10000), InvalidShapeError);
  });
});
