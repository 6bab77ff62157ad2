/**
 * @file The benchmark GGUF writer (bench/lib/gguf.ts): Q4_0 blocks hold the very values of our MatMulNBits
 * int4 blocks, and llama.cpp (node-llama-cpp's prebuilt CPU binary) loads a written file, reads its
 * metadata and vocabulary, and evaluates tokens with it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dequantizeInt4, quantizeInt4 } from '../../../model/llama/quantize';
import { mulberry32 } from '../../../model/random';
import { roundToF16 } from '../../../model/tensor/half';
import { dequantizeQ4_0, ggufHeader, int4ToQ4_0, writeGguf } from '../../../bench/lib/gguf';
import type { GgufTensor, GgufValue } from '../../../bench/lib/gguf';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gguf-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function randomWeights(n: number, seed: number, scale = 0.05): Float32Array {
  const rnd = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (rnd() * 2 - 1) * scale);
}

describe('Q4_0 from MatMulNBits blocks', () => {
  it('dequantizes to the int4 values, with the scale rounded to float16', () => {
    const n = 5;
    const k = 96;
    const q = quantizeInt4(randomWeights(n * k, 3), n, k, 32);
    const q40 = int4ToQ4_0(q);
    expect(q40.length).toBe(n * (k / 32) * 18);
    const expected = dequantizeInt4({ ...q, scales: roundToF16(q.scales) });
    expect(Array.from(dequantizeQ4_0(q40, n, k))).toEqual(Array.from(expected));
  });

  it('refuses blocks other than 32 and K that is not a multiple of 32', () => {
    expect(() => int4ToQ4_0(quantizeInt4(new Float32Array(2 * 40), 2, 40, 32))).toThrow(/multiple of 32/);
  });
});

describe('GGUF header', () => {
  it('writes magic, version, counts, metadata and aligned tensor offsets', () => {
    const { header, offsets, sizes } = ggufHeader(
      { 'general.architecture': { type: 'string', value: 'llama' }, 'x.n': { type: 'uint32', value: 7 } },
      [{ name: 'a', dims: [3], type: 'F32' }, { name: 'b', dims: [32, 2], type: 'Q4_0' }],
    );
    expect(header.subarray(0, 4).toString('latin1')).toBe('GGUF');
    expect(header.readUInt32LE(4)).toBe(3);
    expect(header.readBigUInt64LE(8)).toBe(2n);
    expect(header.readBigUInt64LE(16)).toBe(2n);
    const keyLen = Number(header.readBigUInt64LE(24));
    expect(header.subarray(32, 32 + keyLen).toString()).toBe('general.architecture');
    expect(header.length % 32).toBe(0);
    expect(sizes).toEqual([12, 36]);
    expect(offsets).toEqual([0, 32]);
  });
});

describe('llama.cpp reads a written GGUF', () => {
  it('loads a one-layer Q4_0 Llama, reports its shape and vocabulary, and evaluates greedily', async () => {
    const H = 64;
    const I = 128;
    const V = 300;
    const L = 1;
    const tokens = ['<unk>', '<s>', '</s>'];
    for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    while (tokens.length < V) tokens.push(`▁w${tokens.length}`);
    const meta: Record<string, GgufValue> = {
      'general.architecture': { type: 'string', value: 'llama' },
      'general.file_type': { type: 'uint32', value: 2 },
      'llama.context_length': { type: 'uint32', value: 128 },
      'llama.embedding_length': { type: 'uint32', value: H },
      'llama.block_count': { type: 'uint32', value: L },
      'llama.feed_forward_length': { type: 'uint32', value: I },
      'llama.rope.dimension_count': { type: 'uint32', value: 16 },
      'llama.attention.head_count': { type: 'uint32', value: 4 },
      'llama.attention.head_count_kv': { type: 'uint32', value: 4 },
      'llama.attention.layer_norm_rms_epsilon': { type: 'float32', value: 1e-6 },
      'tokenizer.ggml.model': { type: 'string', value: 'llama' },
      'tokenizer.ggml.tokens': { type: 'array', of: 'string', value: tokens },
      'tokenizer.ggml.scores': { type: 'array', of: 'float32', value: Float32Array.from(tokens, (_, i) => -i) },
      'tokenizer.ggml.token_type': { type: 'array', of: 'int32', value: tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1)) },
      'tokenizer.ggml.bos_token_id': { type: 'uint32', value: 1 },
      'tokenizer.ggml.eos_token_id': { type: 'uint32', value: 2 },
      'tokenizer.ggml.unknown_token_id': { type: 'uint32', value: 0 },
    };
    let seed = 10;
    const q4 = (name: string, n: number, k: number): GgufTensor => ({ name, dims: [k, n], type: 'Q4_0', data: () => int4ToQ4_0(quantizeInt4(randomWeights(n * k, seed++), n, k, 32)) });
    const norm = (name: string): GgufTensor => ({ name, dims: [H], type: 'F32', data: () => new Uint8Array(new Float32Array(H).fill(1).buffer) });
    const tensors: GgufTensor[] = [
      { name: 'token_embd.weight', dims: [H, V], type: 'F32', data: () => new Uint8Array(randomWeights(V * H, 1, 0.5).buffer) },
      norm('blk.0.attn_norm.weight'), q4('blk.0.attn_q.weight', H, H), q4('blk.0.attn_k.weight', H, H), q4('blk.0.attn_v.weight', H, H),
      q4('blk.0.attn_output.weight', H, H), norm('blk.0.ffn_norm.weight'), q4('blk.0.ffn_gate.weight', I, H), q4('blk.0.ffn_up.weight', I, H),
      q4('blk.0.ffn_down.weight', H, I), norm('output_norm.weight'), q4('output.weight', V, H),
    ];
    const path = join(dir, 'tiny.gguf');
    await writeGguf(path, meta, tensors);

    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true, logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    try {
      expect(model.trainContextSize).toBe(128);
      expect(model.fileInfo.metadata.general.architecture).toBe('llama');
      expect(model.fileInsights.totalLayers).toBe(L + 1);
      expect(model.detokenize([280 as Token])).toContain('w280');
      expect(model.tokens.eos).toBe(2);
      const context = await model.createContext({ contextSize: 64, threads: 1 });
      const seq = context.getSequence();
      const got: number[] = [];
      for await (const t of seq.evaluate([1, 280, 281] as Token[], { temperature: 0 })) {
        got.push(t);
        if (got.length === 4) break;
      }
      expect(got).toHaveLength(4);
      for (const t of got) expect(t >= 0 && t < V).toBe(true);
      await context.dispose();
    } finally {
      await model.dispose();
      await llama.dispose();
    }
  });
});

describe('GGUF from the built decoder', () => {
  it('copies the decoder graph int4 blocks into the very bytes that quantizing the checkpoint gives', async () => {
    const { buildLlamaDecoder } = await import('../../../model/llama/build-decoder');
    const { openCheckpoint } = await import('../../../model/safetensors');
    const { llamaConfig, writeCheckpoint, writeLlamaGguf } = await import('../../../bench/lib/llama-pair');
    const { readFile } = await import('node:fs/promises');
    const s = { H: 64, L: 2, I: 96, V: 320, heads: 2, P: 4, N: 2, threads: 1, batches: [1] };
    const ckPath = join(dir, 'pair.safetensors');
    await writeCheckpoint(ckPath, s);
    const ck = await openCheckpoint(ckPath);
    const decoderPath = join(dir, 'pair-decoder.onnx');
    await buildLlamaDecoder({ checkpoint: ck, config: llamaConfig(s), variant: 'int4', int4ActivationDtype: 'float32', outPath: decoderPath, lastTokenLogitsOnly: true, attention: 'gqa' });
    await ck.close();
    await writeLlamaGguf(join(dir, 'requantized.gguf'), ckPath, s);
    await writeLlamaGguf(join(dir, 'copied.gguf'), ckPath, s, decoderPath);
    const a = await readFile(join(dir, 'requantized.gguf'));
    const b = await readFile(join(dir, 'copied.gguf'));
    expect(b.length).toBe(a.length);
    expect(b.equals(a)).toBe(true);
  });
});
