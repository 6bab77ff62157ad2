/**
 * @file ONNX ModelProto writer: a small graph builder with streamed external data (any Node process).
 *
 * [Note: Building ONNX graphs in TypeScript]
 * The encoder, decoder and training graphs are generated here from checkpoint weights, the way
 * onnxruntime-genai's Python model builder does it, so the app needs no Python. The builder wraps the
 * `onnx-proto` protobufjs classes (ONNX 1.10 schema: everything ORT 1.30 needs for IR version 10).
 *
 * - Output: IR version 10 (ORT 1.30 rejects the IR 11+ that newer python onnx writes), default-domain
 *   opset 17 (configurable) and com.microsoft opset 1.
 * - Bytes are deterministic: same calls, same bytes (nodes, initializers and attributes keep call order).
 * - Initializers of at least `externalThresholdBytes` (default 1 KiB) go to `<model>.onnx.data` with
 *   `location`/`offset`/`length`, because a protobuf message cannot exceed 2 GB. When the builder is
 *   created with `outPath`, those bytes are written to disk the moment they are added (synchronous
 *   positional writes) and dropped, so converting a 7B model holds one tensor at a time. Without
 *   `outPath` they are kept in memory until {@link GraphBuilder.save} writes them one by one.
 * - Offsets of tensors of 1 MiB or more are aligned to 64 KiB (the allocation granularity that lets ORT
 *   memory-map them on every OS); smaller ones to 64 bytes.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import { f32ToF16 } from '../tensor/half';

const { onnx } = onnxProto;

/** Element types the builder writes. */
export type OnnxDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE: Readonly<Record<OnnxDtype, number>> = {
  float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11, bfloat16: 16,
};

const DTYPE_BYTES: Readonly<Record<OnnxDtype, number>> = {
  float32: 4, uint8: 1, int8: 1, int32: 4, int64: 8, bool: 1, float16: 2, float64: 8, bfloat16: 2,
};

/** A tensor dimension: a fixed size or a symbolic name such as "batch". */
export type Dim = number | string;

/** Attribute value wrappers; plain numbers become INT when integral, else FLOAT (use {@link attrFloat} for 1.0). */
export type AttrValue =
  | number
  | string
  | number[]
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] }
  | { kind: 'strings'; value: string[] }
  | { kind: 'tensor'; dtype: OnnxDtype; dims: number[]; bytes: Uint8Array };

/** A FLOAT attribute even when the value is integral. */
export function attrFloat(value: number): AttrValue {
  return { kind: 'float', value };
}
/** A FLOATS attribute. */
export function attrFloats(value: number[]): AttrValue {
  return { kind: 'floats', value };
}
/** An INTS attribute (also for an empty list). */
export function attrInts(value: number[]): AttrValue {
  return { kind: 'ints', value };
}

/** Options for {@link GraphBuilder}. */
export interface GraphBuilderOptions {
  name?: string;
  /** Where the model will be saved; enables streaming external data to `outPath + '.data'`. */
  outPath?: string;
  /** Initializers with at least this many bytes go to external data (default 1024). Infinity keeps all inline. */
  externalThresholdBytes?: number;
  /** Default-domain opset (default 17). */
  opset?: number;
  producerName?: string;
  docString?: string;
}

/** Error raised while building or saving a graph. */
export class GraphBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GraphBuildError';
  }
}

type TensorProtoInit = ConstructorParameters<typeof onnx.TensorProto>[0] & object;

function dimsOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Builds one ONNX graph; see [Note: Building ONNX graphs in TypeScript]. */
export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly names = new Set<string>();
  private readonly reserved = new Set<string>();
  private readonly counters = new Map<string, number>();
  private readonly pending: { offset: number; bytes: Uint8Array }[] = [];
  private readonly threshold: number;
  private readonly outPath: string | undefined;
  private readonly dataPath: string | undefined;
  private dataFd: number | undefined;
  private dataOffset = 0;
  private usedMicrosoft = false;
  private saved = false;

  constructor(private readonly options: GraphBuilderOptions = {}) {
    this.threshold = options.externalThresholdBytes ?? 1024;
    this.outPath = options.outPath === undefined ? undefined : resolve(options.outPath);
    // Streamed data goes to a temporary name and is renamed on save, so a failed build never leaves a
    // half-written model beside a valid-looking .onnx.data.
    this.dataPath = this.outPath === undefined ? undefined : `${this.outPath}.data.partial`;
  }

  /**
   * A name not used yet in this graph, from `prefix` ("prefix", "prefix_1", …). It is reserved: pass it
   * once as an output or initializer name.
   */
  uniqueName(prefix: string): string {
    let n = this.counters.get(prefix) ?? 0;
    let name = n === 0 ? prefix : `${prefix}_${n}`;
    while (this.names.has(name) || this.reserved.has(name)) name = `${prefix}_${++n}`;
    this.counters.set(prefix, n + 1);
    this.reserved.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new GraphBuildError(`Duplicate value name "${name}" in graph ${this.options.name ?? ''}`);
    this.reserved.delete(name);
    this.names.add(name);
    return name;
  }

  private valueInfo(name: string, dtype: OnnxDtype, dims: readonly Dim[]): InstanceType<typeof onnx.ValueInfoProto> {
    return onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType: ONNX_DTYPE[dtype],
          shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
        },
      },
    });
  }

  /** Declares a graph input; returns its name. */
  input(name: string, dtype: OnnxDtype, dims: readonly Dim[]): string {
    this.inputs.push(this.valueInfo(this.claim(name), dtype, dims));
    return name;
  }

  /** Declares a graph output (the value must be produced by a node or be an input). */
  output(name: string, dtype: OnnxDtype, dims: readonly Dim[]): void {
    this.outputs.push(this.valueInfo(name, dtype, dims));
  }

  /**
   * Adds an initializer from raw little-endian bytes. Returns its name (`name` or a unique one from
   * "const"). Large ones are written to external data at once (see the Note).
   */
  initializer(name: string | undefined, dtype: OnnxDtype, dims: readonly number[], bytes: Uint8Array): string {
    const n = this.claim(name ?? this.uniqueName('const'));
    const need = dimsOf(dims) * DTYPE_BYTES[dtype];
    if (bytes.byteLength !== need) {
      throw new GraphBuildError(`Initializer "${n}": ${bytes.byteLength} bytes given but ${dtype} [${dims.join(', ')}] needs ${need}`);
    }
    const base: TensorProtoInit = { name: n, dims: [...dims], dataType: ONNX_DTYPE[dtype] };
    if (bytes.byteLength >= this.threshold) {
      const align = bytes.byteLength >= 1 << 20 ? 65536 : 64;
      const offset = Math.ceil(this.dataOffset / align) * align;
      this.writeData(offset, bytes);
      this.dataOffset = offset + bytes.byteLength;
      this.initializers.push(onnx.TensorProto.create({
        ...base,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: '\u0000' }, // patched with the file name at save time
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(bytes.byteLength) },
        ],
      }));
    } else {
      this.initializers.push(onnx.TensorProto.create({ ...base, rawData: bytes.slice() }));
    }
    return n;
  }

  private writeData(offset: number, bytes: Uint8Array): void {
    if (this.dataPath === undefined) {
      this.pending.push({ offset, bytes: bytes.slice() });
      return;
    }
    this.dataFd ??= openSync(this.dataPath, 'w');
    let done = 0;
    while (done < bytes.byteLength) {
      done += writeSync(this.dataFd, bytes, done, Math.min(bytes.byteLength - done, 1 << 30), offset + done);
    }
  }

  /** Adds a float32 initializer. */
  initF32(name: string | undefined, data: Float32Array, dims: readonly number[]): string {
    return this.initializer(name, 'float32', dims, bytesOf(data));
  }

  /** Adds a float16 initializer from float32 values (rounded to nearest even) or from float16 bit patterns. */
  initF16(name: string | undefined, data: Float32Array | Uint16Array, dims: readonly number[]): string {
    const bits = data instanceof Float32Array ? f32ToF16(data) : data;
    return this.initializer(name, 'float16', dims, bytesOf(bits));
  }

  /** Adds an int64 initializer. */
  initI64(name: string | undefined, values: readonly number[] | BigInt64Array, dims: readonly number[]): string {
    const arr = values instanceof BigInt64Array ? values : BigInt64Array.from(values, (v) => BigInt(v));
    return this.initializer(name, 'int64', dims, bytesOf(arr));
  }

  /** Adds an int32 initializer. */
  initI32(name: string | undefined, values: readonly number[] | Int32Array, dims: readonly number[]): string {
    const arr = values instanceof Int32Array ? values : Int32Array.from(values);
    return this.initializer(name, 'int32', dims, bytesOf(arr));
  }

  /** A float32 constant (scalar when dims is omitted and one value is given). */
  constF32(values: readonly number[] | Float32Array, dims?: readonly number[]): string {
    const arr = values instanceof Float32Array ? values : Float32Array.from(values);
    return this.initF32(undefined, arr, dims ?? (arr.length === 1 ? [] : [arr.length]));
  }

  /** A float16 constant from float32 values. */
  constF16(values: readonly number[] | Float32Array, dims?: readonly number[]): string {
    const arr = values instanceof Float32Array ? values : Float32Array.from(values);
    return this.initF16(undefined, arr, dims ?? (arr.length === 1 ? [] : [arr.length]));
  }

  /** A float constant of `dtype` (float32 or float16). */
  constFloat(dtype: 'float32' | 'float16', values: readonly number[] | Float32Array, dims?: readonly number[]): string {
    return dtype === 'float16' ? this.constF16(values, dims) : this.constF32(values, dims);
  }

  /** An int64 constant; a 1-D tensor unless dims says otherwise ([] for a scalar). */
  constI64(values: readonly number[], dims?: readonly number[]): string {
    return this.initI64(undefined, values, dims ?? [values.length]);
  }

  /**
   * Adds a node. `inputs` may contain '' for an omitted optional input. `outputs` is a list of names ('' for an
   * unused optional output) or a
   * count (names generated from the op type). Returns the output names.
   */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[] | number = 1,
    attrs: Readonly<Record<string, AttrValue>> = {},
    opts: { domain?: string; name?: string } = {},
  ): string[] {
    const outs = typeof outputs === 'number'
      ? Array.from({ length: outputs }, () => this.claim(this.uniqueName(`${opts.name ?? opType}_out`)))
      : outputs.map((o) => (o === '' ? o : this.claim(o)));
    const domain = opts.domain ?? '';
    if (domain === 'com.microsoft') this.usedMicrosoft = true;
    this.nodes.push(onnx.NodeProto.create({
      opType,
      domain,
      name: this.claim(this.uniqueName(opts.name ?? opType)),
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => encodeAttr(k, v)),
    }));
    return outs;
  }

  /** Adds a one-output node and returns the output name. */
  op(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrValue>> = {}, opts: { domain?: string; name?: string; output?: string } = {}): string {
    const nodeOpts = { ...(opts.domain === undefined ? {} : { domain: opts.domain }), ...(opts.name === undefined ? {} : { name: opts.name }) };
    return this.node(opType, inputs, opts.output === undefined ? 1 : [opts.output], attrs, nodeOpts)[0]!;
  }

  /** A com.microsoft contrib op with one output. */
  msOp(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrValue>> = {}, output?: string): string {
    return this.op(opType, inputs, attrs, { domain: 'com.microsoft', ...(output === undefined ? {} : { output }) });
  }

  /** Number of bytes of external data so far. */
  get externalBytes(): number {
    return this.dataOffset;
  }

  /** Serializes the ModelProto; external tensors point at `dataFileName`. */
  toBytes(dataFileName: string): Uint8Array {
    for (const t of this.initializers) {
      const loc = t.externalData?.[0];
      if (loc && loc.key === 'location') loc.value = dataFileName;
    }
    const opsetImport = [{ domain: '', version: this.options.opset ?? 17 }];
    if (this.usedMicrosoft) opsetImport.push({ domain: 'com.microsoft', version: 1 });
    const model = onnx.ModelProto.create({
      irVersion: 10,
      producerName: this.options.producerName ?? 'musilingo-desktop',
      docString: this.options.docString ?? '',
      opsetImport,
      graph: onnx.GraphProto.create({
        name: this.options.name ?? 'graph',
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }

  /**
   * Writes the model to `path` (default: `outPath`) and its external data to `path + '.data'` (only when
   * some initializer went external). A builder is saved once.
   */
  async save(path?: string): Promise<void> {
    if (this.saved) throw new GraphBuildError('GraphBuilder.save called twice');
    const target = resolve(path ?? this.outPath ?? '');
    if (path === undefined && this.outPath === undefined) throw new GraphBuildError('GraphBuilder.save needs a path (no outPath was given)');
    if (this.outPath !== undefined && target !== this.outPath) {
      throw new GraphBuildError(`This builder streams its weights next to ${this.outPath}; save it there, not at ${target}`);
    }
    this.saved = true;
    const dataFile = `${target}.data`;
    const hasData = this.dataOffset > 0;
    try {
      if (this.dataFd !== undefined) {
        closeSync(this.dataFd);
        this.dataFd = undefined;
        await rename(this.dataPath!, dataFile);
      } else if (hasData) {
        const h = await open(dataFile, 'w');
        try {
          for (const p of this.pending) await h.write(p.bytes, 0, p.bytes.byteLength, p.offset);
        } finally {
          await h.close();
        }
        this.pending.length = 0;
      } else {
        await rm(dataFile, { force: true }); // a stale weights file from an earlier build would mislead
      }
      const h = await open(target, 'w');
      try {
        await h.write(this.toBytes(basename(dataFile)));
      } finally {
        await h.close();
      }
    } catch (e) {
      throw new GraphBuildError(`Cannot write ONNX model ${target}: ${(e as Error).message}`);
    }
  }

  /** Abandons a streamed build: closes and deletes the partial data file. */
  async discard(): Promise<void> {
    if (this.dataFd !== undefined) {
      closeSync(this.dataFd);
      this.dataFd = undefined;
    }
    if (this.dataPath !== undefined) await rm(this.dataPath, { force: true });
  }
}

function encodeAttr(name: string, v: AttrValue): InstanceType<typeof onnx.AttributeProto> {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') {
    return Number.isInteger(v)
      ? onnx.AttributeProto.create({ name, type: T.INT, i: v })
      : onnx.AttributeProto.create({ name, type: T.FLOAT, f: v });
  }
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) {
    return v.every(Number.isInteger)
      ? onnx.AttributeProto.create({ name, type: T.INTS, ints: v })
      : onnx.AttributeProto.create({ name, type: T.FLOATS, floats: v });
  }
  switch (v.kind) {
    case 'float':
      return onnx.AttributeProto.create({ name, type: T.FLOAT, f: v.value });
    case 'floats':
      return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: v.value });
    case 'ints':
      return onnx.AttributeProto.create({ name, type: T.INTS, ints: v.value });
    case 'strings':
      return onnx.AttributeProto.create({ name, type: T.STRINGS, strings: v.value.map((s) => new TextEncoder().encode(s)) });
    case 'tensor':
      return onnx.AttributeProto.create({
        name,
        type: T.TENSOR,
        t: { dims: v.dims, dataType: ONNX_DTYPE[v.dtype], rawData: v.bytes },
      });
  }
}
