/**
 * @file The MERT graph builder on a randomly initialised model of another shape (2 layers, width 48, 3 heads,
 * conv dim 24, odd conv stack, conv bias, pos-conv kernel 8 groups 2, parametrize weight-norm spelling, a name
 * prefix) against the float64 reference; bad checkpoints and configs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MertConfigError, mertFrameCount, mertMinSamples, parseMertConfig, readMertConfig } from '../../../../model/mert/config';
import type { MertConfig } from '../../../../model/mert/config';
import { createMertSession, encodeBatch, encodeWindow } from '../../../../model/mert/encode';
import { buildMertEncoder } from '../../../../model/mert/encoder-graph';
import { poolFrames } from '../../../../model/mert/pool';
import { applyWeightNorm } from '../../../../model/mert/weights';
import { CheckpointError, openCheckpoint, writeSafetensors } from '../../../../model/safetensors';
import type { TensorToWrite } from '../../../../model/safetensors';
import { mertReference, randomMertWeights, refWeightShapes } from './mert-reference';
import type { RefConfig, RefWeights } from './mert-reference';

const REF: RefConfig = {
  hidden: 48, layers: 2, heads: 3, ffn: 80, convDim: [24, 24, 24, 24], convKernel: [10, 3, 3, 2], convStride: [5, 2, 2, 2],
  convBias: true, posKernel: 8, posGroups: 2, eps: 1e-5,
};

const CONFIG_JSON = {
  hidden_size: REF.hidden, num_hidden_layers: REF.layers, num_attention_heads: REF.heads, intermediate_size: REF.ffn,
  conv_dim: REF.convDim, conv_kernel: REF.convKernel, conv_stride: REF.convStride, conv_bias: true,
  num_conv_pos_embeddings: REF.posKernel, num_conv_pos_embedding_groups: REF.posGroups, layer_norm_eps: REF.eps,
  feat_extract_norm: 'group', do_stable_layer_norm: true, feat_proj_layer_norm: true, hidden_act: 'gelu',
  feat_extract_activation: 'gelu', sample_rate: 24000,
};

const PREFIX = 'mert_model.';

function toWrite(ws: RefWeights, shapes: Record<string, number[]>, prefix: string): Record<string, TensorToWrite> {
  const out: Record<string, TensorToWrite> = {};
  for (const [name, data] of Object.entries(ws)) out[prefix + name] = { data: Float32Array.from(data), shape: shapes[name]! };
  return out;
}

function relMaxErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let err = 0;
  let ref = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    ref = Math.max(ref, Math.abs(want[i]!));
  }
  return err / ref;
}

function flat(rows: Float64Array[]): Float64Array {
  const d = rows[0]!.length;
  const out = new Float64Array(rows.length * d);
  rows.forEach((r, i) => out.set(r, i * d));
  return out;
}

describe('MERT graph on a random model of another shape', () => {
  let dir: string;
  let cfg: MertConfig;
  let weights: RefWeights;
  const audio = Float32Array.from({ length: 24000 }, (_, i) => 0.4 * Math.sin(i * 0.031) + 0.2 * Math.sin(i * 0.0071) * Math.cos(i * 0.113));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mert-random-'));
    cfg = parseMertConfig(CONFIG_JSON);
    weights = randomMertWeights(REF, 99);
    const tensors = toWrite(weights, refWeightShapes(REF), PREFIX);
    tensors['mert_model.masked_spec_embed'] = { data: new Float32Array(REF.hidden), shape: [REF.hidden] }; // ignored
    tensors['llama_proj.weight'] = { data: new Float32Array(8 * REF.hidden), shape: [8, REF.hidden] }; // another component
    await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('matches the float64 reference: conv features, every hidden state, layer mean, pooled', async () => {
    const ck = await openCheckpoint(join(dir, 'model.safetensors'));
    try {
      await buildMertEncoder({ checkpoint: ck, config: cfg, variant: 'float32', outPath: join(dir, 'enc.onnx'), debug: true });
    } finally {
      await ck.close();
    }
    const session = await createMertSession(join(dir, 'enc.onnx'), { intraOpNumThreads: 1 });
    try {
      const enc = await encodeWindow(session, audio, { keepLayerMean: true, poolWindow: 20 });
      const ref = mertReference(REF, weights, audio);
      const T = ref.conv.length;
      expect(enc.frames).toBe(T);
      expect(T).toBe(mertFrameCount(cfg, audio.length));
      expect(relMaxErr(enc.debug!.conv_features!, flat(ref.conv))).toBeLessThan(1e-4);
      ref.hidden.forEach((hs, k) => {
        expect(relMaxErr(enc.debug![`hidden_state_${k}`]!, flat(hs)), `hidden_state_${k}`).toBeLessThan(1e-4);
      });
      const mean = new Float64Array(T * REF.hidden);
      for (const hs of ref.hidden) flat(hs).forEach((v, i) => (mean[i]! += v / ref.hidden.length));
      expect(relMaxErr(enc.layerMean!, mean)).toBeLessThan(1e-4);
      expect(relMaxErr(enc.pooled, poolFrames(Float32Array.from(mean), T, REF.hidden, 20))).toBeLessThan(1e-4);
      expect(enc.tokens).toBe(Math.ceil(T / 20));
    } finally {
      await session.release();
    }
  });

  it('the float16 build stays within float16 accuracy of the reference (pooled ≤ 5e-3 · max)', async () => {
    const ck = await openCheckpoint(join(dir, 'model.safetensors'));
    try {
      const built = await buildMertEncoder({ checkpoint: ck, config: cfg, variant: 'float16', outPath: join(dir, 'enc16.onnx') });
      expect(built.variant).toBe('float16');
    } finally {
      await ck.close();
    }
    const session = await createMertSession(join(dir, 'enc16.onnx'), { intraOpNumThreads: 1 });
    try {
      const enc = await encodeWindow(session, audio, { poolWindow: 20 });
      const ref = mertReference(REF, weights, audio);
      const T = ref.conv.length;
      const mean = new Float64Array(T * REF.hidden);
      for (const hs of ref.hidden) flat(hs).forEach((v, i) => (mean[i]! += v / ref.hidden.length));
      const err = relMaxErr(enc.pooled, poolFrames(Float32Array.from(mean), T, REF.hidden, 20));
      expect(err).toBeLessThan(5e-3);
      expect(err).toBeGreaterThan(0); // it really ran in float16
    } finally {
      await session.release();
    }
  });

  it('names the tensor and the file when a weight is missing', async () => {
    const ws = { ...weights };
    delete ws['encoder.layers.1.attention.k_proj.bias'];
    const file = join(dir, 'missing.safetensors');
    await writeSafetensors(file, toWrite(ws, refWeightShapes(REF), PREFIX));
    const ck = await openCheckpoint(file);
    try {
      const err = await buildMertEncoder({ checkpoint: ck, config: cfg, variant: 'float32', outPath: join(dir, 'x.onnx') }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toContain('mert_model.encoder.layers.1.attention.k_proj.bias');
      expect((err as Error).message).toContain(file);
    } finally {
      await ck.close();
    }
  });

  it('names the tensor, the file and both shapes when a weight is misshapen', async () => {
    const shapes = refWeightShapes(REF);
    const ws = { ...weights, 'encoder.layers.0.feed_forward.output_dense.weight': new Float64Array(REF.hidden * (REF.ffn - 1)) };
    shapes['encoder.layers.0.feed_forward.output_dense.weight'] = [REF.hidden, REF.ffn - 1];
    const file = join(dir, 'misshapen.safetensors');
    await writeSafetensors(file, toWrite(ws, shapes, PREFIX));
    const ck = await openCheckpoint(file);
    try {
      const err = await buildMertEncoder({ checkpoint: ck, config: cfg, variant: 'float32', outPath: join(dir, 'y.onnx') }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toMatch(/output_dense\.weight.*misshapen\.safetensors.*\[48, 79\].*\[48, 80\]/);
    } finally {
      await ck.close();
    }
  });

  it('says when a checkpoint holds no MERT encoder', async () => {
    const file = join(dir, 'other.safetensors');
    await writeSafetensors(file, { 'llama_proj.weight': { data: new Float32Array(4), shape: [2, 2] } });
    const ck = await openCheckpoint(file);
    try {
      await expect(buildMertEncoder({ checkpoint: ck, config: cfg, variant: 'float32', outPath: join(dir, 'z.onnx') })).rejects.toThrow(/No MERT encoder.*other\.safetensors/);
    } finally {
      await ck.close();
    }
  });

  it('a batch of windows gives the same vectors as one window at a time', async () => {
    const session = await createMertSession(join(dir, 'enc.onnx'), { intraOpNumThreads: 1 });
    try {
      const other = Float32Array.from(audio, (v, i) => v * 0.5 + 0.1 * Math.sin(i * 0.2));
      const [a, b] = await encodeBatch(session, [audio, other], { poolWindow: 20 });
      const single = await encodeWindow(session, other, { poolWindow: 20 });
      expect(relMaxErr(b!.pooled, single.pooled)).toBeLessThan(1e-5);
      expect(relMaxErr(a!.pooled, (await encodeWindow(session, audio, { poolWindow: 20 })).pooled)).toBeLessThan(1e-5);
      await expect(encodeBatch(session, [audio, audio.subarray(1)])).rejects.toThrow(/one length, got 24000, 23999/);
    } finally {
      await session.release();
    }
  });

  it('rejects a too-short window with a clear error', async () => {
    const session = await createMertSession(join(dir, 'enc.onnx'), { intraOpNumThreads: 1 });
    try {
      await expect(encodeWindow(session, new Float32Array(10))).rejects.toThrow(/window of 10 samples/);
      await expect(encodeWindow(session, new Float32Array(0))).rejects.toThrow(/empty window/);
    } finally {
      await session.release();
    }
  });
});

describe('MERT config', () => {
  it('reads the tiny-mert config.json', async () => {
    const cfg = await readMertConfig(new URL('../../../fixtures/tiny-mert/config.json', import.meta.url).pathname);
    expect(cfg).toMatchObject({ hiddenSize: 64, numLayers: 3, numHeads: 4, numConvPosEmbeddings: 16, numConvPosEmbeddingGroups: 4, groupNormEps: 1e-5 });
    // 10 s at 24 kHz → 749 frames (golden), 30 s → 2249 (DESIGN §3).
    expect(mertFrameCount(cfg, 240000)).toBe(749);
    expect(mertFrameCount(cfg, 720000)).toBe(2249);
    expect(mertMinSamples(cfg)).toBe(400);
    expect(mertFrameCount(cfg, 399)).toBe(0);
    expect(mertFrameCount(cfg, 400)).toBe(1);
  });

  it('rejects structures it does not implement, naming the field and the allowed values', () => {
    expect(() => parseMertConfig({ ...CONFIG_JSON, feat_extract_norm: 'layer' }, 'x/config.json')).toThrow(/x\/config\.json: feat_extract_norm "layer".*Expected one of: group/);
    expect(() => parseMertConfig({ ...CONFIG_JSON, do_stable_layer_norm: false })).toThrow(MertConfigError);
    expect(() => parseMertConfig({ ...CONFIG_JSON, hidden_act: 'relu' })).toThrow(/hidden_act "relu"/);
    expect(() => parseMertConfig({ ...CONFIG_JSON, num_attention_heads: 5 })).toThrow(/multiple of num_attention_heads 5/);
    expect(() => parseMertConfig({ ...CONFIG_JSON, hidden_size: undefined })).toThrow(/"hidden_size" must be a positive integer/);
  });

  it('names a missing or broken config file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mert-cfg-'));
    try {
      await expect(readMertConfig(join(dir, 'nope.json'))).rejects.toThrow(/nope\.json.*ENOENT/);
      writeFileSync(join(dir, 'bad.json'), '{ nope');
      await expect(readMertConfig(join(dir, 'bad.json'))).rejects.toThrow(/bad\.json is not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('weight norm', () => {
  it('normalises over every axis but dim and scales by g (dim 2 and dim 0)', () => {
    const v = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]); // shape [2, 2, 2]
    const w2 = applyWeightNorm(v, Float32Array.from([2, -1]), [2, 2, 2], 2);
    const n0 = Math.hypot(1, 3, 5, 7);
    const n1 = Math.hypot(2, 4, 6, 8);
    expect(w2[0]).toBeCloseTo((2 * 1) / n0, 6);
    expect(w2[1]).toBeCloseTo((-1 * 2) / n1, 6);
    const w0 = applyWeightNorm(v, Float32Array.from([1, 3]), [2, 2, 2], 0);
    expect(w0[4]).toBeCloseTo((3 * 5) / Math.hypot(5, 6, 7, 8), 6);
  });
});
