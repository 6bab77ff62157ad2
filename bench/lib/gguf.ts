/**
 * @file A small GGUF (version 3) writer for benchmarks: enough to hand llama.cpp a Llama model whose
 * weights are the very int4 blocks our converter put into MatMulNBits (bench/cpu-decode.ts).
 *
 * [Note: GGUF layout]
 * little-endian throughout: magic "GGUF", uint32 version 3, uint64 tensor count, uint64 metadata count;
 * then the metadata (key as a GGUF string = uint64 byte length + UTF-8 bytes, uint32 value type, value;
 * an array is uint32 element type + uint64 length + elements); then one info per tensor (name, uint32
 * n_dims, uint64 dims innermost first — ggml's ne[0] is the row length — uint32 ggml type, uint64 offset
 * from the start of the data section, a multiple of the alignment); padding to `general.alignment`
 * (default 32) and the tensor data, each tensor padded to the alignment.
 *
 * [Note: Q4_0 from MatMulNBits blocks]
 * Both formats cut each weight row into blocks of 32 along K and store (q - 8) · scale with q in 0…15, so
 * the values are the same; only the packing differs. MatMulNBits puts element 2j in the low nibble of
 * byte j and 2j+1 in the high one; Q4_0 (block = float16 scale d, then 16 bytes qs) puts element j in the
 * low nibble of qs[j] and element j+16 in the high nibble. Q4_0's scale is float16, so a float32 scale
 * is rounded to the nearest float16 (relative change ≤ 2⁻¹¹).
 */
import { open } from 'node:fs/promises';
import type { QuantizedInt4 } from '../../model/llama/quantize';
import { f16BitsToF32, f32ToF16 } from '../../model/tensor/half';

/** GGUF metadata value types (gguf_type). */
export const GGUF_TYPE = { uint8: 0, int8: 1, uint16: 2, int16: 3, uint32: 4, int32: 5, float32: 6, bool: 7, string: 8, array: 9, uint64: 10, int64: 11, float64: 12 } as const;

/** ggml tensor types used here. */
export const GGML_TYPE = { F32: 0, F16: 1, Q4_0: 2 } as const;
export type GgmlType = keyof typeof GGML_TYPE;

/** Bytes per block and elements per block of each ggml type. */
const TYPE_BLOCK: Readonly<Record<GgmlType, { bytes: number; elems: number }>> = {
  F32: { bytes: 4, elems: 1 },
  F16: { bytes: 2, elems: 1 },
  Q4_0: { bytes: 18, elems: 32 },
};

/** A metadata value: its GGUF type is explicit, since JS numbers do not say uint32 from float32. */
export type GgufValue =
  | { type: 'uint32' | 'int32' | 'float32' | 'uint64' | 'bool' | 'string'; value: number | bigint | boolean | string }
  | { type: 'array'; of: 'string' | 'float32' | 'int32'; value: readonly string[] | ArrayLike<number> };

/** One tensor to write; `data` is called once, in order, so only one tensor is in memory at a time. */
export interface GgufTensor {
  name: string;
  /** ggml order: innermost (row length) first, e.g. a Linear W [out, in] is [in, out]. */
  dims: readonly number[];
  type: GgmlType;
  data: () => Promise<Uint8Array> | Uint8Array;
}

/** Bytes of a tensor of `type` with `dims`. */
export function ggmlByteSize(type: GgmlType, dims: readonly number[]): number {
  const n = dims.reduce((a, b) => a * b, 1);
  const b = TYPE_BLOCK[type];
  if ((dims[0] ?? 0) % b.elems !== 0) throw new RangeError(`${type} needs a row length that is a multiple of ${b.elems}, got ${dims[0]}`);
  return (n / b.elems) * b.bytes;
}

class ByteWriter {
  private chunks: Buffer[] = [];
  length = 0;
  private push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number | bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  u8(v: number): void {
    this.push(Buffer.from([v]));
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  pad(alignment: number): void {
    const r = this.length % alignment;
    if (r !== 0) this.push(Buffer.alloc(alignment - r));
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function writeValue(w: ByteWriter, key: string, v: GgufValue): void {
  w.str(key);
  w.u32(GGUF_TYPE[v.type]);
  switch (v.type) {
    case 'uint32': w.u32(Number(v.value)); break;
    case 'int32': w.i32(Number(v.value)); break;
    case 'float32': w.f32(Number(v.value)); break;
    case 'uint64': w.u64(v.value as number | bigint); break;
    case 'bool': w.u8(v.value ? 1 : 0); break;
    case 'string': w.str(String(v.value)); break;
    case 'array': {
      w.u32(GGUF_TYPE[v.of]);
      const items = v.value;
      w.u64(items.length);
      for (let i = 0; i < items.length; i++) {
        const x = items[i as keyof typeof items] as string | number;
        if (v.of === 'string') w.str(String(x));
        else if (v.of === 'float32') w.f32(Number(x));
        else w.i32(Number(x));
      }
      break;
    }
  }
}

/** The header (everything before the tensor data, padded to `alignment`) and each tensor's data offset. */
export function ggufHeader(metadata: Readonly<Record<string, GgufValue>>, tensors: readonly Omit<GgufTensor, 'data'>[], alignment = 32): { header: Buffer; offsets: number[]; sizes: number[] } {
  const w = new ByteWriter();
  w.u32(0x46554747); // "GGUF" read as a little-endian uint32
  w.u32(3);
  w.u64(tensors.length);
  w.u64(Object.keys(metadata).length);
  for (const [k, v] of Object.entries(metadata)) writeValue(w, k, v);
  const offsets: number[] = [];
  const sizes: number[] = [];
  let off = 0;
  for (const t of tensors) {
    const size = ggmlByteSize(t.type, t.dims);
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(GGML_TYPE[t.type]);
    w.u64(off);
    offsets.push(off);
    sizes.push(size);
    off += Math.ceil(size / alignment) * alignment;
  }
  w.pad(alignment);
  return { header: w.bytes(), offsets, sizes };
}

/** Writes a GGUF file tensor by tensor. Returns the file size. */
export async function writeGguf(path: string, metadata: Readonly<Record<string, GgufValue>>, tensors: readonly GgufTensor[]): Promise<number> {
  const alignment = 32;
  const { header, offsets, sizes } = ggufHeader({ ...metadata, 'general.alignment': { type: 'uint32', value: alignment } }, tensors, alignment);
  const h = await open(path, 'w');
  try {
    await h.write(header, 0, header.length, 0);
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i]!;
      const bytes = await t.data();
      if (bytes.length !== sizes[i]) throw new Error(`GGUF tensor ${t.name}: ${bytes.length} bytes given, ${sizes[i]} expected for ${t.type} [${t.dims.join(', ')}]`);
      await h.write(bytes, 0, bytes.length, header.length + offsets[i]!);
    }
    const last = tensors.length - 1;
    const end = header.length + (last >= 0 ? offsets[last]! + Math.ceil(sizes[last]! / alignment) * alignment : 0);
    await h.truncate(end);
    return end;
  } finally {
    await h.close();
  }
}

/** Repacks MatMulNBits int4 blocks (block size 32) as Q4_0 blocks; see [Note: Q4_0 from MatMulNBits blocks]. */
export function int4ToQ4_0(q: QuantizedInt4): Uint8Array {
  if (q.blockSize !== 32) throw new RangeError(`Q4_0 needs blocks of 32, got ${q.blockSize}`);
  if (q.k % 32 !== 0) throw new RangeError(`Q4_0 needs K a multiple of 32, got ${q.k}`);
  const nBlocks = q.n * q.blocks;
  const out = new Uint8Array(nBlocks * 18);
  const d = f32ToF16(q.scales);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 18;
    out[o] = d[b]! & 0xff;
    out[o + 1] = d[b]! >> 8;
    const src = b * 16;
    for (let j = 0; j < 16; j++) {
      // element j and element j + 16 of the block, from MatMulNBits' pairwise packing
      const lo = j & 1 ? q.packed[src + (j >> 1)]! >> 4 : q.packed[src + (j >> 1)]! & 15;
      const hiIdx = j + 16;
      const hi = hiIdx & 1 ? q.packed[src + (hiIdx >> 1)]! >> 4 : q.packed[src + (hiIdx >> 1)]! & 15;
      out[o + 2 + j] = lo | (hi << 4);
    }
  }
  return out;
}

/** Dequantizes Q4_0 blocks to float32 (for tests): value = (q - 8) · d. */
export function dequantizeQ4_0(bytes: Uint8Array, n: number, k: number): Float32Array {
  const out = new Float32Array(n * k);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blocks = (n * k) / 32;
  for (let b = 0; b < blocks; b++) {
    const o = b * 18;
    const d = f16BitsToF32(view.getUint16(o, true));
    for (let j = 0; j < 16; j++) {
      const byte = bytes[o + 2 + j]!;
      out[b * 32 + j] = ((byte & 15) - 8) * d;
      out[b * 32 + j + 16] = ((byte >> 4) - 8) * d;
    }
  }
  return out;
}

