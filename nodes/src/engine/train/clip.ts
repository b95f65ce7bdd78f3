/**
 * Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_): when the L2 norm over ALL
 * gradients exceeds maxNorm, every gradient is scaled by the same factor, so the update keeps its
 * direction. Returns the norm before clipping (worth logging: spikes show instability).
 */
export function clipGradientNorm(grads: readonly Float32Array[], maxNorm: number): number {
  let sumSq = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sumSq += g[i] * g[i];
  const norm = Math.sqrt(sumSq);
  if (Number.isFinite(maxNorm) && maxNorm > 0 && norm > maxNorm) {
    const scale = maxNorm / (norm + 1e-6);
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= scale;
  }
  return norm;
}
