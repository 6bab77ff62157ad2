/**
 * @file MERT encoder graph (float32, CPU EP) against the tiny-mert and tiny-musilingo goldens: conv features,
 * hidden states in MusiLingo's order, layer mean, 325-frame pooling, adapter rows of inputs_embeds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAdapter, loadAdapter } from '../../../../model/adapter';
import { readMertConfig } from '../../../../model/mert/config';
import { createMertSession, encodeWindow } from '../../../../model/mert/encode';
import type { EncodedWindow } from '../../../../model/mert/encode';
import { buildMertEncoder } from '../../../../model/mert/encoder-graph';
import { openCheckpoint } from '../../../../model/safetensors';
import type { Checkpoint } from '../../../../model/safetensors';

const FIX = new URL('../../../fixtures/', import.meta.url).pathname;

/** Per-tensor check of the fixtures README: max |ours − golden| ≤ tol · max |golden|. */
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

describe('tiny-mert encoder graph vs PyTorch goldens', () => {
  let dir: string;
  let gold: Checkpoint;
  let session: ort.InferenceSession;
  let enc: EncodedWindow;
  let mhaEnc: EncodedWindow;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mert-golden-'));
    gold = await openCheckpoint(join(FIX, 'tiny-mert/golden.safetensors'));
    const config = await readMertConfig(join(FIX, 'tiny-mert/config.json'));
    const ck = await openCheckpoint(join(FIX, 'tiny-mert/model.safetensors'));
    try {
      await buildMertEncoder({ checkpoint: ck, config, variant: 'float32', outPath: join(dir, 'enc.onnx'), debug: true, attention: 'ops' });
      await buildMertEncoder({ checkpoint: ck, config, variant: 'float32', outPath: join(dir, 'mha.onnx') }); // default: MultiHeadAttention
    } finally {
      await ck.close();
    }
    const audio = await gold.readF32('audio');
    session = await createMertSession(join(dir, 'enc.onnx'), { intraOpNumThreads: 1 });
    enc = await encodeWindow(session, audio, { keepLayerMean: true });
    const mha = await createMertSession(join(dir, 'mha.onnx'), { intraOpNumThreads: 1 });
    mhaEnc = await encodeWindow(mha, audio);
    await mha.release();
  });
  afterAll(async () => {
    await session.release();
    await gold.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has the golden frame count and token count', () => {
    expect(enc.frames).toBe(749);
    expect(enc.dim).toBe(64);
    expect(enc.tokens).toBe(3);
  });

  it('conv_features match', async () => {
    expect(relMaxErr(enc.debug!.conv_features!, await gold.readF32('conv_features'))).toBeLessThan(1e-4);
  });

  it('hidden_states match in MusiLingo order', async () => {
    const hs = await gold.readF32('hidden_states');
    const per = 749 * 64;
    for (let k = 0; k < 4; k++) {
      expect(relMaxErr(enc.debug![`hidden_state_${k}`]!, hs.subarray(k * per, (k + 1) * per)), `hidden_state_${k}`).toBeLessThan(1e-4);
    }
    expect(relMaxErr(enc.debug!.hidden_state_3!, await gold.readF32('last_hidden_state'))).toBeLessThan(1e-4);
  });

  it('layer_mean and pooled match', async () => {
    expect(relMaxErr(enc.layerMean!, await gold.readF32('layer_mean'))).toBeLessThan(1e-4);
    expect(relMaxErr(enc.pooled, await gold.readF32('pooled'))).toBeLessThan(1e-4);
  });

  it('the MultiHeadAttention variant gives the same pooled vectors', async () => {
    expect(relMaxErr(mhaEnc.pooled, await gold.readF32('pooled'))).toBeLessThan(1e-4);
  });

  it('adapter over pooled gives the music rows of tiny-musilingo inputs_embeds', async () => {
    const meta = (await import('../../../fixtures/tiny-musilingo/golden.json', { with: { type: 'json' } })).default as { p_before_ids: number[] };
    const ad = await openCheckpoint(join(FIX, 'tiny-musilingo/adapter.safetensors'));
    const pg = await openCheckpoint(join(FIX, 'tiny-musilingo/golden.safetensors'));
    try {
      const adapter = await loadAdapter(ad, { inDim: 64, outDim: 64 });
      const rows = applyAdapter(adapter, enc.pooled);
      const embeds = await pg.readF32('inputs_embeds');
      const first = 1 + meta.p_before_ids.length;
      const want = embeds.subarray(first * 64, (first + enc.tokens) * 64);
      expect(relMaxErr(rows, want)).toBeLessThan(1e-4);
    } finally {
      await ad.close();
      await pg.close();
    }
  });
});
