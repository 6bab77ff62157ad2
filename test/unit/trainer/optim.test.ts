/**
 * @file AdamW, the warmup + cosine schedule and global-norm clipping against their closed forms.
 */
import { describe, expect, it } from 'vitest';
import { adamwStep, createAdamWState } from '../../../trainer/optim/adamw';
import { clipGlobalNorm } from '../../../trainer/optim/clip';
import { learningRateAt } from '../../../trainer/optim/schedule';

describe('adamwStep', () => {
  it('moves each parameter by lr·sign(g) on the first step, after decoupled decay', () => {
    const p = Float32Array.from([1, -2, 0.5, 3]);
    const g = [0.3, -4, 1e-3, 0];
    const st = createAdamWState(4);
    adamwStep(p, g, st, { lr: 0.1, weightDecay: 0.05 });
    // m̂ = g, v̂ = g², so the update is lr·g/(|g| + eps).
    const expect0 = [1 * (1 - 0.005) - 0.1, -2 * (1 - 0.005) + 0.1, 0.5 * (1 - 0.005) - 0.1 * (1e-3 / (1e-3 + 1e-8)), 3 * (1 - 0.005)];
    p.forEach((v, i) => expect(v).toBeCloseTo(expect0[i] ?? NaN, 6));
    expect(st.step).toBe(1);
  });
  it('follows the bias-corrected moments on later steps', () => {
    const p = Float32Array.from([0]);
    const st = createAdamWState(1);
    adamwStep(p, [1], st, { lr: 0.01, weightDecay: 0 });
    adamwStep(p, [3], st, { lr: 0.01, weightDecay: 0 });
    const m = 0.9 * 0.1 + 0.1 * 3; // 0.39
    const v = 0.999 * 0.001 + 0.001 * 9; // 0.009999
    const upd = (0.01 / (1 - 0.81)) * (m / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** 2) + 1e-8));
    expect(p[0]).toBeCloseTo(-0.01 - upd, 6);
  });
  it('rejects a gradient of the wrong size', () => {
    expect(() => adamwStep(new Float32Array(2), [1], createAdamWState(2), { lr: 1 })).toThrow(/2 values/);
  });
});

describe('learningRateAt', () => {
  const o = { peakLr: 3e-5, minLr: 1e-5, warmupStartLr: 1e-6, warmupSteps: 10, totalSteps: 110 };
  it('warms up linearly, peaks, then decays by a half cosine to minLr', () => {
    expect(learningRateAt(0, o)).toBeCloseTo(1e-6, 12);
    expect(learningRateAt(5, o)).toBeCloseTo(1e-6 + 0.5 * (3e-5 - 1e-6), 12);
    expect(learningRateAt(10, o)).toBeCloseTo(3e-5, 12);
    expect(learningRateAt(109, o)).toBeCloseTo(1e-5, 12);
    const mid = 10 + 99 / 2;
    expect(learningRateAt(mid, o)).toBeCloseTo(2e-5, 12);
    for (let s = 11; s < 110; s++) expect(learningRateAt(s, o)).toBeLessThanOrEqual(learningRateAt(s - 1, o));
  });
});

describe('clipGlobalNorm', () => {
  it('scales all gradients jointly to the max norm and returns the old norm', () => {
    const a = Float32Array.from([3, 0]);
    const b = Float32Array.from([0, 4]);
    expect(clipGlobalNorm([a, b], 1)).toBeCloseTo(5, 6);
    expect(Math.hypot(...a, ...b)).toBeCloseTo(1, 5);
    expect(a[0]! / b[1]!).toBeCloseTo(0.75, 6);
  });
  it('leaves small gradients alone', () => {
    const a = Float32Array.from([0.3, 0.4]);
    clipGlobalNorm([a], 1);
    expect(Array.from(a)).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });
});
