/**
 * @file Finite-difference checks of the float64 reference Llama backward on random tiny configs (MHA and GQA).
 */
import { describe, expect, it } from 'vitest';
import {
  randomLlamaWeights,
  referenceLoss,
  referenceLossAndGrad,
  type LlamaDims,
} from '../../../trainer/reference/llama-reference';
import { mulberry32 } from '../../../model/random';

const base: LlamaDims = {
  hiddenSize: 12,
  intermediateSize: 20,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 4,
  headDim: 4,
  vocabSize: 23,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
};

function check(dims: LlamaDims, seed: number): void {
  const w = randomLlamaWeights(dims, seed, 0.3);
  const rand = mulberry32(seed + 1);
  const S = 9;
  const x = Float64Array.from({ length: S * dims.hiddenSize }, () => rand() * 2 - 1);
  const labels = [-100, -100, -100, -100, 3, 7, 1, 22, 5];
  const { loss, gradInputsEmbeds } = referenceLossAndGrad(w, x, labels);
  expect(loss).toBeGreaterThan(0);
  const eps = 1e-5;
  // Every coordinate of a few rows, including rows before the first label (their gradient flows through attention).
  let maxErr = 0;
  let maxG = 0;
  for (const t of [0, 2, 5, 8]) {
    for (let i = 0; i < dims.hiddenSize; i++) {
      const j = t * dims.hiddenSize + i;
      const xp = x.slice();
      xp[j] = (xp[j] ?? 0) + eps;
      const xm = x.slice();
      xm[j] = (xm[j] ?? 0) - eps;
      const fd = (referenceLoss(w, xp, labels) - referenceLoss(w, xm, labels)) / (2 * eps);
      maxErr = Math.max(maxErr, Math.abs(fd - (gradInputsEmbeds[j] ?? 0)));
      maxG = Math.max(maxG, Math.abs(fd));
    }
  }
  expect(maxG).toBeGreaterThan(1e-4);
  expect(maxErr).toBeLessThan(1e-6 * Math.max(1, maxG));
  // The last row predicts nothing and nothing attends back to it: zero gradient.
  for (let i = 0; i < dims.hiddenSize; i++) expect(gradInputsEmbeds[(S - 1) * dims.hiddenSize + i]).toBe(0);
}

describe('reference Llama backward', () => {
  it('matches central finite differences (MHA)', () => check(base, 11));
  it('matches central finite differences (GQA, 4 query heads on 2 KV heads)', () => check({ ...base, numKvHeads: 2 }, 12));
  it('matches central finite differences (odd width, head_dim 6, 3 heads on 1 KV head, 3 layers)', () =>
    check({ ...base, hiddenSize: 10, headDim: 6, numHeads: 3, numKvHeads: 1, numLayers: 3, ropeTheta: 500 }, 13));
  it('has zero loss and gradient when no position is labelled', () => {
    const w = randomLlamaWeights(base, 3);
    const r = referenceLossAndGrad(w, new Float64Array(3 * base.hiddenSize).fill(0.1), [-100, -100, -100]);
    expect(r.loss).toBe(0);
    expect(r.count).toBe(0);
    expect(Math.max(...r.gradInputsEmbeds.map(Math.abs))).toBe(0);
  });
});
