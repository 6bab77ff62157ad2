/**
 * @file A Llama of another shape (hidden 96, 6 heads, 3 KV heads, head_dim 16, old config layout with
 * rope_theta at top level, bfloat16 weights, prefixed tensor names) against a plain float64 forward pass;
 * KV-cache and left-padded batch consistency; bad checkpoints and configs.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLlamaDecoder } from '../../../../model/llama/build-decoder';
import { parseLlamaConfig, LlamaConfigError } from '../../../../model/llama/config';
import type { LlamaConfig } from '../../../../model/llama/config';
import { openCheckpoint, writeSafetensors } from '../../../../model/safetensors';
import type { TensorToWrite } from '../../../../model/safetensors';
import { bf16ToF32, f32ToBf16 } from '../../../../model/tensor/half';
import { mulberry32 } from '../../../../model/random';
import { relMaxErr, runDecoder } from './decoder-helpers';
import { referenceForward } from './reference-forward';
import type { RefWeights } from './reference-forward';

const RAW_CONFIG = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 96, num_attention_heads: 6,
  num_key_value_heads: 3, intermediate_size: 200, num_hidden_layers: 2, rms_norm_eps: 1e-5,
  rope_theta: 500000, vocab_size: 300, max_position_embeddings: 128, tie_word_embeddings: false,
};
const PREFIX = 'llama_model.model.';
let dir: string;
let config: LlamaConfig;
const weights = new Map<string, { data: Float32Array; shape: number[] }>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rand-llama-'));
  config = parseLlamaConfig(RAW_CONFIG);
  const rnd = mulberry32(42);
  const H = 96;
  const add = (name: string, shape: number[], scale: number, base = 0): void => {
    const n = shape.reduce((a, b) => a * b, 1);
    // Round through bfloat16 so the float64 reference sees exactly the stored values.
    const raw = Float32Array.from({ length: n }, () => base + (rnd() * 2 - 1) * scale);
    weights.set(name, { data: bf16ToF32(f32ToBf16(raw)), shape });
  };
  add(`${PREFIX}embed_tokens.weight`, [300, H], 1);
  for (let i = 0; i < 2; i++) {
    const p = `${PREFIX}layers.${i}.`;
    add(`${p}input_layernorm.weight`, [H], 0.2, 1);
    add(`${p}post_attention_layernorm.weight`, [H], 0.2, 1);
    add(`${p}self_attn.q_proj.weight`, [96, H], 0.3);
    add(`${p}self_attn.k_proj.weight`, [48, H], 0.3);
    add(`${p}self_attn.v_proj.weight`, [48, H], 0.3);
    add(`${p}self_attn.o_proj.weight`, [H, 96], 0.1);
    add(`${p}mlp.gate_proj.weight`, [200, H], 0.1);
    add(`${p}mlp.up_proj.weight`, [200, H], 0.1);
    add(`${p}mlp.down_proj.weight`, [H, 200], 0.1);
  }
  add(`${PREFIX}norm.weight`, [H], 0.2, 1);
  add('llama_model.lm_head.weight', [300, H], 0.2);
  add('llama_proj.weight', [H, 32], 0.1); // another model's tensor in the same file: ignored
  const tensors: Record<string, TensorToWrite> = {};
  for (const [n, t] of weights) tensors[n] = { dtype: 'BF16', shape: t.shape, bytes: new Uint8Array(f32ToBf16(t.data).buffer) };
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function refWeights(): RefWeights {
  const w = (n: string): Float64Array => Float64Array.from(weights.get(n)!.data);
  return {
    hidden: 96, heads: 6, kvHeads: 3, headDim: 16, inter: 200, eps: 1e-5, theta: 500000, vocab: 300,
    norm: w(`${PREFIX}norm.weight`), lmHead: w('llama_model.lm_head.weight'),
    layers: [0, 1].map((i) => {
      const p = `${PREFIX}layers.${i}.`;
      return {
        inNorm: w(`${p}input_layernorm.weight`), postNorm: w(`${p}post_attention_layernorm.weight`),
        q: w(`${p}self_attn.q_proj.weight`), k: w(`${p}self_attn.k_proj.weight`), v: w(`${p}self_attn.v_proj.weight`),
        o: w(`${p}self_attn.o_proj.weight`), gate: w(`${p}mlp.gate_proj.weight`), up: w(`${p}mlp.up_proj.weight`), down: w(`${p}mlp.down_proj.weight`),
      };
    }),
  };
}

describe('random Llama config (GQA 6/3, head_dim 16, hidden 96)', () => {
  it('matches a float64 forward, with the KV cache and in a left-padded batch', async () => {
    const ck = await openCheckpoint(join(dir, 'model.safetensors'));
    const spec = await buildLlamaDecoder({ checkpoint: ck, config, variant: 'float32', outPath: join(dir, 'd.onnx') });
    await ck.close();
    expect(spec).toMatchObject({ numKvHeads: 3, headDim: 16, vocabSize: 300, dtype: 'float32' });
    const session = await ort.InferenceSession.create(join(dir, 'd.onnx'), { executionProviders: ['cpu'] });
    const H = 96;
    const V = 300;
    const S = 9;
    const rnd = mulberry32(3);
    const emb = Float32Array.from({ length: S * H }, () => rnd() * 2 - 1);
    const ref = referenceForward(refWeights(), Array.from({ length: S }, (_, t) => Float64Array.from(emb.subarray(t * H, (t + 1) * H))));
    const refFlat = new Float64Array(S * V);
    ref.forEach((r, t) => refFlat.set(r, t * V));

    const full = await runDecoder(session, spec, emb, 1, new Array(S).fill(1));
    expect(relMaxErr(full.logits, refFlat)).toBeLessThanOrEqual(1e-4);

    let step = await runDecoder(session, spec, emb.subarray(0, 4 * H), 1, new Array(4).fill(1));
    for (let t = 4; t < S; t++) {
      step = await runDecoder(session, spec, emb.subarray(t * H, (t + 1) * H), 1, new Array(t + 1).fill(1), step.present);
      expect(relMaxErr(step.logits, refFlat.subarray(t * V, (t + 1) * V))).toBeLessThanOrEqual(1e-4);
    }

    // Batch of two: the 6-token suffix left-padded by 3 beside the full sequence.
    const batch = new Float32Array(2 * S * H);
    batch.set(emb, 0);
    batch.set(emb.subarray(3 * H), (S + 3) * H);
    const mask = [...new Array(S).fill(1), 0, 0, 0, ...new Array(S - 3).fill(1)];
    const b = await runDecoder(session, spec, batch, 2, mask);
    expect(b.logits.every(Number.isFinite)).toBe(true);
    expect(relMaxErr(b.logits.subarray(0, S * V), refFlat)).toBeLessThanOrEqual(1e-4);
    const refSuffix = referenceForward(refWeights(), Array.from({ length: S - 3 }, (_, t) => Float64Array.from(emb.subarray((t + 3) * H, (t + 4) * H))));
    const sufFlat = new Float64Array((S - 3) * V);
    refSuffix.forEach((r, t) => sufFlat.set(r, t * V));
    expect(relMaxErr(b.logits.subarray((S + 3) * V), sufFlat)).toBeLessThanOrEqual(1e-4);
    await session.release();
  });
});

describe('random Llama config in float16', () => {
  it('stays finite and close to the float64 forward in a left-padded batch', async () => {
    const ck = await openCheckpoint(join(dir, 'model.safetensors'));
    const spec = await buildLlamaDecoder({ checkpoint: ck, config, variant: 'float16', outPath: join(dir, 'd16.onnx') });
    await ck.close();
    const session = await ort.InferenceSession.create(join(dir, 'd16.onnx'), { executionProviders: ['cpu'] });
    const H = 96;
    const V = 300;
    const S = 7;
    const rnd = mulberry32(5);
    const emb = Float32Array.from({ length: S * H }, () => rnd() * 2 - 1);
    const ref = referenceForward(refWeights(), Array.from({ length: S - 2 }, (_, t) => Float64Array.from(emb.subarray((t + 2) * H, (t + 3) * H))));
    const refFlat = new Float64Array((S - 2) * V);
    ref.forEach((r, t) => refFlat.set(r, t * V));
    const batch = new Float32Array(2 * S * H);
    batch.set(emb, 0);
    batch.set(emb.subarray(2 * H), (S + 2) * H);
    const b = await runDecoder(session, spec, batch, 2, [...new Array(S).fill(1), 0, 0, ...new Array(S - 2).fill(1)]);
    expect(b.logits.every(Number.isFinite)).toBe(true);
    expect(relMaxErr(b.logits.subarray((S + 2) * V), refFlat)).toBeLessThanOrEqual(2e-2);
    await session.release();
  });
});

describe('bad input', () => {
  async function writeWithout(drop: string, reshape?: [string, number[]]): Promise<string> {
    const path = join(dir, `bad-${drop.replace(/\W/g, '_')}.safetensors`);
    const tensors: Record<string, TensorToWrite> = {};
    for (const [n, t] of weights) {
      if (n === drop) continue;
      if (reshape && n === reshape[0]) {
        const shape = reshape[1];
        tensors[n] = { data: new Float32Array(shape.reduce((a, c) => a * c, 1)), shape };
      } else tensors[n] = { data: t.data, shape: t.shape };
    }
    await writeSafetensors(path, tensors);
    return path;
  }

  it('names a missing tensor and a wrong shape with the file', async () => {
    const missing = `${PREFIX}layers.1.mlp.up_proj.weight`;
    const p1 = await writeWithout(missing);
    const ck1 = await openCheckpoint(p1);
    await expect(buildLlamaDecoder({ checkpoint: ck1, config, variant: 'float32', outPath: join(dir, 'x1.onnx') }))
      .rejects.toThrow(`Tensor "${missing}" is missing from checkpoint ${p1}`);
    await ck1.close();
    // A failed build leaves neither a model nor a partial weights file behind.
    expect(existsSync(join(dir, 'x1.onnx'))).toBe(false);
    expect(existsSync(join(dir, 'x1.onnx.data.partial'))).toBe(false);
    expect(existsSync(join(dir, 'x1.onnx.data'))).toBe(false);
    const wrong = `${PREFIX}layers.0.self_attn.k_proj.weight`;
    const p2 = await writeWithout('none', [wrong, [96, 96]]);
    const ck2 = await openCheckpoint(p2);
    await expect(buildLlamaDecoder({ checkpoint: ck2, config, variant: 'int4', outPath: join(dir, 'x2.onnx') }))
      .rejects.toThrow(`Tensor "${wrong}" in ${p2} has shape [96, 96], expected [48, 96]`);
    await ck2.close();
  });

  it('names a truncated shard', async () => {
    const p = await writeWithout('none');
    await truncate(p, 5000);
    await expect(openCheckpoint(p)).rejects.toThrow(new RegExp(`${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is truncated`));
  });

  it('rejects unsupported architectures and RoPE scaling, and accepts both config layouts', () => {
    expect(() => parseLlamaConfig({ ...RAW_CONFIG, model_type: 'mistral', architectures: ['MistralForCausalLM'] }, 'x/config.json'))
      .toThrow(/Unsupported architecture in x\/config.json: model_type "mistral".*Expected model_type one of: llama/);
    expect(() => parseLlamaConfig({ ...RAW_CONFIG, rope_scaling: { rope_type: 'llama3', factor: 8 } })).toThrow(LlamaConfigError);
    const { rope_theta: _t, ...noTheta } = RAW_CONFIG;
    expect(parseLlamaConfig(noTheta).ropeTheta).toBe(10000);
    const v5 = parseLlamaConfig({ ...noTheta, architectures: null, head_dim: 32, rope_parameters: { rope_theta: 1e6, rope_type: 'default' } });
    expect(v5).toMatchObject({ ropeTheta: 1e6, headDim: 32, numKvHeads: 3 });
    expect(() => parseLlamaConfig({ ...RAW_CONFIG, num_key_value_heads: 4 })).toThrow(/not a multiple of num_key_value_heads 4/);
  });
});
