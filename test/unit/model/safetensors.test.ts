/** @file Unit tests for the safetensors reader/writer (model/safetensors.ts). */
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, expectShape, openCheckpoint, writeSafetensors } from '../../../model/safetensors';
import { f32ToBf16, f32ToF16 } from '../../../model/tensor/half';

const FIXTURE = join(import.meta.dirname, '../../fixtures/tiny-llama');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'st-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function u8(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

describe('openCheckpoint', () => {
  it('reads a real float16 checkpoint by name and suffix', async () => {
    const ck = await openCheckpoint(FIXTURE);
    try {
      const name = ck.requireBySuffix('layers.0.self_attn.q_proj.weight');
      expect(name).toBe('model.layers.0.self_attn.q_proj.weight');
      const info = ck.info(name);
      expect(info.dtype).toBe('F16');
      expect(info.shape).toEqual([64, 64]);
      expect(info.file.endsWith('model.safetensors')).toBe(true);
      const w = await ck.readF32(name);
      expect(w.length).toBe(64 * 64);
      expect(w.some((x) => x !== 0)).toBe(true);
      const rows = await ck.readRowsF32('model.embed_tokens.weight', 10, 3);
      const all = await ck.readF32('model.embed_tokens.weight');
      expect([...rows]).toEqual([...all.subarray(10 * 64, 13 * 64)]);
      expect(() => ck.findBySuffix('weight')).toThrow(/ambiguous/);
      expect(ck.findBySuffix('no.such.weight')).toBeUndefined();
      expect(() => ck.info('nope')).toThrow(/"nope" is missing from checkpoint/);
    } finally {
      await ck.close();
    }
  });

  it('round-trips every dtype through the writer and reads shards through an index', async () => {
    const f = new Float32Array([1.5, -2, 0.25, 3]);
    await writeSafetensors(join(dir, 'a.safetensors'), {
      'x.f32': { data: f, shape: [2, 2] },
      'x.f16': { dtype: 'F16', shape: [4], bytes: u8(f32ToF16(f)) },
    }, { format: 'pt' });
    await writeSafetensors(join(dir, 'b.safetensors'), {
      'y.bf16': { dtype: 'BF16', shape: [4], bytes: u8(f32ToBf16(f)) },
      'y.i64': { dtype: 'I64', shape: [2], bytes: u8(new BigInt64Array([5n, -7n])) },
      'y.u8': { dtype: 'U8', shape: [3], bytes: new Uint8Array([1, 2, 255]) },
    });
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({
      metadata: {}, weight_map: { 'x.f32': 'a.safetensors', 'x.f16': 'a.safetensors', 'y.bf16': 'b.safetensors', 'y.i64': 'b.safetensors', 'y.u8': 'b.safetensors' },
    }));
    const ck = await openCheckpoint(dir);
    try {
      expect(ck.names()).toEqual(['x.f16', 'x.f32', 'y.bf16', 'y.i64', 'y.u8']);
      expect(ck.metadata.format).toBe('pt');
      for (const n of ['x.f32', 'x.f16', 'y.bf16']) expect([...(await ck.readF32(n))]).toEqual([1.5, -2, 0.25, 3]);
      expect([...(await ck.readF32('y.i64'))]).toEqual([5, -7]);
      const raw = await ck.readRaw('y.u8');
      expect(raw).toEqual({ dtype: 'U8', shape: [3], bytes: new Uint8Array([1, 2, 255]) });
      expect(ck.info('y.i64').file).toBe(join(dir, 'b.safetensors'));
    } finally {
      await ck.close();
    }
  });

  it('names the file when a shard is truncated', async () => {
    const p = join(dir, 'trunc.safetensors');
    await writeSafetensors(p, { w: { data: new Float32Array(100), shape: [10, 10] } });
    await truncate(p, 200);
    const err = await openCheckpoint(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(/trunc\.safetensors is truncated: its header says \d+ bytes but the file has 200 bytes/);
    expect((err as CheckpointError).file).toBe(p);
  });

  it('names tensor and file for an unsupported dtype or a size mismatch', async () => {
    const p = join(dir, 'bad.safetensors');
    const header = JSON.stringify({ w: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } });
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    await writeFile(p, Buffer.concat([len, Buffer.from(header), Buffer.alloc(2)]));
    await expect(openCheckpoint(p)).rejects.toThrow(/Tensor "w" in .*bad\.safetensors has unsupported dtype "F8_E4M3"/);
    const header2 = JSON.stringify({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } });
    len.writeBigUInt64LE(BigInt(header2.length));
    await writeFile(p, Buffer.concat([len, Buffer.from(header2), Buffer.alloc(4)]));
    await expect(openCheckpoint(p)).rejects.toThrow(/Tensor "w" in .*bad\.safetensors holds 4 bytes but F32 \[2\] needs 8/);
    await writeFile(p, Buffer.from('not a checkpoint at all'));
    await expect(openCheckpoint(p)).rejects.toThrow(/bad\.safetensors is truncated or not a safetensors file/);
    await expect(openCheckpoint(join(dir, 'missing.safetensors'))).rejects.toThrow(/missing\.safetensors/);
  });

  it('expectShape names the tensor and the expected shape', () => {
    expect(() => expectShape('q', [4, 4], [4, -1])).not.toThrow();
    expect(() => expectShape('q', [4, 5], [4, 4], 'm.safetensors')).toThrow('Tensor "q" in m.safetensors has shape [4, 5], expected [4, 4]');
  });
});
