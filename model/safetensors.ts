/**
 * @file Safetensors checkpoints: positional reader for single files and sharded checkpoints, and a writer
 * (any Node process; no Electron).
 *
 * [Note: Positional safetensors reads]
 * MusiLingo's shards are about 5 GB each and a 7B decoder converts tensor by tensor, so a checkpoint is
 * opened by reading only each file's header (8-byte little-endian length + JSON); tensor bytes are read
 * on demand with `FileHandle.read` at their offsets. Nothing ever holds a whole file. Every header is
 * validated on open (known dtype, byte length = product(shape) × dtype size, data inside the file), so a
 * truncated download fails at open with the file named, not halfway through a conversion.
 *
 * Layouts accepted by {@link openCheckpoint}: a `.safetensors` file; a `model.safetensors.index.json`
 * (its `weight_map` names the shards); a folder holding an index, else `model.safetensors`, else every
 * `*.safetensors` in it (tensor names must then be unique across files); or an explicit list of files.
 */
import { open, readdir, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { bf16ToF32, f16ToF32 } from './tensor/half';

/** Safetensors dtype codes this module knows. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Where a tensor lives and what it holds. */
export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute path of the file that holds it. */
  file: string;
  /** Absolute byte offset of its data in `file`. */
  offset: number;
  byteLength: number;
}

/** Raw tensor bytes as stored (little-endian). */
export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  bytes: Uint8Array;
}

/** A problem with a checkpoint file or a tensor in it; `file` and `tensor` name what is wrong. */
export class CheckpointError extends Error {
  readonly file: string | undefined;
  readonly tensor: string | undefined;
  constructor(message: string, where: { file?: string; tensor?: string } = {}) {
    super(message);
    this.name = 'CheckpointError';
    this.file = where.file;
    this.tensor = where.tensor;
  }
}

/** An opened checkpoint (one or more safetensors files). Call {@link Checkpoint.close} when done. */
export interface Checkpoint {
  /** The files it reads, absolute paths. */
  readonly files: readonly string[];
  /** `__metadata__` of each file merged (later files win). */
  readonly metadata: Readonly<Record<string, string>>;
  /** All tensor names, sorted. */
  names(): string[];
  has(name: string): boolean;
  /** Tensor info; throws a {@link CheckpointError} naming the tensor and the checkpoint when missing. */
  info(name: string): TensorInfo;
  /**
   * The unique name equal to `suffix` or ending in `'.' + suffix`; undefined when none; throws when
   * several match (the message lists them).
   */
  findBySuffix(suffix: string): string | undefined;
  /** Like {@link findBySuffix} but throws when nothing matches. */
  requireBySuffix(suffix: string): string;
  /** Reads a floating-point (or integer) tensor converted to float32. */
  readF32(name: string): Promise<Float32Array>;
  /** Reads the stored bytes. */
  readRaw(name: string): Promise<RawTensor>;
  /** Reads rows [start, start+count) of a tensor (first dimension), as stored bytes. */
  readRowsRaw(name: string, start: number, count: number): Promise<RawTensor>;
  /** Reads rows [start, start+count) of a tensor converted to float32. */
  readRowsF32(name: string, start: number, count: number): Promise<Float32Array>;
  close(): Promise<void>;
}

interface OpenFile {
  path: string;
  handle: FileHandle;
}

function isDtype(x: unknown): x is SafetensorsDtype {
  return typeof x === 'string' && Object.hasOwn(DTYPE_SIZE, x);
}

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Throws a {@link CheckpointError} unless `actual` equals `expected` (-1 in `expected` matches any size). */
export function expectShape(name: string, actual: readonly number[], expected: readonly number[], file?: string): void {
  const ok = actual.length === expected.length && expected.every((d, i) => d < 0 || d === actual[i]);
  if (!ok) {
    const where = file === undefined ? '' : ` in ${file}`;
    throw new CheckpointError(
      `Tensor "${name}"${where} has shape [${actual.join(', ')}], expected [${expected.map((d) => (d < 0 ? '?' : d)).join(', ')}]`,
      { tensor: name, ...(file === undefined ? {} : { file }) },
    );
  }
}

async function readHeader(file: OpenFile, into: Map<string, TensorInfo>, metadata: Record<string, string>): Promise<void> {
  const { path, handle } = file;
  const { size } = await handle.stat();
  if (size < 8) throw new CheckpointError(`${path} is not a safetensors file: ${size} bytes, too short for a header`, { file: path });
  const lenBuf = Buffer.alloc(8);
  await handle.read(lenBuf, 0, 8, 0);
  const headerLen = Number(lenBuf.readBigUInt64LE(0));
  if (headerLen > 100_000_000 || 8 + headerLen > size) {
    throw new CheckpointError(
      `${path} is truncated or not a safetensors file: header says ${headerLen} header bytes but the file has ${size} bytes`,
      { file: path },
    );
  }
  const headerBuf = Buffer.alloc(headerLen);
  await handle.read(headerBuf, 0, headerLen, 8);
  let header: unknown;
  try {
    header = JSON.parse(headerBuf.toString('utf8'));
  } catch (e) {
    throw new CheckpointError(`${path} has a corrupt safetensors header: ${(e as Error).message}`, { file: path });
  }
  if (typeof header !== 'object' || header === null) throw new CheckpointError(`${path} has a corrupt safetensors header`, { file: path });
  const dataStart = 8 + headerLen;
  let dataEnd = 0;
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry && typeof entry === 'object') for (const [k, v] of Object.entries(entry)) if (typeof v === 'string') metadata[k] = v;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!isDtype(e.dtype)) {
      throw new CheckpointError(
        `Tensor "${name}" in ${path} has unsupported dtype ${JSON.stringify(e.dtype)}. Expected one of: ${Object.keys(DTYPE_SIZE).join(', ')}`,
        { file: path, tensor: name },
      );
    }
    const shape = e.shape;
    const offs = e.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0) ||
        !Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new CheckpointError(`Tensor "${name}" in ${path} has a malformed header entry`, { file: path, tensor: name });
    }
    const [begin, end] = offs as [number, number];
    const byteLength = end - begin;
    const expected = product(shape as number[]) * DTYPE_SIZE[e.dtype];
    if (byteLength !== expected) {
      throw new CheckpointError(
        `Tensor "${name}" in ${path} holds ${byteLength} bytes but ${e.dtype} [${(shape as number[]).join(', ')}] needs ${expected}`,
        { file: path, tensor: name },
      );
    }
    if (into.has(name)) {
      throw new CheckpointError(`Tensor "${name}" appears in both ${into.get(name)!.file} and ${path}`, { file: path, tensor: name });
    }
    into.set(name, { name, dtype: e.dtype, shape: shape as number[], file: path, offset: dataStart + begin, byteLength });
    dataEnd = Math.max(dataEnd, end);
  }
  if (dataStart + dataEnd > size) {
    throw new CheckpointError(
      `${path} is truncated: its header says ${dataStart + dataEnd} bytes but the file has ${size} bytes`,
      { file: path },
    );
  }
}

async function resolveFiles(pathOrDir: string | readonly string[]): Promise<string[]> {
  if (typeof pathOrDir !== 'string') return [...pathOrDir];
  let st;
  try {
    st = await stat(pathOrDir);
  } catch {
    throw new CheckpointError(`Checkpoint not found: ${pathOrDir}`, { file: pathOrDir });
  }
  if (st.isDirectory()) {
    const entries = (await readdir(pathOrDir)).sort();
    const index = entries.find((f) => f.endsWith('.safetensors.index.json'));
    if (index !== undefined) return filesFromIndex(join(pathOrDir, index));
    if (entries.includes('model.safetensors')) return [join(pathOrDir, 'model.safetensors')];
    const all = entries.filter((f) => f.endsWith('.safetensors')).map((f) => join(pathOrDir, f));
    if (all.length === 0) throw new CheckpointError(`No .safetensors files in ${pathOrDir}`, { file: pathOrDir });
    return all;
  }
  if (pathOrDir.endsWith('.json')) return filesFromIndex(pathOrDir);
  return [pathOrDir];
}

async function filesFromIndex(indexPath: string): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`Cannot read checkpoint index ${indexPath}: ${(e as Error).message}`, { file: indexPath });
  }
  const map = (parsed as { weight_map?: unknown }).weight_map;
  if (!map || typeof map !== 'object') throw new CheckpointError(`${indexPath} has no weight_map`, { file: indexPath });
  const shards = [...new Set(Object.values(map as Record<string, unknown>).map(String))].sort();
  return shards.map((s) => join(dirname(indexPath), s));
}

/**
 * Opens a safetensors checkpoint: a file, an index json, a folder, or a list of files (see the file header).
 * Validates every header; throws a {@link CheckpointError} naming the file on a missing, truncated or
 * corrupt file.
 */
export async function openCheckpoint(pathOrDir: string | readonly string[]): Promise<Checkpoint> {
  const paths = await resolveFiles(pathOrDir);
  const label = typeof pathOrDir === 'string' ? pathOrDir : paths.join(', ');
  const files: OpenFile[] = [];
  const tensors = new Map<string, TensorInfo>();
  const metadata: Record<string, string> = {};
  try {
    for (const path of paths) {
      let handle: FileHandle;
      try {
        handle = await open(path, 'r');
      } catch (e) {
        throw new CheckpointError(`Cannot open checkpoint file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path });
      }
      files.push({ path, handle });
      await readHeader(files.at(-1)!, tensors, metadata);
    }
  } catch (e) {
    await Promise.all(files.map((f) => f.handle.close()));
    throw e;
  }
  const handles = new Map(files.map((f) => [f.path, f.handle]));
  const sortedNames = [...tensors.keys()].sort();

  function info(name: string): TensorInfo {
    const t = tensors.get(name);
    if (!t) throw new CheckpointError(`Tensor "${name}" is missing from checkpoint ${label}`, { tensor: name, file: label });
    return t;
  }
  async function readBytes(t: TensorInfo, offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    const handle = handles.get(t.file)!;
    let done = 0;
    while (done < length) {
      const chunk = Math.min(length - done, 1 << 30);
      const { bytesRead } = await handle.read(out, done, chunk, offset + done);
      if (bytesRead === 0) {
        throw new CheckpointError(`${t.file} ended early while reading tensor "${t.name}" (file truncated?)`, { file: t.file, tensor: t.name });
      }
      done += bytesRead;
    }
    return out;
  }
  function findBySuffix(suffix: string): string | undefined {
    const dotted = '.' + suffix;
    const hits = sortedNames.filter((n) => n === suffix || n.endsWith(dotted));
    if (hits.length > 1) {
      throw new CheckpointError(
        `Tensor suffix "${suffix}" is ambiguous in checkpoint ${label}: ${hits.slice(0, 5).join(', ')}${hits.length > 5 ? ', …' : ''}`,
        { tensor: suffix, file: label },
      );
    }
    return hits[0];
  }
  function rowsInfo(name: string, start: number, count: number): { t: TensorInfo; rowBytes: number; shape: number[] } {
    const t = info(name);
    const rows = t.shape[0] ?? 1;
    if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > rows) {
      throw new CheckpointError(`Rows [${start}, ${start + count}) are outside tensor "${name}" (${rows} rows) in ${t.file}`, { file: t.file, tensor: name });
    }
    const rowBytes = rows === 0 ? 0 : t.byteLength / rows;
    return { t, rowBytes, shape: [count, ...t.shape.slice(1)] };
  }

  return {
    files: paths,
    metadata,
    names: () => [...sortedNames],
    has: (name) => tensors.has(name),
    info,
    findBySuffix,
    requireBySuffix(suffix) {
      const n = findBySuffix(suffix);
      if (n === undefined) throw new CheckpointError(`No tensor named "${suffix}" or "*.${suffix}" in checkpoint ${label}`, { tensor: suffix, file: label });
      return n;
    },
    async readRaw(name) {
      const t = info(name);
      return { dtype: t.dtype, shape: [...t.shape], bytes: await readBytes(t, t.offset, t.byteLength) };
    },
    async readF32(name) {
      const t = info(name);
      return toF32(t.dtype, await readBytes(t, t.offset, t.byteLength), name, t.file);
    },
    async readRowsRaw(name, start, count) {
      const { t, rowBytes, shape } = rowsInfo(name, start, count);
      return { dtype: t.dtype, shape, bytes: await readBytes(t, t.offset + start * rowBytes, count * rowBytes) };
    },
    async readRowsF32(name, start, count) {
      const { t, rowBytes } = rowsInfo(name, start, count);
      return toF32(t.dtype, await readBytes(t, t.offset + start * rowBytes, count * rowBytes), name, t.file);
    },
    async close() {
      await Promise.all(files.map((f) => f.handle.close()));
    },
  };
}

/** Converts little-endian stored bytes of `dtype` to float32. */
export function toF32(dtype: SafetensorsDtype, bytes: Uint8Array, name = '?', file = '?'): Float32Array {
  // Copy to an aligned buffer when needed: typed-array views need element alignment.
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const n = aligned.byteLength / DTYPE_SIZE[dtype];
  const buf = aligned.buffer;
  const off = aligned.byteOffset;
  switch (dtype) {
    case 'F32':
      return new Float32Array(buf, off, n);
    case 'F16':
      return f16ToF32(new Uint16Array(buf, off, n));
    case 'BF16':
      return bf16ToF32(new Uint16Array(buf, off, n));
    case 'F64':
      return Float32Array.from(new Float64Array(buf, off, n));
    case 'I32':
      return Float32Array.from(new Int32Array(buf, off, n));
    case 'I16':
      return Float32Array.from(new Int16Array(buf, off, n));
    case 'I8':
      return Float32Array.from(new Int8Array(buf, off, n));
    case 'U8':
    case 'BOOL':
      return Float32Array.from(new Uint8Array(buf, off, n));
    case 'I64':
      return Float32Array.from(new BigInt64Array(buf, off, n), (v) => Number(v));
    default:
      throw new CheckpointError(`Tensor "${name}" in ${file} has dtype ${String(dtype)}, which cannot be read as float32`, { file, tensor: name });
  }
}

/** A tensor to write: float32 data (stored as F32), or bytes of an explicit dtype. */
export type TensorToWrite =
  | { data: Float32Array; shape: readonly number[]; dtype?: 'F32' }
  | { dtype: SafetensorsDtype; shape: readonly number[]; bytes: Uint8Array };

/**
 * Writes a safetensors file (tensors in the given order, header padded to 8 bytes). Data is written
 * tensor by tensor, never concatenated. Throws naming the tensor when a size does not match its shape.
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, TensorToWrite> | ReadonlyMap<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Promise<void> {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    const dtype: SafetensorsDtype = 'bytes' in t ? t.dtype : 'F32';
    const bytes = 'bytes' in t ? t.bytes : new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const need = product(t.shape) * DTYPE_SIZE[dtype];
    if (bytes.byteLength !== need) {
      throw new CheckpointError(`Tensor "${name}" for ${path}: ${bytes.byteLength} bytes given but ${dtype} [${t.shape.join(', ')}] needs ${need}`, { file: path, tensor: name });
    }
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + need] };
    blobs.push(bytes);
    offset += need;
  }
  let json = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  const handle = await open(path, 'w');
  try {
    await handle.write(len);
    await handle.write(headerBytes);
    for (const b of blobs) await handle.write(b);
  } finally {
    await handle.close();
  }
}

