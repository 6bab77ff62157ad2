/**
 * @file Embedding BLOB coding, pooling and brute-force cosine top-k against a naive float64 computation.
 */
import { describe, expect, it } from 'vitest';
import { blobToFloat32, float32ToBlob, meanRows, normalizeInPlace, topKCosine } from '../../../model/inference/vectors';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

describe('vectors', () => {
  it('stores float32 little-endian and refuses a torn BLOB', () => {
    const v = new Float32Array([1.5, -2, 3.25e-7]);
    const b = float32ToBlob(v);
    expect([...b.subarray(0, 4)]).toEqual([0, 0, 0xc0, 0x3f]); // 1.5f LE
    expect(blobToFloat32(b)).toEqual(v);
    expect(() => blobToFloat32(b.subarray(0, 5))).toThrow(/corrupt/);
  });

  it('averages rows and normalises', () => {
    expect(meanRows(new Float32Array([1, 2, 3, 4]), 2, 2)).toEqual(new Float32Array([2, 3]));
    const n = normalizeInPlace(new Float32Array([3, 4]));
    expect(n[0]).toBeCloseTo(0.6, 6);
    expect(normalizeInPlace(new Float32Array([0, 0]))).toEqual(new Float32Array([0, 0]));
  });

  it('finds the same top-k as a naive float64 ranking', () => {
    const r = rng(7);
    const dim = 18; // not a multiple of 4: the unrolled loop's tail runs too
    const n = 300;
    const m = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const row = normalizeInPlace(Float32Array.from({ length: dim }, r));
      m.set(row, i * dim);
    }
    const q = m.slice(5 * dim, 6 * dim);
    const naive = Array.from({ length: n }, (_, i) => {
      let s = 0;
      for (let d = 0; d < dim; d++) s += (m[i * dim + d] ?? 0) * (q[d] ?? 0);
      return { i, s };
    })
      .filter((x) => x.i !== 5)
      .sort((a, b) => b.s - a.s)
      .slice(0, 10);
    const hits = topKCosine(m, dim, q, 10, new Set([5]));
    expect(hits.map((h) => h.index)).toEqual(naive.map((x) => x.i));
    expect(hits[0]?.score).toBeCloseTo(naive[0]!.s, 5);
  });
});
