import { CheckpointError } from "./errors.ts";

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Which tensors get weight decay; by default all but norm weights (as HF Trainer excludes LayerNorm). */
  decays?: (name: string) => boolean;
}

export interface OptimizedParameter {
  name: string;
  data: Float32Array;
  grad: Float32Array;
}

/** The moments and step count: what a checkpoint must keep for a resumed run to match. */
export interface AdamWState {
  step: number;
  moments: { name: string; m: Float32Array; v: Float32Array }[];
}

const isNormWeight = (name: string) => /norm\.weight$/.test(name);

/**
 * AdamW (Loshchilov & Hutter), as torch.optim.AdamW does it:
 *   p ← p − lr·wd·p                          decoupled weight decay, not through the gradient
 *   m ← β1·m + (1−β1)·g,   v ← β2·v + (1−β2)·g²
 *   p ← p − lr · (m / (1−β1ᵗ)) / (sqrt(v / (1−β2ᵗ)) + eps)     bias-corrected moments
 */
export class AdamW {
  private readonly params: OptimizedParameter[];
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;
  private readonly decays: (name: string) => boolean;
  private t = 0;

  constructor(params: OptimizedParameter[], options: AdamWOptions = {}) {
    this.params = params;
    this.m = params.map((p) => new Float32Array(p.data.length));
    this.v = params.map((p) => new Float32Array(p.data.length));
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.decays = options.decays ?? ((name) => !isNormWeight(name));
  }

  get stepCount(): number {
    return this.t;
  }

  step(lr: number): void {
    this.t++;
    const { beta1, beta2, eps } = this;
    const correction1 = 1 - Math.pow(beta1, this.t);
    const correction2 = 1 - Math.pow(beta2, this.t);
    for (let p = 0; p < this.params.length; p++) {
      const { name, data, grad } = this.params[p];
      const m = this.m[p];
      const v = this.v[p];
      const decay = this.decays(name) ? 1 - lr * this.weightDecay : 1;
      for (let i = 0; i < data.length; i++) {
        const g = grad[i];
        m[i] = beta1 * m[i] + (1 - beta1) * g;
        v[i] = beta2 * v[i] + (1 - beta2) * g * g;
        data[i] = data[i] * decay - (lr * (m[i] / correction1)) / (Math.sqrt(v[i] / correction2) + eps);
      }
    }
  }

  state(): AdamWState {
    return { step: this.t, moments: this.params.map((p, i) => ({ name: p.name, m: this.m[i], v: this.v[i] })) };
  }

  /** Restores moments saved by `state()`; the parameters must be the same tensors by name and size. */
  loadState(state: AdamWState): void {
    if (state.moments.length !== this.params.length) {
      throw new CheckpointError(`Optimizer state has ${state.moments.length} tensors, this optimizer ${this.params.length}.`);
    }
    state.moments.forEach(({ name, m, v }, i) => {
      const p = this.params[i];
      if (p.name !== name || p.data.length !== m.length || p.data.length !== v.length) {
        throw new CheckpointError(`Optimizer state tensor ${i} is "${name}" [${m.length}], expected "${p.name}" [${p.data.length}].`, { index: i, name, expected: p.name });
      }
      this.m[i].set(m);
      this.v[i].set(v);
    });
    this.t = state.step;
  }
}
