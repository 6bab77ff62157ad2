/**
 * @file The training graph on random tiny configs (MHA, GQA, odd widths) against the float64 TS reference,
 * whose own backward is checked by finite differences; float16 and int4 weight storages.
 */
import { describe, expect, it } from 'vitest';
import { createOrtEngine, createReferenceEngine } from '../../../trainer/engine';
import { dequantizeInt4, quantizeInt4 } from '../../../model/llama/quantize';
import { arrayWeightSource, buildLlamaTrainingGraph, type TrainingGraphOptions } from '../../../trainer/graph/llama-train-graph';
import {
  randomLlamaWeights,
  referenceLossAndGrad,
  type LlamaDims,
  type LlamaLayerWeights,
  type LlamaWeights,
} from '../../../trainer/reference/llama-reference';
import { mulberry32 } from '../../../model/random';

const base: LlamaDims = {
  hiddenSize: 48,
  intermediateSize: 80,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 4,
  headDim: 12,
  vocabSize: 97,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
};

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] ?? 0));
  return m;
}
function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs((ours[i] ?? 0) - (ref[i] ?? 0)));
  return m / maxAbs(ref);
}

function input(dims: LlamaDims, seed: number, s: number): { x: Float32Array; labels: number[] } {
  const r = mulberry32(seed);
  const x = Float32Array.from({ length: s * dims.hiddenSize }, () => r() * 2 - 1);
  const labels = Array.from({ length: s }, (_, i) => (i < s / 2 ? -100 : Math.floor(r() * dims.vocabSize)));
  return { x, labels };
}

/** The weights a graph with int4 storage effectively uses in its forward. */
function dequantized(w: LlamaWeights<Float32Array>): LlamaWeights<Float32Array> {
  const { hiddenSize: H, intermediateSize: I, numHeads: nH, numKvHeads: nKV, headDim: d, vocabSize: V } = w.dims;
  const dq = (m: Float32Array, n: number, k: number): Float32Array => dequantizeInt4(quantizeInt4(m, n, k));
  const layers = w.layers.map((l): LlamaLayerWeights<Float32Array> => ({
    ...l,
    q: dq(l.q, nH * d, H),
    k: dq(l.k, nKV * d, H),
    v: dq(l.v, nKV * d, H),
    o: dq(l.o, H, nH * d),
    gate: dq(l.gate, I, H),
    up: dq(l.up, I, H),
    down: dq(l.down, H, I),
  }));
  return { ...w, layers, lmHead: dq(w.lmHead, V, H) };
}

async function run(w: LlamaWeights<Float32Array>, opts: TrainingGraphOptions, x: Float32Array, labels: number[]): Promise<{ loss: number; grad: Float32Array }> {
  const g = await buildLlamaTrainingGraph(arrayWeightSource(w), opts);
  const engine = await createOrtEngine(g.toBytes('unused.data'), w.dims.hiddenSize);
  try {
    return await engine.lossAndGrad(x, labels);
  } finally {
    await engine.release();
  }
}

describe('training graph vs float64 reference (float32, dense)', () => {
  const configs: [string, LlamaDims][] = [
    ['MHA', base],
    ['GQA 4→2', { ...base, numKvHeads: 2 }],
    ['GQA 6→1, odd width 30, head_dim 10, 3 layers', { ...base, hiddenSize: 30, numHeads: 6, numKvHeads: 1, headDim: 10, numLayers: 3, intermediateSize: 50, ropeTheta: 500000 }],
  ];
  for (const [name, dims] of configs) {
    it(`matches loss and gradient (${name})`, async () => {
      const w = randomLlamaWeights(dims, 7, 0.15);
      const { x, labels } = input(dims, 8, 13);
      const ref = referenceLossAndGrad(w, x, labels);
      const ours = await run(w, {}, x, labels);
      expect(Math.abs(ours.loss - ref.loss)).toBeLessThan(1e-5 * ref.loss);
      expect(relErr(ours.grad, ref.gradInputsEmbeds)).toBeLessThan(1e-4);
    });
  }
});

describe('training graph batches', () => {
  it('gives the batch loss and per-sequence gradients of right-padded sequences of different lengths (GQA)', async () => {
    const dims = { ...base, numKvHeads: 2 };
    const w = randomLlamaWeights(dims, 31, 0.15);
    const items = [13, 7, 10].map((s, i) => {
      const { x, labels } = input(dims, 40 + i, s);
      return { inputsEmbeds: x, labels };
    });
    const ref = await createReferenceEngine(w).lossAndGradBatch(items);
    const g = await buildLlamaTrainingGraph(arrayWeightSource(w));
    const engine = await createOrtEngine(g.toBytes('unused.data'), dims.hiddenSize);
    try {
      const ours = await engine.lossAndGradBatch(items);
      expect(Math.abs(ours.loss - ref.loss)).toBeLessThan(1e-5 * ref.loss);
      ours.grads.forEach((gr, b) => {
        expect(gr.length).toBe(items[b]!.labels.length * dims.hiddenSize);
        expect(relErr(gr, ref.grads[b]!)).toBeLessThan(1e-4);
      });
      // One sequence alone is the batch of one.
      const single = await engine.lossAndGrad(items[1]!.inputsEmbeds, items[1]!.labels);
      const alone = referenceLossAndGrad(w, items[1]!.inputsEmbeds, items[1]!.labels);
      expect(Math.abs(single.loss - alone.loss)).toBeLessThan(1e-5 * alone.loss);
    } finally {
      await engine.release();
    }
  });
});

describe('training graph weight storages', () => {
  const dims = { ...base, numKvHeads: 2, intermediateSize: 72 }; // 72: a padded last int4 block
  const w = randomLlamaWeights(dims, 21, 0.15);
  const { x, labels } = input(dims, 22, 11);
  const refQ = referenceLossAndGrad(dequantized(w), x, labels);

  it('int4-dequant is the exact gradient of its own int4 forward, whole or in row chunks', async () => {
    // 1000 elements: W rebuilt 20 rows (of 48 inputs) or fewer at a time, with a ragged last chunk.
    for (const dequantChunkElements of [undefined, 1000]) {
      const ours = await run(w, { weights: 'int4-dequant', ...(dequantChunkElements ? { dequantChunkElements } : {}) }, x, labels);
      expect(Math.abs(ours.loss - refQ.loss)).toBeLessThan(1e-5 * refQ.loss);
      expect(relErr(ours.grad, refQ.gradInputsEmbeds)).toBeLessThan(1e-4);
    }
  });
  it('int4-transposed has the same forward and a gradient within int4 rounding of it', async () => {
    const ours = await run(w, { weights: 'int4-transposed' }, x, labels);
    expect(Math.abs(ours.loss - refQ.loss)).toBeLessThan(1e-5 * refQ.loss);
    // Its backward uses a separate quantization of Wᵀ: not the exact gradient of its forward, but no further
    // from it than int4 rounding moves the gradient of the unquantized model.
    const e = relErr(ours.grad, refQ.gradInputsEmbeds);
    const quantEffect = relErr(refQ.gradInputsEmbeds, referenceLossAndGrad(w, x, labels).gradInputsEmbeds);
    expect(e).toBeGreaterThan(1e-4);
    expect(e).toBeLessThan(2 * quantEffect);
  });
  it('both int4 storages are exact when every weight is exactly representable in both orientations', async () => {
    // Multiples of s in [−7, 7], with −8·s once in every 32-block of each row and each column, so quantizing
    // W and Wᵀ both give scale s and lose nothing. All sizes are multiples of 32.
    const d2: LlamaDims = { ...base, hiddenSize: 64, intermediateSize: 128, numHeads: 4, numKvHeads: 2, headDim: 16, vocabSize: 96 };
    const r = mulberry32(5);
    const exact = (m: Float32Array, n: number, k: number): Float32Array => {
      const out = new Float32Array(n * k);
      for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) out[i * k + j] = ((i + j) % 32 === 0 ? -8 : Math.floor(r() * 15) - 7) * 0.01;
      return m.length === n * k ? out : m;
    };
    const w0 = randomLlamaWeights(d2, 9, 0.1);
    const { hiddenSize: H, intermediateSize: I, numHeads: nH, numKvHeads: nKV, headDim: hd, vocabSize: V } = d2;
    const w2: LlamaWeights<Float32Array> = {
      ...w0,
      layers: w0.layers.map((l) => ({
        ...l,
        q: exact(l.q, nH * hd, H), k: exact(l.k, nKV * hd, H), v: exact(l.v, nKV * hd, H), o: exact(l.o, H, nH * hd),
        gate: exact(l.gate, I, H), up: exact(l.up, I, H), down: exact(l.down, H, I),
      })),
      lmHead: exact(w0.lmHead, V, H),
    };
    const { x: x2, labels: l2 } = input(d2, 6, 10);
    const ref = referenceLossAndGrad(w2, x2, l2);
    for (const weights of ['int4-transposed', 'int4-dequant'] as const) {
      const ours = await run(w2, { weights }, x2, l2);
      expect(Math.abs(ours.loss - ref.loss)).toBeLessThan(1e-5 * ref.loss);
      expect(relErr(ours.grad, ref.gradInputsEmbeds)).toBeLessThan(1e-4);
    }
  });
  it('float16 stays within float16 rounding of the float32 reference', async () => {
    const ref = referenceLossAndGrad(w, x, labels);
    const ours = await run(w, { dtype: 'float16' }, x, labels);
    expect(Math.abs(ours.loss - ref.loss)).toBeLessThan(1e-2 * ref.loss);
    expect(relErr(ours.grad, ref.gradInputsEmbeds)).toBeLessThan(2e-2);
  });
});
