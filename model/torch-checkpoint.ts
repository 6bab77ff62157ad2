/**
 * @file Reader for PyTorch `torch.save` checkpoints (pytorch_model.bin, zip format) exposing the same
 * tensor interface as the safetensors reader, with positional reads (any Node process).
 *
 * [Note: torch zip checkpoints without torch]
 * MERT-v1-330M ships only pytorch_model.bin. Since torch 1.6 that file is a zip archive with stored (not
 * compressed) entries: `<root>/data.pkl` (a pickle of the state dict), `<root>/data/<key>` (one raw
 * little-endian storage per key), `<root>/version`, `<root>/byteorder`. The pickle never holds tensor bytes:
 * each tensor is `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, meta])`
 * (possibly wrapped in `_rebuild_parameter`) whose storage is a persistent id
 * `('storage', torch.FloatStorage, key, location, numel)`. So a small pickle interpreter that builds plain
 * descriptors for those globals (and refuses every other global: nothing is ever executed) gives each
 * tensor's dtype, shape, strides and byte range inside the zip, and reads stay positional, as with
 * safetensors. Zip64 records (files > 4 GB) are followed. Non-contiguous tensors are gathered by strides.
 * Legacy (pre-1.6, non-zip) checkpoints are rejected with a message saying so.
 */
import { open, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CheckpointError, DTYPE_SIZE, toF32 } from './safetensors';
import type { Checkpoint, RawTensor, SafetensorsDtype, TensorInfo } from './safetensors';

interface ZipEntry {
  name: string;
  dataOffset: number;
  size: number;
}

const STORAGE_DTYPES: Readonly<Record<string, SafetensorsDtype>> = {
  FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', DoubleStorage: 'F64', LongStorage: 'I64',
  IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
};

async function readAt(h: FileHandle, offset: number, length: number): Promise<Buffer> {
  const b = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await h.read(b, done, length - done, offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return b.subarray(0, done);
}

/** Lists a zip's entries (stored entries only) by reading its central directory. */
async function readZipDirectory(file: string, h: FileHandle, size: number): Promise<Map<string, ZipEntry>> {
  const tailLen = Math.min(size, 65557 + 20);
  const tail = await readAt(h, size - tailLen, tailLen);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    const head = await readAt(h, 0, 2);
    const legacy = head[0] === 0x80;
    throw new CheckpointError(legacy
      ? `${file} is a legacy (pre-1.6) torch checkpoint; re-save it with torch ≥ 1.6 or convert it to safetensors`
      : `${file} is not a PyTorch zip checkpoint (no zip directory found; truncated download?)`, { file });
  }
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (cdOffset === 0xffffffff || count === 0xffff || cdSize === 0xffffffff) {
    // Zip64 end of central directory locator sits just before the EOCD.
    const loc = eocd - 20;
    if (loc < 0 || tail.readUInt32LE(loc) !== 0x07064b50) throw new CheckpointError(`${file}: zip64 locator missing (corrupt zip)`, { file });
    const rec = Number(tail.readBigUInt64LE(loc + 8));
    const z = await readAt(h, rec, 56);
    if (z.length < 56 || z.readUInt32LE(0) !== 0x06064b50) throw new CheckpointError(`${file}: zip64 directory record missing (corrupt zip)`, { file });
    count = Number(z.readBigUInt64LE(32));
    cdSize = Number(z.readBigUInt64LE(40));
    cdOffset = Number(z.readBigUInt64LE(48));
  }
  if (cdOffset + cdSize > size) throw new CheckpointError(`${file} is truncated: its zip directory lies past the end of the file`, { file });
  const cd = await readAt(h, cdOffset, cdSize);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw new CheckpointError(`${file}: corrupt zip directory`, { file });
    const method = cd.readUInt16LE(p + 10);
    let csize = cd.readUInt32LE(p + 20);
    let usize = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let local = cd.readUInt32LE(p + 42);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    // Zip64 extra field: 64-bit values for whichever fields are 0xFFFFFFFF, in this order.
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = cd.readUInt16LE(e);
      const len = cd.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (usize === 0xffffffff) { usize = Number(cd.readBigUInt64LE(q)); q += 8; }
        if (csize === 0xffffffff) { csize = Number(cd.readBigUInt64LE(q)); q += 8; }
        if (local === 0xffffffff) { local = Number(cd.readBigUInt64LE(q)); q += 8; }
      }
      e += 4 + len;
    }
    p = eEnd + commentLen;
    if (method !== 0) throw new CheckpointError(`${file}: zip entry ${name} is compressed (method ${method}); torch checkpoints store entries uncompressed`, { file });
    const lh = await readAt(h, local, 30);
    if (lh.length < 30 || lh.readUInt32LE(0) !== 0x04034b50) throw new CheckpointError(`${file}: corrupt zip entry ${name}`, { file });
    const dataOffset = local + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
    if (dataOffset + csize > size) throw new CheckpointError(`${file} is truncated: entry ${name} ends past the end of the file`, { file });
    entries.set(name, { name, dataOffset, size: usize });
  }
  return entries;
}

/** A storage reference made by persistent_load. */
interface StorageRef {
  kind: 'storage';
  dtype: SafetensorsDtype;
  key: string;
  numel: number;
}

/** A tensor made by _rebuild_tensor_v2. */
interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

interface GlobalRef {
  kind: 'global';
  module: string;
  name: string;
}

const MARK = Symbol('mark');

/**
 * Interprets the subset of pickle protocol 2–5 that torch.save emits for a state dict and returns the
 * top-level dict's entries. Never calls anything: REDUCE only understands the torch/collections globals
 * listed in the Note.
 */
function unpickleStateDict(file: string, buf: Buffer): Map<string, unknown> {
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = 0;
  const fail = (why: string): never => {
    throw new CheckpointError(`${file}: cannot read the checkpoint's pickle (${why} at byte ${p})`, { file });
  };
  const popMark = (): unknown[] => {
    const items: unknown[] = [];
    for (;;) {
      if (stack.length === 0) fail('mark not found');
      const v = stack.pop();
      if (v === MARK) return items.reverse();
      items.push(v);
    }
  };
  const readLine = (): string => {
    const end = buf.indexOf(0x0a, p);
    if (end < 0) fail('unterminated line');
    const s = buf.toString('latin1', p, end);
    p = end + 1;
    return s;
  };
  const setItems = (target: unknown, kv: unknown[]): void => {
    if (!(target instanceof Map)) fail('SETITEMS on a non-dict');
    for (let i = 0; i + 1 < kv.length; i += 2) (target as Map<unknown, unknown>).set(kv[i], kv[i + 1]);
  };
  const reduce = (fn: unknown, args: unknown): unknown => {
    const g = fn as GlobalRef;
    const a = args as unknown[];
    if (g?.kind !== 'global') fail('REDUCE of a non-global');
    const id = `${g.module}.${g.name}`;
    switch (id) {
      case 'collections.OrderedDict':
        return new Map();
      case 'torch._utils._rebuild_tensor_v2':
      case 'torch._utils._rebuild_tensor': {
        const [storage, offset, size, stride] = a as [StorageRef, number, number[], number[]];
        if (storage?.kind !== 'storage') fail('tensor without a storage');
        return { kind: 'tensor', storage, offset: Number(offset), shape: [...size].map(Number), stride: [...stride].map(Number) } satisfies TensorRef;
      }
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
        return a[0];
      default:
        // Unknown callables (e.g. torch.device, torch.Size) become opaque values; only a tensor built from one
        // would be a problem, and that fails above.
        return { kind: 'opaque', id, args: a };
    }
  };
  while (p < buf.length) {
    const op = buf[p++]!;
    switch (op) {
      case 0x80: p += 1; break; // PROTO
      case 0x95: p += 8; break; // FRAME
      case 0x2e: { // STOP
        const top = stack.pop();
        if (!(top instanceof Map)) fail('the pickle does not hold a dict (not a state dict?)');
        const out = new Map<string, unknown>();
        for (const [k, v] of top as Map<unknown, unknown>) if (typeof k === 'string') out.set(k, v);
        return out;
      }
      case 0x28: stack.push(MARK); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(buf[p]!); p += 1; break; // BININT1
      case 0x4d: stack.push(buf.readUInt16LE(p)); p += 2; break; // BININT2
      case 0x4a: stack.push(buf.readInt32LE(p)); p += 4; break; // BININT
      case 0x8a: { // LONG1
        const n = buf[p]!;
        p += 1;
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[p + i]!);
        if (n > 0 && buf[p + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(Number(v));
        break;
      }
      case 0x47: stack.push(buf.readDoubleBE(p)); p += 8; break; // BINFLOAT
      case 0x58: { const n = buf.readUInt32LE(p); p += 4; stack.push(buf.toString('utf8', p, p + n)); p += n; break; } // BINUNICODE
      case 0x8c: { const n = buf[p]!; p += 1; stack.push(buf.toString('utf8', p, p + n)); p += n; break; } // SHORT_BINUNICODE
      case 0x54: { const n = buf.readUInt32LE(p); p += 4; stack.push(buf.toString('latin1', p, p + n)); p += n; break; } // BINSTRING
      case 0x55: { const n = buf[p]!; p += 1; stack.push(buf.toString('latin1', p, p + n)); p += n; break; } // SHORT_BINSTRING
      case 0x42: { const n = buf.readUInt32LE(p); p += 4; stack.push(buf.subarray(p, p + n)); p += n; break; } // BINBYTES
      case 0x43: { const n = buf[p]!; p += 1; stack.push(buf.subarray(p, p + n)); p += n; break; } // SHORT_BINBYTES
      case 0x71: memo.set(buf[p]!, stack.at(-1)); p += 1; break; // BINPUT
      case 0x72: memo.set(buf.readUInt32LE(p), stack.at(-1)); p += 4; break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack.at(-1)); break; // MEMOIZE
      case 0x68: stack.push(memo.get(buf[p]!)); p += 1; break; // BINGET
      case 0x6a: stack.push(memo.get(buf.readUInt32LE(p))); p += 4; break; // LONG_BINGET
      case 0x63: { const module = readLine(); const name = readLine(); stack.push({ kind: 'global', module, name } satisfies GlobalRef); break; } // GLOBAL
      case 0x93: { const name = stack.pop() as string; const module = stack.pop() as string; stack.push({ kind: 'global', module, name } satisfies GlobalRef); break; } // STACK_GLOBAL
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([stack.pop()]); break; // TUPLE1
      case 0x86: { const b = stack.pop(); const a = stack.pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = stack.pop(); const b = stack.pop(); const a = stack.pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const kv = popMark(); const m = new Map(); setItems(m, kv); stack.push(m); break; } // DICT
      case 0x61: { const v = stack.pop(); (stack.at(-1) as unknown[]).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); (stack.at(-1) as unknown[]).push(...items); break; } // APPENDS
      case 0x73: { const v = stack.pop(); const k = stack.pop(); setItems(stack.at(-1), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(stack.at(-1), kv); break; } // SETITEMS
      case 0x90: { popMark(); break; } // ADDITEMS (sets are not needed)
      case 0x91: { popMark(); stack.push(new Set()); break; } // FROZENSET
      case 0x30: stack.pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(stack.at(-1)); break; // DUP
      case 0x52: { const args = stack.pop(); const fn = stack.pop(); stack.push(reduce(fn, args)); break; } // REDUCE
      case 0x81: { const args = stack.pop(); const cls = stack.pop(); stack.push(reduce(cls, args)); break; } // NEWOBJ
      case 0x62: stack.pop(); break; // BUILD: state of an OrderedDict (_metadata) or opaque object; not needed
      case 0x51: { // BINPERSID
        const pid = stack.pop() as unknown[];
        if (!Array.isArray(pid) || pid[0] !== 'storage') fail('unknown persistent id');
        const type = pid[1] as GlobalRef;
        const dtype = STORAGE_DTYPES[type?.name ?? ''];
        if (dtype === undefined) fail(`unsupported storage type ${type?.module ?? '?'}.${type?.name ?? '?'}`);
        stack.push({ kind: 'storage', dtype: dtype!, key: String(pid[2]), numel: Number(pid[4]) } satisfies StorageRef);
        break;
      }
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16)}`);
    }
  }
  return fail('no STOP opcode (truncated pickle)');
}

/** A torch checkpoint opened for positional tensor reads; see [Note: torch zip checkpoints without torch]. */
export type TorchCheckpoint = Pick<Checkpoint, 'files' | 'names' | 'has' | 'info' | 'readF32' | 'readRaw' | 'findBySuffix' | 'requireBySuffix' | 'close'>;

interface Located {
  info: TensorInfo;
  tensor: TensorRef;
  handle: FileHandle;
  storageOffset: number;
  storageBytes: number;
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expect) return false;
    expect *= shape[i]!;
  }
  return true;
}

async function openOne(file: string, into: Map<string, Located>, handles: FileHandle[]): Promise<void> {
  let h: FileHandle;
  try {
    h = await open(file, 'r');
  } catch (e) {
    throw new CheckpointError(`Cannot open checkpoint file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
  handles.push(h);
  const { size } = await h.stat();
  if (size < 22) throw new CheckpointError(`${file} is not a PyTorch checkpoint: ${size} bytes`, { file });
  const entries = await readZipDirectory(file, h, size);
  const pkl = [...entries.values()].find((e) => e.name.endsWith('/data.pkl') || e.name === 'data.pkl');
  if (!pkl) throw new CheckpointError(`${file} is a zip but not a PyTorch checkpoint (no data.pkl)`, { file });
  const root = pkl.name.slice(0, pkl.name.length - 'data.pkl'.length);
  const byteorder = entries.get(`${root}byteorder`);
  if (byteorder && (await readAt(h, byteorder.dataOffset, byteorder.size)).toString('latin1') !== 'little') {
    throw new CheckpointError(`${file} stores big-endian tensors, which are not supported`, { file });
  }
  const dict = unpickleStateDict(file, await readAt(h, pkl.dataOffset, pkl.size));
  for (const [name, v] of dict) {
    const t = v as TensorRef;
    if (t?.kind !== 'tensor') continue; // non-tensor entries (e.g. version counters) are not weights
    const entry = entries.get(`${root}data/${t.storage.key}`);
    const el = DTYPE_SIZE[t.storage.dtype];
    if (!entry) throw new CheckpointError(`Tensor "${name}" in ${file}: its storage data/${t.storage.key} is missing (truncated file?)`, { file, tensor: name });
    let numel = 1;
    for (const d of t.shape) numel *= d;
    let last = t.offset;
    for (let i = 0; i < t.shape.length; i++) last += (t.shape[i]! - 1) * t.stride[i]!;
    if (numel > 0 && (last + 1) * el > entry.size) {
      throw new CheckpointError(`Tensor "${name}" in ${file} reaches past its storage (${entry.size} bytes)`, { file, tensor: name });
    }
    if (into.has(name)) throw new CheckpointError(`Tensor "${name}" appears in both ${into.get(name)!.info.file} and ${file}`, { file, tensor: name });
    into.set(name, {
      info: { name, dtype: t.storage.dtype, shape: t.shape, file, offset: entry.dataOffset + t.offset * el, byteLength: numel * el },
      tensor: t, handle: h, storageOffset: entry.dataOffset, storageBytes: entry.size,
    });
  }
}

/**
 * Opens a torch zip checkpoint: a `pytorch_model.bin`, a `pytorch_model.bin.index.json` (sharded), or a
 * folder holding either. Throws a {@link CheckpointError} naming the file when it is missing, truncated,
 * legacy-format or not a state dict.
 */
export async function openTorchCheckpoint(path: string): Promise<TorchCheckpoint> {
  let files: string[];
  if (path.endsWith('.json')) {
    let map: Record<string, string>;
    try {
      map = (JSON.parse(await readFile(path, 'utf8')) as { weight_map: Record<string, string> }).weight_map;
    } catch (e) {
      throw new CheckpointError(`Cannot read checkpoint index ${path}: ${(e as Error).message}`, { file: path });
    }
    files = [...new Set(Object.values(map))].sort().map((f) => join(dirname(path), f));
  } else files = [path];
  const located = new Map<string, Located>();
  const handles: FileHandle[] = [];
  try {
    for (const f of files) await openOne(f, located, handles);
  } catch (e) {
    await Promise.all(handles.map((h) => h.close()));
    throw e;
  }
  const names = [...located.keys()].sort();
  const label = files.join(', ');
  const get = (name: string): Located => {
    const l = located.get(name);
    if (!l) throw new CheckpointError(`Tensor "${name}" is missing from checkpoint ${label}`, { file: label, tensor: name });
    return l;
  };
  async function readRaw(name: string): Promise<RawTensor> {
    const l = get(name);
    const { info, tensor } = l;
    if (isContiguous(tensor.shape, tensor.stride)) {
      const bytes = await readAt(l.handle, info.offset, info.byteLength);
      if (bytes.length < info.byteLength) throw new CheckpointError(`${info.file} ended early while reading tensor "${name}"`, { file: info.file, tensor: name });
      return { dtype: info.dtype, shape: [...info.shape], bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) };
    }
    // Strided: read the storage span it covers and gather element by element.
    const el = DTYPE_SIZE[info.dtype];
    let maxOff = 0;
    for (let i = 0; i < tensor.shape.length; i++) maxOff += (tensor.shape[i]! - 1) * tensor.stride[i]!;
    const span = await readAt(l.handle, info.offset, (maxOff + 1) * el);
    const out = new Uint8Array(info.byteLength);
    const idx = new Array<number>(tensor.shape.length).fill(0);
    for (let n = 0; n < info.byteLength / el; n++) {
      let off = 0;
      for (let i = 0; i < idx.length; i++) off += idx[i]! * tensor.stride[i]!;
      out.set(span.subarray(off * el, off * el + el), n * el);
      for (let i = idx.length - 1; i >= 0; i--) {
        if (++idx[i]! < tensor.shape[i]!) break;
        idx[i] = 0;
      }
    }
    return { dtype: info.dtype, shape: [...info.shape], bytes: out };
  }
  function findBySuffix(suffix: string): string | undefined {
    const hits = names.filter((n) => n === suffix || n.endsWith('.' + suffix));
    if (hits.length > 1) throw new CheckpointError(`Tensor suffix "${suffix}" is ambiguous in checkpoint ${label}: ${hits.slice(0, 5).join(', ')}`, { file: label, tensor: suffix });
    return hits[0];
  }
  return {
    files,
    names: () => [...names],
    has: (n) => located.has(n),
    info: (n) => ({ ...get(n).info, shape: [...get(n).info.shape] }),
    readRaw,
    async readF32(name) {
      const r = await readRaw(name);
      return toF32(r.dtype, r.bytes, name, get(name).info.file);
    },
    findBySuffix,
    requireBySuffix(suffix) {
      const n = findBySuffix(suffix);
      if (n === undefined) throw new CheckpointError(`No tensor named "${suffix}" or "*.${suffix}" in checkpoint ${label}`, { file: label, tensor: suffix });
      return n;
    },
    async close() {
      await Promise.all(handles.map((h) => h.close()));
    },
  };
}

/** True when the file starts like a zip archive (torch ≥ 1.6 checkpoints do). */
export async function isTorchZip(path: string): Promise<boolean> {
  const h = await open(path, 'r');
  try {
    const b = await readAt(h, 0, 4);
    return b.length === 4 && b.readUInt32LE(0) === 0x04034b50;
  } finally {
    await h.close();
  }
}
