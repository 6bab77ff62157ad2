/**
 * @file Gradient clipping by global L2 norm (torch.nn.utils.clip_grad_norm_ semantics). Plain TS.
 */

/**
 * Scales every gradient in place so that their joint L2 norm is at most `maxNorm`, as PyTorch does
 * (coefficient maxNorm / (norm + 1e-6), applied only when below 1). Returns the norm before clipping.
 */
export function clipGlobalNorm(grads: readonly Float32Array[], maxNorm: number): number {
  let sq = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sq += (g[i] ?? 0) ** 2;
  const norm = Math.sqrt(sq);
  if (!Number.isFinite(maxNorm) || maxNorm <= 0) return norm;
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = (g[i] ?? 0) * coef;
  return norm;
}
