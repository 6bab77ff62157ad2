/**
 * @file Reads a Llama decoder's frozen weights back out of a model pack (decoder.onnx + decoder.onnx.data, and
 * embed.safetensors for prompt tokens), so that a user who converted a model and deleted the multi-GB download
 * can still fine-tune the adapter. Any Node process.
 *
 * [Note: Decoder weights from a pack]
 * The converter (model/llama/build-decoder.ts) stores every projection transposed (`<name>.weight_t`
 * [in, out]) in float32 or float16, or as MatMulNBits int4 blocks (`<name>.qweight` [out, blocks, 16] +
 * `<name>.scales`); q/k/v are fused into `layers.N.attn.qkv_proj` and gate/up into `layers.N.mlp.gate_up_proj`
 * (rows concatenated in that order). Reading transposes back to Hugging Face's [out, in], dequantizes int4
 * (model/llama/quantize.ts, the converter's own inverse) and splits the fused rows. RMSNorm weights are stored
 * as they are. An int4 pack gives int4-rounded weights: training then sees the decoder inference runs.
 */
import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import onnxProto from 'onnx-proto';
import { dequantizeInt4, transpose2d } from '../../model/llama/quantize';
import { openCheckpoint, type Checkpoint } from '../../model/safetensors';
import { f16ToF32 } from '../../model/tensor/half';
import type { LlamaDims } from '../reference/llama-reference';
import { checkpointEmbedder } from './checkpoint-source';
import type { LlamaWeightSource } from './llama-train-graph';

const { onnx } = onnxProto;

/** True when `dir` is a model pack with a decoder graph (not a checkpoint folder). */
export function isPackDir(dir: string): boolean {
  return existsSync(join(dir, 'manifest.json')) && existsSync(join(dir, 'decoder.onnx'));
}

interface StoredTensor {
  readonly dims: number[];
  readonly dataType: number;
  readonly raw: Uint8Array | null;
  readonly external: { readonly file: string; readonly offset: number; readonly length: number } | null;
}

/** An opened pack decoder: its files (for cache invalidation), a weight source, an embedder, close. */
export interface PackDecoder {
  readonly files: readonly string[];
  weightSource(dims: LlamaDims): LlamaWeightSource;
  embedder(hidden: number): (ids: readonly number[]) => Promise<Float32Array>;
  close(): Promise<void>;
}

const FLOAT = 1;
const UINT8 = 2;
const FLOAT16 = 10;

/** Opens the decoder of the pack in `dir`. Errors name the file and the tensor. */
export async function openPackDecoder(dir: string): Promise<PackDecoder> {
  const graphPath = join(dir, 'decoder.onnx');
  const model = onnx.ModelProto.decode(await readFile(graphPath));
  const tensors = new Map<string, StoredTensor>();
  const dataFiles = new Set<string>();
  for (const t of model.graph?.initializer ?? []) {
    const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = kv.get('location');
    const external = location ? { file: join(dirname(graphPath), location), offset: Number(kv.get('offset') ?? 0), length: Number(kv.get('length') ?? 0) } : null;
    if (external) dataFiles.add(external.file);
    tensors.set(t.name ?? '', {
      dims: (t.dims ?? []).map((d) => Number(d)),
      dataType: t.dataType ?? 0,
      raw: external ? null : (t.rawData ?? new Uint8Array(0)),
      external,
    });
  }
  const handles = new Map<string, Awaited<ReturnType<typeof open>>>();
  const bytesOf = async (name: string, t: StoredTensor): Promise<Uint8Array> => {
    if (t.raw) return t.raw;
    const ext = t.external!;
    let h = handles.get(ext.file);
    if (!h) {
      h = await open(ext.file, 'r');
      handles.set(ext.file, h);
    }
    const buf = Buffer.alloc(ext.length);
    const { bytesRead } = await h.read(buf, 0, ext.length, ext.offset);
    if (bytesRead !== ext.length) throw new Error(`${ext.file} is truncated: tensor "${name}" needs ${ext.length} bytes at ${ext.offset}`);
    return buf;
  };
  const floats = async (name: string): Promise<{ data: Float32Array; dims: number[] }> => {
    const t = tensors.get(name);
    if (!t) throw new Error(`${graphPath} has no tensor "${name}": it was not built by this app's converter`);
    const b = await bytesOf(name, t);
    // An aligned copy (protobuf and Buffer give views into larger buffers at any offset).
    const copy = new Uint8Array(b.byteLength);
    copy.set(b);
    if (t.dataType === FLOAT) return { data: new Float32Array(copy.buffer, 0, copy.byteLength / 4), dims: t.dims };
    if (t.dataType === FLOAT16) return { data: f16ToF32(new Uint16Array(copy.buffer, 0, copy.byteLength / 2)), dims: t.dims };
    throw new Error(`${graphPath}: tensor "${name}" has ONNX type ${t.dataType}, expected float32 or float16`);
  };
  /** A projection in Hugging Face layout [n (out), k (in)]. */
  const linear = async (name: string, n: number, k: number): Promise<Float32Array> => {
    if (tensors.has(`${name}.weight_t`)) {
      const { data, dims } = await floats(`${name}.weight_t`);
      if (dims[0] !== k || dims[1] !== n) throw new Error(`${graphPath}: "${name}.weight_t" is [${dims.join(', ')}], expected [${k}, ${n}]`);
      return transpose2d(data, k, n);
    }
    const qt = tensors.get(`${name}.qweight`);
    if (!qt || qt.dataType !== UINT8) throw new Error(`${graphPath} has neither "${name}.weight_t" nor "${name}.qweight"`);
    const packed = await bytesOf(`${name}.qweight`, qt);
    const blocks = qt.dims[1] ?? 0;
    const blockSize = (qt.dims[2] ?? 16) * 2;
    const { data: scales } = await floats(`${name}.scales`);
    return dequantizeInt4({ packed, scales, n, k, blocks, blockSize });
  };
  const rows = (w: Float32Array, cols: number, from: number, count: number): Float32Array => w.slice(from * cols, (from + count) * cols);
  let embedCk: Checkpoint | null = null;
  return {
    files: [graphPath, ...dataFiles, join(dir, 'embed.safetensors')],
    weightSource(dims) {
      const H = dims.hiddenSize;
      const hd = dims.headDim;
      const nh = dims.numHeads;
      const kvh = dims.numKvHeads;
      const I = dims.intermediateSize;
      return {
        dims,
        async layer(i) {
          const L = `layers.${i}`;
          const qkv = await linear(`${L}.attn.qkv_proj`, (nh + 2 * kvh) * hd, H);
          const gateUp = await linear(`${L}.mlp.gate_up_proj`, 2 * I, H);
          return {
            inputNorm: (await floats(`${L}.input_layernorm.weight`)).data,
            q: rows(qkv, H, 0, nh * hd),
            k: rows(qkv, H, nh * hd, kvh * hd),
            v: rows(qkv, H, (nh + kvh) * hd, kvh * hd),
            o: await linear(`${L}.attn.o_proj`, H, nh * hd),
            postNorm: (await floats(`${L}.post_attention_layernorm.weight`)).data,
            gate: rows(gateUp, H, 0, I),
            up: rows(gateUp, H, I, I),
            down: await linear(`${L}.mlp.down_proj`, H, I),
          };
        },
        finalNorm: async () => (await floats('norm.weight')).data,
        lmHead: () => linear('lm_head', dims.vocabSize, H),
      };
    },
    embedder(hidden) {
      let inner: ((ids: readonly number[]) => Promise<Float32Array>) | null = null;
      return async (ids) => {
        if (!inner) {
          embedCk ??= await openCheckpoint(join(dir, 'embed.safetensors'));
          inner = checkpointEmbedder(embedCk, hidden);
        }
        return inner(ids);
      };
    },
    async close() {
      for (const h of handles.values()) await h.close();
      handles.clear();
      await embedCk?.close();
    },
  };
}
