/**
 * @file Training from a pack alone: the decoder weights read back from a converted pack (float32, float16,
 * int4) equal the checkpoint's (exactly, to float16 rounding, to int4 rounding), split from the fused q/k/v and
 * gate/up projections, and the embedder reads the pack's embed.safetensors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertCheckpoint } from '../../../main/models/convert';
import { writeLlamaTokenizer } from '../../../main/models/demo';
import { readLlamaConfig } from '../../../model/llama/config';
import { openCheckpoint, type Checkpoint } from '../../../model/safetensors';
import { roundToF16 } from '../../../model/tensor/half';
import { checkpointEmbedder, checkpointWeightSource } from '../../../trainer/graph/checkpoint-source';
import { isPackDir, openPackDecoder } from '../../../trainer/graph/pack-source';
import { FIXTURES } from '../../support/models/tiny-repo';

const parts = ['tiny-mert', 'tiny-llama', 'tiny-musilingo'].map((d) => join(FIXTURES, d));
let work: string;
let ck: Checkpoint;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ml-pack-src-'));
  await writeLlamaTokenizer(join(work, 'tok'));
  for (const variant of ['float32', 'float16', 'int4'] as const) {
    await convertCheckpoint({ modelId: 'tiny', sources: parts, tokenizerDir: join(work, 'tok'), outDir: join(work, variant), variant, activationDtype: 'float32' });
  }
  ck = await openCheckpoint(join(FIXTURES, 'tiny-llama', 'model.safetensors'));
});
afterAll(async () => {
  await ck?.close();
  rmSync(work, { recursive: true, force: true });
});

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

describe('decoder weights from a pack', () => {
  it('recognises a pack folder and not a checkpoint folder', () => {
    expect(isPackDir(join(work, 'float32'))).toBe(true);
    expect(isPackDir(join(FIXTURES, 'tiny-llama'))).toBe(false);
  });

  for (const variant of ['float32', 'float16', 'int4'] as const) {
    it(`reads the ${variant} pack back as the checkpoint's weights`, async () => {
      const dims = await readLlamaConfig(join(FIXTURES, 'tiny-llama', 'config.json'));
      const ref = checkpointWeightSource(ck, dims);
      const pack = await openPackDecoder(join(work, variant));
      try {
        const got = pack.weightSource(dims);
        for (let i = 0; i < dims.numLayers; i++) {
          const [a, b] = [await ref.layer(i), await got.layer(i)];
          for (const key of ['q', 'k', 'v', 'o', 'gate', 'up', 'down', 'inputNorm', 'postNorm'] as const) {
            const want = a[key];
            const diff = maxAbsDiff(b[key], want);
            if (variant === 'float32') expect(diff, `${variant} layer ${i} ${key}`).toBe(0);
            else if (variant === 'float16' || key.endsWith('Norm')) expect(diff, `${variant} layer ${i} ${key}`).toBeLessThanOrEqual(maxAbsDiff(roundToF16(want), want));
            // int4: 4-bit blocks of 32 with scale max|block| / 8; the top code is 7 steps (not 8) above zero,
            // so a value is within one step (max|block| / 8) of what it was.
            else expect(diff, `${variant} layer ${i} ${key}`).toBeLessThanOrEqual(maxAbs(want) / 8 + 1e-6);
          }
        }
        const lmDiff = maxAbsDiff(await got.lmHead(), await ref.lmHead());
        if (variant === 'float32') expect(lmDiff).toBe(0);
        expect(maxAbsDiff(await got.finalNorm(), await ref.finalNorm())).toBeLessThan(1e-3);
        const ids = [1, 15043, 3186, 31999];
        const e = maxAbsDiff(await pack.embedder(dims.hiddenSize)(ids), await checkpointEmbedder(ck, dims.hiddenSize)(ids));
        expect(e).toBeLessThan(variant === 'float32' ? 1e-9 : 1e-3);
      } finally {
        await pack.close();
      }
    });
  }
});
