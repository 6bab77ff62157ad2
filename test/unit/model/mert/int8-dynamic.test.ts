/**
 * @file [Note: MERT int8 on the CPU]: the encoder with int8 dynamically quantized Linear layers stays within
 * its measured bound of the tiny-mert goldens (layer mean and pooled vectors), and really is a different
 * graph (DynamicQuantizeMatMul, error above zero); the per-column weight quantizer rounds to the nearest step.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMertConfig } from '../../../../model/mert/config';
import { createMertSession, encodeWindow } from '../../../../model/mert/encode';
import { buildMertEncoder, quantizeInt8PerColumn } from '../../../../model/mert/encoder-graph';
import { openCheckpoint } from '../../../../model/safetensors';

const FIX = new URL('../../../fixtures/', import.meta.url).pathname;

function relMaxErr(got: Float32Array, want: Float32Array): number {
  expect(got.length).toBe(want.length);
  let err = 0;
  let ref = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    ref = Math.max(ref, Math.abs(want[i]!));
  }
  return err / ref;
}

/**
 * Measured (onnxruntime-node 1.30, CPU): pooled 1.47e-2, layer mean 1.71e-2 (× max|golden|); bounds with
 * headroom. That misses the 1e-2 pooled bound a CPU default must meet, so the mode stays opt-in
 * ([Note: MERT int8 on the CPU]); leaving the projection or the feed-forward output in float32 only gets to
 * 0.8–1.2e-2.
 */
const POOLED_BOUND = 2e-2;
const LAYER_MEAN_BOUND = 2.5e-2;

describe('tiny-mert with int8-dynamic Linear layers', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mert-int8-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('layer mean and pooled vectors stay within the bound of the goldens', async () => {
    const config = await readMertConfig(join(FIX, 'tiny-mert/config.json'));
    const ck = await openCheckpoint(join(FIX, 'tiny-mert/model.safetensors'));
    try {
      await buildMertEncoder({ checkpoint: ck, config, variant: 'float32', outPath: join(dir, 'int8.onnx'), linearQuantization: 'int8-dynamic' });
    } finally {
      await ck.close();
    }
    expect(readFileSync(join(dir, 'int8.onnx')).includes(Buffer.from('DynamicQuantizeMatMul'))).toBe(true);
    const gold = await openCheckpoint(join(FIX, 'tiny-mert/golden.safetensors'));
    const session = await createMertSession(join(dir, 'int8.onnx'), { intraOpNumThreads: 1 });
    try {
      const enc = await encodeWindow(session, await gold.readF32('audio'), { keepLayerMean: true });
      const lm = relMaxErr(enc.layerMean!, await gold.readF32('layer_mean'));
      const pooled = relMaxErr(enc.pooled, await gold.readF32('pooled'));
      console.log(`tiny-mert int8-dynamic: layer_mean error ${lm.toExponential(2)}, pooled error ${pooled.toExponential(2)} (× max|golden|)`);
      expect(pooled).toBeGreaterThan(1e-6);
      expect(pooled).toBeLessThanOrEqual(POOLED_BOUND);
      expect(lm).toBeLessThanOrEqual(LAYER_MEAN_BOUND);
    } finally {
      await session.release();
      await gold.close();
    }
  });

  it('quantizes each output column to the nearest of 255 symmetric steps', () => {
    const nIn = 3;
    const nOut = 2;
    const wt = Float32Array.from([0.5, -2, -1, 1, 0.26, 0.5]);
    const { q, scales } = quantizeInt8PerColumn(wt, nIn, nOut);
    expect(Array.from(scales)).toEqual([Math.fround(1 / 127), Math.fround(2 / 127)].map((x) => expect.closeTo(x, 9)));
    expect(Array.from(q)).toEqual([64, -127, -127, 64, 33, 32]);
    expect(quantizeInt8PerColumn(new Float32Array(4), 2, 2).scales).toEqual(new Float32Array([1, 1]));
  });
});
