/**
 * @file The trainable adapter (MusiLingo's `llama_proj`, Linear(M → H)): forward and gradient. Plain TS.
 *
 * [Note: Adapter gradient] Only the adapter learns; MERT and the decoder are frozen. With e_j = W p_j + b the
 * embedding placed at music position j, the chain rule gives dW = Σ_j g_jᵀ p_j and db = Σ_j g_j, where
 * g_j = d(loss)/d(inputs_embeds) at that position (the training graph's output). The loss's mean over answer
 * tokens is already inside g_j, so nothing is divided here.
 */
import { applyAdapter as applyModelAdapter, type Adapter } from '../model/adapter';

/** Linear(inDim → outDim) in PyTorch layout: weight [outDim, inDim] row-major, bias [outDim]. */
export interface AdapterWeights extends Adapter {
  readonly inDim: number;
  readonly outDim: number;
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

/** Gradients with the adapter's shapes. */
export interface AdapterGrads {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

/** Checks the shapes of an adapter and names what is wrong. */
export function assertAdapterShape(a: AdapterWeights, what = 'adapter'): void {
  if (a.weight.length !== a.inDim * a.outDim || a.bias.length !== a.outDim) {
    throw new Error(
      `${what}: weight has ${a.weight.length} values and bias ${a.bias.length}; expected ${a.outDim}×${a.inDim} and ${a.outDim}`,
    );
  }
}

/** A deep copy of an adapter. */
export function cloneAdapter(a: AdapterWeights): AdapterWeights {
  return { inDim: a.inDim, outDim: a.outDim, weight: a.weight.slice(), bias: a.bias.slice() };
}

/** e = W p + b for each of `rows` pooled vectors (`pooled` is [rows, inDim]); returns [rows, outDim]. */
export function applyAdapter(a: AdapterWeights, pooled: Float32Array, rows: number): Float32Array {
  return applyModelAdapter(a, pooled, rows);
}

/** Zero gradients for an adapter of this shape. */
export function zeroAdapterGrads(a: Pick<AdapterWeights, 'inDim' | 'outDim'>): AdapterGrads {
  return { weight: new Float32Array(a.inDim * a.outDim), bias: new Float32Array(a.outDim) };
}

/**
 * Adds `scale`·(Σ_j g_jᵀ p_j, Σ_j g_j) to `acc`. `gradEmbeds` is d(loss)/d(inputs_embeds) [S, outDim];
 * the music vectors sit at rows `offset … offset+rows-1`; `pooled` is [rows, inDim]. See [Note: Adapter gradient].
 */
export function accumulateAdapterGrads(
  acc: AdapterGrads,
  gradEmbeds: ArrayLike<number>,
  offset: number,
  pooled: ArrayLike<number>,
  rows: number,
  dims: Pick<AdapterWeights, 'inDim' | 'outDim'>,
  scale = 1,
): void {
  const { inDim, outDim } = dims;
  if (gradEmbeds.length < (offset + rows) * outDim) {
    throw new Error(`gradient has ${gradEmbeds.length / outDim} rows; music rows end at ${offset + rows}`);
  }
  for (let j = 0; j < rows; j++) {
    const gRow = (offset + j) * outDim;
    const pRow = j * inDim;
    for (let o = 0; o < outDim; o++) {
      const g = (gradEmbeds[gRow + o] ?? 0) * scale;
      if (g === 0) continue;
      acc.bias[o] = (acc.bias[o] ?? 0) + g;
      const wo = o * inDim;
      for (let i = 0; i < inDim; i++) acc.weight[wo + i] = (acc.weight[wo + i] ?? 0) + g * (pooled[pRow + i] ?? 0);
    }
  }
}
