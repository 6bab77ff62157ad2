/**
 * @file The torch zip checkpoint reader on files laid out byte for byte as torch.save (protocol 2) writes
 * them: shared storages with offsets, a transposed (non-contiguous) view, float16, OrderedDict _metadata;
 * the tiny-mert weights re-saved as pytorch_model.bin build the same encoder as the safetensors file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMertConfig } from '../../../model/mert/config';
import { createMertSession, encodeWindow } from '../../../model/mert/encode';
import { buildMertEncoder } from '../../../model/mert/encoder-graph';
import { CheckpointError, openCheckpoint } from '../../../model/safetensors';
import { isTorchZip, openTorchCheckpoint } from '../../../model/torch-checkpoint';
import { openWeightSource } from '../../../model/mert/weights';
import { f32ToF16 } from '../../../model/tensor/half';

const FIX = new URL('../../fixtures/', import.meta.url).pathname;

// ---- a minimal torch.save writer (test only) ----

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A stored-entry zip with 64-byte aligned data, as torch's writer makes (padding in the extra field). */
function zip(entries: [string, Uint8Array][]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBuf = Buffer.from(name, 'utf8');
    const base = offset + 30 + nameBuf.length + 4;
    const pad = (64 - (base % 64)) % 64;
    const extra = Buffer.alloc(4 + pad);
    extra.writeUInt16LE(0x4246, 0); // 'FB', torch's padding record
    extra.writeUInt16LE(pad, 2);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt32LE(crc32(data), 14);
    lh.writeUInt32LE(data.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(nameBuf.length, 26);
    lh.writeUInt16LE(extra.length, 28);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt32LE(crc32(data), 16);
    ch.writeUInt32LE(data.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(nameBuf.length, 28);
    ch.writeUInt32LE(offset, 42);
    central.push(ch, nameBuf);
    parts.push(lh, nameBuf, extra, Buffer.from(data));
    offset += 30 + nameBuf.length + extra.length + data.length;
  }
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, eocd]);
}

class Pickler {
  private out: number[] = [0x80, 2];
  private memo = 0;
  private globals = new Map<string, number>();
  bytes(): Buffer {
    return Buffer.from([...this.out, 0x2e]);
  }
  op(...b: number[]): this {
    this.out.push(...b);
    return this;
  }
  put(): this {
    // Python's pickler: BINPUT below 256 memo entries, LONG_BINPUT after.
    const m = this.memo++;
    if (m < 256) return this.op(0x71, m);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(m);
    return this.op(0x72, ...b);
  }
  get(m: number): this {
    if (m < 256) return this.op(0x68, m);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(m);
    return this.op(0x6a, ...b);
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return this.op(0x58, ...len, ...b).put();
  }
  int(n: number): this {
    if (n < 256) return this.op(0x4b, n);
    if (n < 65536) return this.op(0x4d, n & 0xff, n >> 8);
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return this.op(0x4a, ...b);
  }
  global(mod: string, name: string): this {
    const key = `${mod}.${name}`;
    const m = this.globals.get(key);
    if (m !== undefined) return this.get(m);
    this.globals.set(key, this.memo);
    return this.op(0x63, ...Buffer.from(`${mod}\n${name}\n`, 'latin1')).put();
  }
  tuple(items: number[]): this {
    this.op(0x28);
    for (const i of items) this.int(i);
    return this.op(0x74).put();
  }
  orderedDict(): this {
    return this.global('collections', 'OrderedDict').op(0x29, 0x52).put();
  }
}

interface SavedTensor {
  name: string;
  key: string;
  storageType: 'FloatStorage' | 'HalfStorage';
  numel: number;
  offset: number;
  shape: number[];
  stride: number[];
}

/** torch.save(state_dict) byte layout: OrderedDict of _rebuild_tensor_v2 calls, _metadata set by BUILD. */
function torchSave(tensors: SavedTensor[], storages: Map<string, Uint8Array>, root = 'archive'): Buffer {
  const p = new Pickler();
  p.orderedDict().op(0x28);
  for (const t of tensors) {
    p.str(t.name).global('torch._utils', '_rebuild_tensor_v2').op(0x28);
    p.op(0x28).str('storage').global('torch', t.storageType).str(t.key).str('cpu').int(t.numel).op(0x74).put().op(0x51);
    p.int(t.offset).tuple(t.shape).tuple(t.stride).op(0x89).orderedDict();
    p.op(0x74).put().op(0x52).put();
  }
  p.op(0x75); // SETITEMS
  p.op(0x7d).put().op(0x28).str('_metadata').orderedDict().op(0x28).str('').op(0x7d).put().str('version').int(1).op(0x73).op(0x75).op(0x75).op(0x62);
  const entries: [string, Uint8Array][] = [[`${root}/data.pkl`, p.bytes()], [`${root}/byteorder`, Buffer.from('little')]];
  for (const [k, v] of storages) entries.push([`${root}/data/${k}`, v]);
  entries.push([`${root}/version`, Buffer.from('3\n')]);
  return zip(entries);
}

function f32Bytes(a: number[] | Float32Array): Uint8Array {
  const f = Float32Array.from(a);
  return new Uint8Array(f.buffer);
}

describe('torch zip checkpoints', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'torch-ckpt-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads shared storages, offsets, a transposed view and float16', async () => {
    const storage0 = f32Bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const half = new Uint8Array(f32ToF16(Float32Array.from([0.5, -2, 3.25])).buffer);
    const file = join(dir, 'pytorch_model.bin');
    writeFileSync(file, torchSave([
      { name: 'a.weight', key: '0', storageType: 'FloatStorage', numel: 10, offset: 0, shape: [2, 3], stride: [3, 1] },
      { name: 'a.bias', key: '0', storageType: 'FloatStorage', numel: 10, offset: 6, shape: [4], stride: [1] },
      { name: 'a.weight_t', key: '0', storageType: 'FloatStorage', numel: 10, offset: 0, shape: [3, 2], stride: [1, 3] },
      { name: 'b.half', key: '1', storageType: 'HalfStorage', numel: 3, offset: 0, shape: [3], stride: [1] },
    ], new Map([['0', storage0], ['1', half]]), 'pytorch_model'));
    expect(await isTorchZip(file)).toBe(true);
    const ck = await openTorchCheckpoint(file);
    try {
      expect(ck.names()).toEqual(['a.bias', 'a.weight', 'a.weight_t', 'b.half']);
      expect(ck.info('a.weight')).toMatchObject({ dtype: 'F32', shape: [2, 3], byteLength: 24 });
      expect([...(await ck.readF32('a.weight'))]).toEqual([0, 1, 2, 3, 4, 5]);
      expect([...(await ck.readF32('a.bias'))]).toEqual([6, 7, 8, 9]);
      expect([...(await ck.readF32('a.weight_t'))]).toEqual([0, 3, 1, 4, 2, 5]);
      expect([...(await ck.readF32('b.half'))]).toEqual([0.5, -2, 3.25]);
      expect(ck.requireBySuffix('half')).toBe('b.half');
      await expect(ck.readF32('nope')).rejects.toThrow(/Tensor "nope" is missing from checkpoint .*pytorch_model\.bin/);
    } finally {
      await ck.close();
    }
  });

  it('names the file when it is truncated, legacy or not a checkpoint', async () => {
    const good = torchSave([{ name: 'w', key: '0', storageType: 'FloatStorage', numel: 2, offset: 0, shape: [2], stride: [1] }], new Map([['0', f32Bytes([1, 2])]]));
    const cut = join(dir, 'cut.bin');
    writeFileSync(cut, good.subarray(0, good.length - 30));
    await expect(openTorchCheckpoint(cut)).rejects.toThrow(CheckpointError);
    await expect(openTorchCheckpoint(cut)).rejects.toThrow(/cut\.bin/);
    const legacy = join(dir, 'legacy.bin');
    writeFileSync(legacy, Buffer.from([0x80, 0x02, 0x8a, 0x0a, ...new Array<number>(60).fill(0)]));
    await expect(openTorchCheckpoint(legacy)).rejects.toThrow(/legacy.bin is a legacy \(pre-1\.6\) torch checkpoint/);
    await expect(openTorchCheckpoint(join(dir, 'missing.bin'))).rejects.toThrow(/missing\.bin.*ENOENT/);
  });

  it('tiny-mert re-saved as pytorch_model.bin builds the same encoder (pooled matches the golden)', async () => {
    // Re-save every tensor of the safetensors fixture in torch's layout, one storage each.
    const src = await openCheckpoint(join(FIX, 'tiny-mert/model.safetensors'));
    const tensors: SavedTensor[] = [];
    const storages = new Map<string, Uint8Array>();
    try {
      for (const [i, name] of src.names().entries()) {
        const info = src.info(name);
        const data = await src.readF32(name);
        const stride = info.shape.map((_, d) => info.shape.slice(d + 1).reduce((a, b) => a * b, 1));
        tensors.push({ name, key: String(i), storageType: 'FloatStorage', numel: data.length, offset: 0, shape: info.shape, stride });
        storages.set(String(i), f32Bytes(data));
      }
    } finally {
      await src.close();
    }
    expect(tensors.some((t) => t.name.endsWith('weight_g'))).toBe(true);
    const file = join(dir, 'tiny-mert.bin');
    writeFileSync(file, torchSave(tensors, storages));
    const ck = await openWeightSource(file);
    try {
      await buildMertEncoder({ checkpoint: ck, config: await readMertConfig(join(FIX, 'tiny-mert/config.json')), variant: 'float32', outPath: join(dir, 'enc.onnx') });
    } finally {
      await ck.close();
    }
    const gold = await openCheckpoint(join(FIX, 'tiny-mert/golden.safetensors'));
    const session = await createMertSession(join(dir, 'enc.onnx'), { intraOpNumThreads: 1 });
    try {
      const enc = await encodeWindow(session, await gold.readF32('audio'));
      const want = await gold.readF32('pooled');
      let err = 0;
      let ref = 0;
      want.forEach((v, i) => {
        err = Math.max(err, Math.abs(v - enc.pooled[i]!));
        ref = Math.max(ref, Math.abs(v));
      });
      expect(err / ref).toBeLessThan(1e-4);
    } finally {
      await session.release();
      await gold.close();
    }
    expect(readFileSync(file).subarray(0, 4).readUInt32LE(0)).toBe(0x04034b50);
  });
});
