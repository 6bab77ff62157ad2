/**
 * @file 325-frame pooling (pure) and the adapter's loading errors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyAdapter, loadAdapter } from '../../../../model/adapter';
import { MUSILINGO_POOL_FRAMES, poolFrames } from '../../../../model/mert/pool';
import { CheckpointError, openCheckpoint, writeSafetensors } from '../../../../model/safetensors';

describe('poolFrames', () => {
  it('averages full windows and the last partial one', () => {
    // 7 frames of dim 2, window 3 → frames {0,1,2}, {3,4,5}, {6}.
    const x = Float32Array.from([0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15, 6, 16]);
    expect([...poolFrames(x, 7, 2, 3)]).toEqual([1, 11, 4, 14, 6, 16]);
  });

  it('gives MusiLingo token counts: 30 s → 2249 frames → 7, 10 s → 749 → 3, exactly 325 → 1', () => {
    expect(poolFrames(new Float32Array(2249), 2249, 1).length).toBe(7);
    expect(poolFrames(new Float32Array(749), 749, 1).length).toBe(3);
    expect(poolFrames(new Float32Array(325), 325, 1).length).toBe(1);
    expect(poolFrames(new Float32Array(326), 326, 1).length).toBe(2);
    expect(MUSILINGO_POOL_FRAMES).toBe(325);
  });

  it('rejects inconsistent sizes', () => {
    expect(() => poolFrames(new Float32Array(5), 3, 2)).toThrow(/do not hold 3 frames of 2/);
    expect(() => poolFrames(new Float32Array(4), 2, 2, 0)).toThrow(/window/);
  });
});

describe('adapter', () => {
  it('applies y = xWᵀ + b', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'adapter-'));
    try {
      await writeSafetensors(join(dir, 'a.safetensors'), {
        'model.llama_proj.weight': { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [3, 2] },
        'model.llama_proj.bias': { data: Float32Array.from([0.5, 0, -1]), shape: [3] },
      });
      const ck = await openCheckpoint(join(dir, 'a.safetensors'));
      const ad = await loadAdapter(ck, { inDim: 2, outDim: 3 });
      await ck.close();
      expect([...applyAdapter(ad, Float32Array.from([1, 1, 0, 2]))]).toEqual([3.5, 7, 10, 4.5, 8, 11]);
      expect(() => applyAdapter(ad, new Float32Array(3))).toThrow(/not rows of 2/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the tensor and file when missing or misshapen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'adapter-'));
    try {
      const file = join(dir, 'bad.safetensors');
      await writeSafetensors(file, {
        'llama_proj.weight': { data: new Float32Array(6), shape: [3, 2] },
        'llama_proj.bias': { data: new Float32Array(2), shape: [2] },
      });
      const ck = await openCheckpoint(file);
      await expect(loadAdapter(ck, { inDim: 4 })).rejects.toThrow(/llama_proj\.weight" in .*bad\.safetensors has shape \[3, 2\], expected \[decoder width, 4\]/);
      await expect(loadAdapter(ck)).rejects.toThrow(/llama_proj\.bias" in .*bad\.safetensors has shape \[2\], expected \[3\]/);
      await ck.close();
      const other = join(dir, 'none.safetensors');
      await writeSafetensors(other, { x: { data: new Float32Array(1), shape: [1] } });
      const ck2 = await openCheckpoint(other);
      await expect(loadAdapter(ck2)).rejects.toThrow(CheckpointError);
      await ck2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
