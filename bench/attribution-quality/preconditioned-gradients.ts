/**
 * TRAK/LoGra-style preconditioning of projected gradients, as an experiment beside the node's scoring: at each
 * checkpoint, with G the E × k matrix of the training examples' projected gradients and
 *
 *   A = GᵀG / E + λ I,   λ = damping · tr(GᵀG / E) / k   (damping times the mean eigenvalue),
 *
 * an output's influence is gₒᵀ A⁻¹ gₑ instead of gₒᵀ gₑ: directions every training example moves along (the
 * template, the language the whole Datanet teaches) are divided by their large variance, directions only a few
 * examples take keep their weight. Implemented as a change of basis, w = L⁻¹ g with A = L Lᵀ (Cholesky), so that
 * wₒ · wₑ = gₒᵀ A⁻¹ gₑ and the node's own gradientInfluence scores the whitened gradients unchanged ("dot" for
 * TRAK's inner product, "cosine" for the normalized one).
 */
import type { GradientSketch, OutputGradientCheckpoint } from "../../nodes/src/attribution/gradient-influence.ts";
import { BenchmarkInputError } from "./errors.ts";

/** Lower-triangular L with L Lᵀ = a (a: n × n symmetric positive definite, row-major, float64). */
export function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j];
      for (let p = 0; p < j; p++) sum -= l[i * n + p] * l[j * n + p];
      if (i === j) {
        if (!(sum > 0)) throw new BenchmarkInputError(`The preconditioner is not positive definite (pivot ${i}: ${sum}); raise the damping.`, { pivot: i });
        l[i * n + i] = Math.sqrt(sum);
      } else l[i * n + j] = sum / l[j * n + j];
    }
  }
  return l;
}

/** x = L⁻¹ v by forward substitution (L lower-triangular n × n). */
export function forwardSubstitute(l: Float64Array, n: number, v: ArrayLike<number>): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = v[i];
    for (let p = 0; p < i; p++) sum -= l[i * n + p] * x[p];
    x[i] = sum / l[i * n + i];
  }
  return x;
}

/** The Cholesky factor of GᵀG / E + λ I for the E × k rows of `rows`, λ = damping · mean eigenvalue. */
export function dampedCovarianceFactor(rows: Float32Array, examples: number, k: number, damping: number): Float64Array {
  if (!(damping > 0)) throw new BenchmarkInputError(`damping must be above 0, got ${damping}.`, { damping });
  if (rows.length !== examples * k) throw new BenchmarkInputError(`${rows.length} floats for ${examples} × ${k} gradients.`, {});
  const c = new Float64Array(k * k);
  for (let e = 0; e < examples; e++) {
    const at = e * k;
    for (let i = 0; i < k; i++) {
      const gi = rows[at + i] / examples;
      if (gi === 0) continue;
      for (let j = 0; j <= i; j++) c[i * k + j] += gi * rows[at + j];
    }
  }
  let trace = 0;
  for (let i = 0; i < k; i++) trace += c[i * k + i];
  const lambda = (damping * trace) / k || damping;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < i; j++) c[j * k + i] = c[i * k + j];
    c[i * k + i] += lambda;
  }
  return cholesky(c, k);
}

/** The sketch and the outputs' gradients in the whitened basis of each checkpoint (same shapes, same learning rates). */
export function preconditionGradients(
  sketch: GradientSketch, outputs: readonly (readonly OutputGradientCheckpoint[])[], damping: number,
): { sketch: GradientSketch; outputs: OutputGradientCheckpoint[][] } {
  const k = sketch.dims;
  const E = sketch.exampleContributionIds.length;
  const factors = sketch.checkpoints.map((c) => dampedCovarianceFactor(c.exampleGradients, E, k, damping));
  const whiten = (l: Float64Array, g: ArrayLike<number>) => Float32Array.from(forwardSubstitute(l, k, g));
  return {
    sketch: {
      ...sketch,
      checkpoints: sketch.checkpoints.map((c, i) => {
        const rows = new Float32Array(E * k);
        for (let e = 0; e < E; e++) rows.set(whiten(factors[i], c.exampleGradients.subarray(e * k, (e + 1) * k)), e * k);
        return { learningRate: c.learningRate, exampleGradients: rows };
      }),
    },
    outputs: outputs.map((o) => o.map((c, i) => ({ learningRate: c.learningRate, gradient: whiten(factors[i], c.gradient) }))),
  };
}
