import { describe, it } from "node:test";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { encoderBackward, encoderForward } from "../../../../nodes/src/engine/ops/encoder.ts";
import { rmsnormBackward, rmsnormForward } from "../../../../nodes/src/engine/ops/rmsnorm.ts";
import { ropeBackward, ropeForward, ropeInverseFrequencies, ropeTable, sequencePositions } from "../../../../nodes/src/engine/ops/rope.ts";
import { attentionBackward, attentionForward, type AttentionShape } from "../../../../nodes/src/engine/ops/attention.ts";
import { swigluBackward, swigluForward } from "../../../../nodes/src/engine/ops/swiglu.ts";
import { linearBackward, linearForward } from "../../../../nodes/src/engine/ops/linear.ts";
import { loraLinearBackward, loraLinearForward } from "../../../../nodes/src/engine/ops/lora-linear.ts";
import { IGNORE_INDEX, crossEntropyBackward, crossEntropyForward } from "../../../../nodes/src/engine/ops/cross-entropy.ts";
import { assertGradientClose, dot64, numericalGradient, randomArray } from "./gradcheck.ts";

const backend = createReferenceBackend();

describe("op backwards match central finite differences", () => {
  it("encoder", () => {
    const [N, C, V] = [6, 5, 7];
    const tokens = Int32Array.from([1, 3, 3, 0, 6, 1]);
    const wte = randomArray(V * C, 1);
    const probe = randomArray(N * C, 2);
    const out = new Float32Array(N * C);
    const loss = () => (encoderForward(out, tokens, wte, N, C, V), dot64(out, probe));
    const dwte = new Float32Array(V * C);
    encoderBackward(dwte, probe, tokens, N, C);
    assertGradientClose("dwte", dwte, numericalGradient(wte, loss));
  });

  it("rmsnorm", () => {
    const [N, C, eps] = [4, 8, 1e-5];
    const inp = randomArray(N * C, 3, 2);
    const weight = randomArray(C, 4);
    const probe = randomArray(N * C, 5);
    const out = new Float32Array(N * C);
    const rstd = new Float32Array(N);
    const loss = () => (rmsnormForward(out, rstd, inp, weight, N, C, eps), dot64(out, probe));
    loss();
    const dinp = new Float32Array(N * C);
    const dweight = new Float32Array(C);
    rmsnormBackward(dinp, dweight, probe, inp, weight, rstd, N, C);
    assertGradientClose("dinp", dinp, numericalGradient(inp, loss));
    assertGradientClose("dweight", dweight, numericalGradient(weight, loss));
  });

  it("rope", () => {
    const [B, T, NH, HS] = [2, 5, 3, 8];
    const N = B * T;
    const table = ropeTable(ropeInverseFrequencies(HS, 10000), 16);
    const positions = sequencePositions(B, T, 2);
    const inp = randomArray(N * NH * HS, 6);
    const probe = randomArray(N * NH * HS, 7);
    const out = new Float32Array(N * NH * HS);
    const loss = () => (ropeForward(out, inp, positions, table, N, NH, HS), dot64(out, probe));
    const dinp = new Float32Array(N * NH * HS);
    ropeBackward(dinp, probe, positions, table, N, NH, HS);
    assertGradientClose("dinp", dinp, numericalGradient(inp, loss));
  });

  for (const [label, shape] of [
    ["grouped-query, training (Tq = Tk)", { B: 2, Tq: 5, Tk: 5, NH: 4, NKV: 2, HS: 4 }],
    ["with cached keys (Tq < Tk)", { B: 1, Tq: 2, Tk: 5, NH: 2, NKV: 1, HS: 4 }],
  ] as [string, AttentionShape][]) {
    it(`attention, ${label}`, () => {
      const { B, Tq, Tk, NH, NKV, HS } = shape;
      const q = randomArray(B * Tq * NH * HS, 8);
      const k = randomArray(B * Tk * NKV * HS, 9);
      const v = randomArray(B * Tk * NKV * HS, 10);
      const probe = randomArray(B * Tq * NH * HS, 11);
      const out = new Float32Array(B * Tq * NH * HS);
      const att = new Float32Array(B * NH * Tq * Tk);
      const loss = () => (attentionForward(out, att, q, k, v, shape), dot64(out, probe));
      loss();
      const dq = new Float32Array(q.length);
      const dk = new Float32Array(k.length);
      const dv = new Float32Array(v.length);
      attentionBackward(dq, dk, dv, probe, q, k, v, att, shape);
      assertGradientClose("dq", dq, numericalGradient(q, loss));
      assertGradientClose("dk", dk, numericalGradient(k, loss));
      assertGradientClose("dv", dv, numericalGradient(v, loss));
    });
  }

  it("swiglu", () => {
    const size = 24;
    const gate = randomArray(size, 12, 3);
    const up = randomArray(size, 13, 2);
    const probe = randomArray(size, 14);
    const out = new Float32Array(size);
    const loss = () => (swigluForward(out, gate, up, size), dot64(out, probe));
    const dgate = new Float32Array(size);
    const dup = new Float32Array(size);
    swigluBackward(dgate, dup, probe, gate, up, size);
    assertGradientClose("dgate", dgate, numericalGradient(gate, loss));
    assertGradientClose("dup", dup, numericalGradient(up, loss));
  });

  it("linear", () => {
    const [N, IN, OUT] = [5, 6, 4];
    const inp = randomArray(N * IN, 15);
    const weight = randomArray(OUT * IN, 16);
    const probe = randomArray(N * OUT, 17);
    const out = new Float32Array(N * OUT);
    const loss = () => (linearForward(backend, out, inp, weight, N, IN, OUT), dot64(out, probe));
    const dinp = new Float32Array(N * IN);
    const dweight = new Float32Array(OUT * IN);
    linearBackward(backend, dinp, dweight, probe, inp, weight, N, IN, OUT);
    assertGradientClose("dinp", dinp, numericalGradient(inp, loss));
    assertGradientClose("dweight", dweight, numericalGradient(weight, loss));
  });

  it("LoRA linear", () => {
    const shape = { N: 5, IN: 6, OUT: 4, rank: 2, scale: 8 / 2 };
    const { N, IN, OUT, rank } = shape;
    const inp = randomArray(N * IN, 18);
    const weight = randomArray(OUT * IN, 19);
    // B is nonzero here (unlike at init) so every path of the backward carries signal.
    const lora = { A: randomArray(rank * IN, 20), B: randomArray(OUT * rank, 21) };
    const probe = randomArray(N * OUT, 22);
    const out = new Float32Array(N * OUT);
    const hidden = new Float32Array(N * rank);
    const loss = () => (loraLinearForward(backend, out, hidden, inp, weight, lora, shape), dot64(out, probe));
    loss();
    const dinp = new Float32Array(N * IN);
    const dweight = new Float32Array(OUT * IN);
    const dlora = { A: new Float32Array(rank * IN), B: new Float32Array(OUT * rank) };
    loraLinearBackward(backend, dinp, dweight, dlora, new Float32Array(N * rank), probe, inp, hidden, weight, lora, shape);
    assertGradientClose("dinp", dinp, numericalGradient(inp, loss));
    assertGradientClose("dweight", dweight, numericalGradient(weight, loss));
    assertGradientClose("dA", dlora.A, numericalGradient(lora.A, loss));
    assertGradientClose("dB", dlora.B, numericalGradient(lora.B, loss));
  });

  it("softmax cross-entropy with ignored targets", () => {
    const [N, V] = [5, 7];
    const logits = randomArray(N * V, 23, 3);
    const targets = Int32Array.from([2, IGNORE_INDEX, 6, 0, IGNORE_INDEX]);
    const probs = new Float32Array(N * V);
    const losses = new Float32Array(N);
    const loss = () => crossEntropyForward(losses, probs, logits, targets, N, V).loss;
    const { count } = crossEntropyForward(losses, probs, logits, targets, N, V);
    const dlogits = new Float32Array(N * V);
    crossEntropyBackward(dlogits, probs, targets, N, V, count);
    assertGradientClose("dlogits", dlogits, numericalGradient(logits, loss, 1e-3));
  });
});
