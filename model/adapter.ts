/**
 * @file MusiLingo's adapter `llama_proj`: Linear(encoder width → decoder width) applied to pooled MERT vectors,
 * in TS and float32 (it is tiny). Any process.
 */
import { CheckpointError } from './safetensors';
import type { Checkpoint } from './safetensors';

/** A loaded adapter: weight [outDim, inDim] row-major (torch Linear layout) and bias [outDim]. */
export interface Adapter {
  readonly inDim: number;
  readonly outDim: number;
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

/**
 * Reads `llama_proj.weight` / `llama_proj.bias` (found by suffix, so any prefix works) from an opened
 * checkpoint. `expectInDim`/`expectOutDim` check the encoder and decoder widths when given. Throws a
 * CheckpointError naming the tensor and file when missing or misshapen.
 */
export async function loadAdapter(ck: Pick<Checkpoint, 'requireBySuffix' | 'info' | 'readF32'>, expect: { inDim?: number; outDim?: number } = {}): Promise<Adapter> {
  const wName = ck.requireBySuffix('llama_proj.weight');
  const bName = ck.requireBySuffix('llama_proj.bias');
  const wi = ck.info(wName);
  const bi = ck.info(bName);
  const [outDim, inDim] = wi.shape;
  if (wi.shape.length !== 2 || outDim === undefined || inDim === undefined ||
      (expect.inDim !== undefined && inDim !== expect.inDim) || (expect.outDim !== undefined && outDim !== expect.outDim)) {
    throw new CheckpointError(
      `Tensor "${wName}" in ${wi.file} has shape [${wi.shape.join(', ')}], expected [${expect.outDim ?? 'decoder width'}, ${expect.inDim ?? 'encoder width'}]`,
      { file: wi.file, tensor: wName },
    );
  }
  if (bi.shape.length !== 1 || bi.shape[0] !== outDim) {
    throw new CheckpointError(`Tensor "${bName}" in ${bi.file} has shape [${bi.shape.join(', ')}], expected [${outDim}]`, { file: bi.file, tensor: bName });
  }
  return { inDim, outDim, weight: await ck.readF32(wName), bias: await ck.readF32(bName) };
}

/** y = x · Wᵀ + b for `rows` pooled vectors `x` ([rows, inDim]); returns [rows, outDim]. Float64 sums. */
export function applyAdapter(adapter: Adapter, x: Float32Array, rows = x.length / adapter.inDim): Float32Array {
  const { inDim, outDim, weight, bias } = adapter;
  if (!Number.isInteger(rows) || x.length !== rows * inDim) {
    throw new RangeError(`applyAdapter: ${x.length} values are not rows of ${inDim} (the adapter's input width)`);
  }
  const out = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    const xo = r * inDim;
    for (let o = 0; o < outDim; o++) {
      const wo = o * inDim;
      let acc = bias[o]!;
      for (let i = 0; i < inDim; i++) acc += weight[wo + i]! * x[xo + i]!;
      out[r * outDim + o] = acc;
    }
  }
  return out;
}
