/**
 * @file Resampler against torchaudio.transforms.Resample goldens (tiny-mert) and its streaming/span forms.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../../../model/safetensors';
import type { Checkpoint } from '../../../../model/safetensors';
import {
  StreamingResampler,
  inputSpanFor,
  planResample,
  resample,
  resampleSpan,
  resampledLength,
} from '../../../../model/audio/resample';

const GOLDEN = new URL('../../../fixtures/tiny-mert/golden.safetensors', import.meta.url).pathname;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function testSignal(n: number, seed = 1): Float32Array {
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = 0.5 * Math.sin(i * 0.01) + 0.3 * (s / 2147483648 - 0.5);
  }
  return x;
}

describe('resample vs torchaudio', () => {
  let gold: Checkpoint;
  beforeAll(async () => {
    gold = await openCheckpoint(GOLDEN);
  });
  afterAll(async () => {
    await gold.close();
  });

  for (const rate of [44100, 48000, 22050, 16000]) {
    it(`${rate} Hz → 24 kHz within 1e-4`, async () => {
      const input = await gold.readF32(`resample_${rate}_in`);
      const want = await gold.readF32(`resample_${rate}_out`);
      const got = resample(input, rate, 24000);
      expect(got.length).toBe(want.length);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
    });
  }
});

describe('resample forms agree', () => {
  for (const [from, to] of [[44100, 24000], [48000, 24000], [22050, 24000], [8000, 24000], [192000, 24000], [24000, 24000]] as const) {
    it(`streaming over uneven chunks equals whole-buffer (${from} → ${to})`, () => {
      const x = testSignal(from + 777);
      const whole = resample(x, from, to);
      const r = new StreamingResampler(from, to);
      const parts: Float32Array[] = [];
      let pos = 0;
      const sizes = [1, 5, 333, 4096, 17, 10000];
      for (let k = 0; pos < x.length; k++) {
        const n = sizes[k % sizes.length]!;
        parts.push(r.push(x.subarray(pos, pos + n)));
        pos += n;
      }
      parts.push(r.flush());
      const total = parts.reduce((a, p) => a + p.length, 0);
      const cat = new Float32Array(total);
      let o = 0;
      for (const p of parts) {
        cat.set(p, o);
        o += p.length;
      }
      expect(cat.length).toBe(whole.length);
      expect(maxAbsDiff(cat, whole)).toBe(0);
    });
  }

  it('a span read from only its input range equals the same slice of the whole output', () => {
    const x = testSignal(3 * 44100);
    const plan = planResample(44100, 24000);
    const whole = resample(x, 44100, 24000);
    expect(whole.length).toBe(resampledLength(plan, x.length));
    const outStart = 24000 + 37;
    const out = new Float32Array(12345);
    const span = inputSpanFor(plan, outStart, outStart + out.length);
    resampleSpan(plan, x.slice(span.start, span.end), span.start, x.length, outStart, out);
    expect(maxAbsDiff(out, whole.subarray(outStart, outStart + out.length))).toBe(0);
  });

  it('rejects a span that lacks needed input', () => {
    const plan = planResample(44100, 24000);
    expect(() => resampleSpan(plan, new Float32Array(10), 1000, 100000, 24000, new Float32Array(4))).toThrow(/outside the span/);
  });

  it('rejects non-integer rates with a message naming them', () => {
    expect(() => planResample(44100.5, 24000)).toThrow(/44100.5/);
  });
});
