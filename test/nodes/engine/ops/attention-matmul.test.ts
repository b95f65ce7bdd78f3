import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { attentionBackward, attentionForward, type AttentionShape } from "../../../../nodes/src/engine/ops/attention.ts";
import { allocateAttentionScratch, attentionMatmulBackward, attentionMatmulForward } from "../../../../nodes/src/engine/ops/attention-matmul.ts";
import { BufferSizeError } from "../../../../nodes/src/engine/ops/errors.ts";
import { randomArray } from "./gradcheck.ts";

const backend = createReferenceBackend();

function assertClose(name: string, actual: Float32Array, expected: Float32Array): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= 1e-6 + 1e-5 * Math.abs(expected[i]), `${name}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe("attention through backend matmuls matches the plain loops", () => {
  for (const shape of [
    { B: 2, Tq: 6, Tk: 6, NH: 4, NKV: 2, HS: 4 },
    { B: 1, Tq: 3, Tk: 7, NH: 6, NKV: 2, HS: 8 },
    { B: 2, Tq: 5, Tk: 5, NH: 2, NKV: 2, HS: 4 },
  ] as AttentionShape[]) {
    it(`B=${shape.B} Tq=${shape.Tq} Tk=${shape.Tk} NH=${shape.NH} NKV=${shape.NKV} HS=${shape.HS}`, () => {
      const { B, Tq, Tk, NH, NKV, HS } = shape;
      const q = randomArray(B * Tq * NH * HS, 1, 2);
      const k = randomArray(B * Tk * NKV * HS, 2, 2);
      const v = randomArray(B * Tk * NKV * HS, 3);
      const dout = randomArray(B * Tq * NH * HS, 4);
      const plain = { out: new Float32Array(q.length), att: new Float32Array(B * NH * Tq * Tk) };
      const fast = { out: new Float32Array(q.length), att: new Float32Array(B * NH * Tq * Tk) };
      attentionForward(plain.out, plain.att, q, k, v, shape);
      const scratch = allocateAttentionScratch(shape, (n) => new Float32Array(n));
      attentionMatmulForward(backend, scratch, fast.out, fast.att, q, k, v, shape);
      assertClose("att", fast.att, plain.att);
      assertClose("out", fast.out, plain.out);

      const grads = () => ({ dq: randomArray(q.length, 9), dk: randomArray(k.length, 9), dv: randomArray(v.length, 9) });
      const p = grads();
      const f = grads(); // stale values: the backward must overwrite, not add
      attentionBackward(p.dq, p.dk, p.dv, dout, q, k, v, plain.att, shape);
      attentionMatmulBackward(backend, scratch, f.dq, f.dk, f.dv, dout, q, k, v, fast.att, shape);
      assertClose("dq", f.dq, p.dq);
      assertClose("dk", f.dk, p.dk);
      assertClose("dv", f.dv, p.dv);
    });
  }

  it("rejects scratch sized for another shape", () => {
    const shape = { B: 1, Tq: 4, Tk: 4, NH: 2, NKV: 1, HS: 4 };
    const small = allocateAttentionScratch({ ...shape, Tq: 2, Tk: 2 }, (n) => new Float32Array(n));
    const n = 4 * 2 * 4;
    assert.throws(() => attentionMatmulForward(backend, small, new Float32Array(n), new Float32Array(32), new Float32Array(n), new Float32Array(16), new Float32Array(16), shape),
      BufferSizeError);
  });
});
