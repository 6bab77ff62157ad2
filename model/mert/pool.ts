/**
 * @file Frame pooling of MERT features into MusiLingo's music tokens (pure; any process).
 */

/** MusiLingo's pooling window: 325 frames (≈4.3 s at 75 Hz). */
export const MUSILINGO_POOL_FRAMES = 325;

/**
 * Means of consecutive `window`-frame blocks of `features` ([frames, dim], row-major); the last, partial block
 * is averaged over the frames it has. Returns [ceil(frames / window), dim]. Sums run in float64.
 */
export function poolFrames(features: Float32Array, frames: number, dim: number, window = MUSILINGO_POOL_FRAMES): Float32Array {
  if (!Number.isInteger(frames) || frames < 0 || !Number.isInteger(dim) || dim <= 0 || features.length < frames * dim) {
    throw new RangeError(`poolFrames: ${features.length} values do not hold ${frames} frames of ${dim}`);
  }
  if (!Number.isInteger(window) || window <= 0) throw new RangeError(`poolFrames: window must be a positive integer, got ${window}`);
  const n = Math.ceil(frames / window);
  const out = new Float32Array(n * dim);
  const acc = new Float64Array(dim);
  for (let p = 0; p < n; p++) {
    acc.fill(0);
    const from = p * window;
    const to = Math.min(frames, from + window);
    for (let t = from; t < to; t++) {
      const row = t * dim;
      for (let d = 0; d < dim; d++) acc[d]! += features[row + d]!;
    }
    const inv = 1 / (to - from);
    for (let d = 0; d < dim; d++) out[p * dim + d] = acc[d]! * inv;
  }
  return out;
}
