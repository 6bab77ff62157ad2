/**
 * @file The two contenders of bench/cpu-decode.ts and bench/captions-cpu.ts: a random float16 Llama
 * checkpoint, the same weights as a Q4_0 GGUF, and one child-process run of each (ours: generateTokens on
 * the CPU EP; llama.cpp: node-llama-cpp 3.21.1's prebuilt CPU binary). See bench/cpu-decode.ts.
 */
import { open, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Token } from 'node-llama-cpp';
import * as ort from 'onnxruntime-node';
import { decoderSpec } from '../../model/llama/build-decoder';
import { parseLlamaConfig } from '../../model/llama/config';
import type { LlamaConfig } from '../../model/llama/config';
import { generateTokens, tableEmbedder } from '../../model/llama/generate';
import { quantizeInt4 } from '../../model/llama/quantize';
import type { QuantizedInt4 } from '../../model/llama/quantize';
import { openCheckpoint } from '../../model/safetensors';
import { f32ToF16 } from '../../model/tensor/half';
import { int4ToQ4_0, writeGguf } from './gguf';
import { writeSafetensorsStreaming } from './safetensors-stream';
import type { GgufTensor, GgufValue } from './gguf';

/**
 * Decoder shape and run settings. `N` new tokens per row; `newPerBatch`, when given, overrides it per entry of
 * `batches` (bench/cpu-decode.ts's `--new 64,32`: fewer at batch 8 keeps the 7B run inside its time budget).
 */
export interface Shape { H: number; L: number; I: number; V: number; heads: number; P: number; N: number; threads: number; batches: number[]; newPerBatch?: number[] }

/** New tokens per row at the `i`-th batch size of `s`. */
export function newTokensAt(s: Shape, i: number): number {
  return s.newPerBatch?.[i] ?? s.N;
}

export function llamaConfig(s: Shape): LlamaConfig {
  return parseLlamaConfig({
    model_type: 'llama', hidden_size: s.H, num_attention_heads: s.heads, num_key_value_heads: s.heads,
    intermediate_size: s.I, num_hidden_layers: s.L, vocab_size: s.V, rms_norm_eps: 1e-6, max_position_embeddings: 2048,
  });
}

/**
 * Deterministic float16 noise in [-scale, scale] (+ base). [Note: Tiled random weights] Drawing and converting
 * every element in JavaScript took about 35 s per GB of checkpoint on this machine, a quarter of the bench's
 * 15-minute budget at the 7B shape; so one block of NOISE_BLOCK values is drawn per (scale, base) and each
 * tensor copies it cyclically from a seed-dependent offset. The block length is prime, so rows of any
 * power-of-two width do not repeat in step. Only speed is measured: what the values are does not matter, as
 * long as both contenders get the same ones.
 */
const NOISE_BLOCK = 1_000_003;
const noiseBlocks = new Map<string, Uint16Array>();

function noiseBlock(scale: number, base: number): Uint16Array {
  const key = `${scale} ${base}`;
  let block = noiseBlocks.get(key);
  if (!block) {
    const f = new Float32Array(NOISE_BLOCK);
    let s = 12345;
    for (let i = 0; i < NOISE_BLOCK; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      f[i] = base + ((s / 2 ** 32) * 2 - 1) * scale;
    }
    block = f32ToF16(f);
    noiseBlocks.set(key, block);
  }
  return block;
}

function randomF16(n: number, seed: number, scale: number, base = 0): Uint8Array {
  const block = noiseBlock(scale, base);
  const out = new Uint16Array(n);
  let from = (Math.imul(seed, 2654435761) >>> 0) % NOISE_BLOCK;
  for (let at = 0; at < n;) {
    const len = Math.min(n - at, NOISE_BLOCK - from);
    out.set(block.subarray(from, from + len), at);
    at += len;
    from = 0;
  }
  return new Uint8Array(out.buffer);
}

interface Spec { name: string; shape: number[]; scale: number; base?: number }

function checkpointSpecs(s: Shape): Spec[] {
  const specs: Spec[] = [
    { name: 'model.embed_tokens.weight', shape: [s.V, s.H], scale: 0.5 },
    { name: 'lm_head.weight', shape: [s.V, s.H], scale: 0.05 },
    { name: 'model.norm.weight', shape: [s.H], scale: 0.1, base: 1 },
  ];
  for (let l = 0; l < s.L; l++) {
    const p = `model.layers.${l}.`;
    for (const m of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) specs.push({ name: `${p}self_attn.${m}.weight`, shape: [s.H, s.H], scale: 0.05 });
    specs.push({ name: `${p}mlp.gate_proj.weight`, shape: [s.I, s.H], scale: 0.05 });
    specs.push({ name: `${p}mlp.up_proj.weight`, shape: [s.I, s.H], scale: 0.05 });
    specs.push({ name: `${p}mlp.down_proj.weight`, shape: [s.H, s.I], scale: 0.05 });
    specs.push({ name: `${p}input_layernorm.weight`, shape: [s.H], scale: 0.1, base: 1 });
    specs.push({ name: `${p}post_attention_layernorm.weight`, shape: [s.H], scale: 0.1, base: 1 });
  }
  return specs;
}

/** Writes the float16 safetensors checkpoint one tensor at a time (a 7B one does not fit in memory twice). */
export async function writeCheckpoint(path: string, s: Shape): Promise<void> {
  await writeSafetensorsStreaming(path, checkpointSpecs(s).map((t, i) => ({
    name: t.name,
    dtype: 'F16' as const,
    shape: t.shape,
    fill: (n: number) => randomF16(n, (i + 1) * 7919, t.scale, t.base ?? 0),
  })));
}

/**
 * int4 blocks of a float32-activation MatMulNBits decoder graph, read back from its external data, with the
 * fused rows split as the builder fused them (q/k/v, gate/up). [Note: GGUF from the built decoder] Quantizing
 * the 7B weights a second time for the GGUF took as long as building the decoder (about 4 minutes here), and
 * the blocks are the builder's anyway: reading them back gives the same Q4_0 bytes in the time of a copy.
 */
async function decoderBlocks(decoderPath: string): Promise<{ rows: (name: string, from: number, n: number, k: number) => Promise<QuantizedInt4>; close: () => Promise<void> }> {
  const { default: onnxProto } = await import('onnx-proto');
  const model = onnxProto.onnx.ModelProto.decode(await readFile(decoderPath));
  // Large initializers live in the external data file; small ones (a tiny shape's scales) inline.
  const where = new Map<string, { offset: number; length: number; dataType: number; raw: Uint8Array | null }>();
  let dataFile = '';
  for (const t of model.graph?.initializer ?? []) {
    if (!t.name) continue;
    const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = kv.get('location');
    if (location) dataFile = join(dirname(decoderPath), location);
    const raw = location ? null : (t.rawData ?? null);
    where.set(t.name, { offset: Number(kv.get('offset') ?? 0), length: location ? Number(kv.get('length') ?? 0) : (raw?.length ?? 0), dataType: t.dataType ?? 0, raw });
  }
  const h = dataFile ? await open(dataFile, 'r') : undefined;
  const read = async (name: string, byteFrom: number, bytes: number): Promise<Uint8Array> => {
    const at = where.get(name);
    if (!at) throw new Error(`${decoderPath} has no initializer ${name}`);
    if (byteFrom + bytes > at.length) throw new RangeError(`${name}: bytes ${byteFrom}..${byteFrom + bytes} past its ${at.length}`);
    const buf = new Uint8Array(bytes);
    if (at.raw) buf.set(at.raw.subarray(byteFrom, byteFrom + bytes));
    else await h!.read(buf, 0, bytes, at.offset + byteFrom);
    return buf;
  };
  return {
    async rows(name, from, n, k) {
      const blocks = k / 32;
      if (where.get(`${name}.scales`)?.dataType !== 1) throw new Error(`${decoderPath}: ${name}.scales is not float32 (build the decoder with float32 activations)`);
      const packed = await read(`${name}.qweight`, from * blocks * 16, n * blocks * 16);
      const sb = await read(`${name}.scales`, from * blocks * 4, n * blocks * 4);
      return { packed, scales: new Float32Array(sb.buffer, 0, n * blocks), n, k, blocks, blockSize: 32 };
    },
    close: async () => h?.close(),
  };
}

/**
 * The same weights as a Q4_0 GGUF (norms float32, embedding float16 as in the checkpoint). With `decoderPath`
 * (an int4 graph built from `ckPath` with float32 activations) the int4 blocks are copied from that graph
 * instead of quantizing the checkpoint again (see [Note: GGUF from the built decoder]).
 */
export async function writeLlamaGguf(path: string, ckPath: string, s: Shape, decoderPath?: string): Promise<void> {
  const ck = await openCheckpoint(ckPath);
  const blocks = decoderPath ? await decoderBlocks(decoderPath) : undefined;
  const hd = s.H / s.heads;
  const tokens: string[] = ['<unk>', '<s>', '</s>'];
  const types: number[] = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  for (let i = tokens.length; i < s.V; i++) {
    tokens.push(`▁t${i}`);
    types.push(1);
  }
  if (tokens.length !== s.V) throw new RangeError(`--vocab must be at least ${tokens.length} (3 specials + 256 byte tokens)`);
  const meta: Record<string, GgufValue> = {
    'general.architecture': { type: 'string', value: 'llama' },
    'general.name': { type: 'string', value: 'musilingo-bench-random' },
    'general.file_type': { type: 'uint32', value: 2 }, // MOSTLY_Q4_0
    'llama.context_length': { type: 'uint32', value: 2048 },
    'llama.embedding_length': { type: 'uint32', value: s.H },
    'llama.block_count': { type: 'uint32', value: s.L },
    'llama.feed_forward_length': { type: 'uint32', value: s.I },
    'llama.rope.dimension_count': { type: 'uint32', value: hd },
    'llama.attention.head_count': { type: 'uint32', value: s.heads },
    'llama.attention.head_count_kv': { type: 'uint32', value: s.heads },
    'llama.attention.layer_norm_rms_epsilon': { type: 'float32', value: 1e-6 },
    'llama.rope.freq_base': { type: 'float32', value: 10000 },
    'tokenizer.ggml.model': { type: 'string', value: 'llama' },
    'tokenizer.ggml.tokens': { type: 'array', of: 'string', value: tokens },
    'tokenizer.ggml.scores': { type: 'array', of: 'float32', value: Float32Array.from(tokens, (_, i) => -i) },
    'tokenizer.ggml.token_type': { type: 'array', of: 'int32', value: types },
    'tokenizer.ggml.bos_token_id': { type: 'uint32', value: 1 },
    'tokenizer.ggml.eos_token_id': { type: 'uint32', value: 2 },
    'tokenizer.ggml.unknown_token_id': { type: 'uint32', value: 0 },
  };
  const q4 = (name: string, n: number, k: number, from?: { graph: string; row: number }): GgufTensor => ({
    name: '', dims: [k, n], type: 'Q4_0',
    data: async () => int4ToQ4_0(blocks && from ? await blocks.rows(from.graph, from.row, n, k) : quantizeInt4(await ck.readF32(name), n, k, 32)),
  });
  const f32 = (name: string, n: number): GgufTensor => ({ name: '', dims: [n], type: 'F32', data: async () => new Uint8Array((await ck.readF32(name)).buffer) });
  const named = (t: GgufTensor, name: string): GgufTensor => ({ ...t, name });
  const tensors: GgufTensor[] = [
    { name: 'token_embd.weight', dims: [s.H, s.V], type: 'F16', data: async () => (await ck.readRaw('model.embed_tokens.weight')).bytes },
  ];
  for (let l = 0; l < s.L; l++) {
    const p = `model.layers.${l}.`;
    const b = `blk.${l}.`;
    tensors.push(
      named(f32(`${p}input_layernorm.weight`, s.H), `${b}attn_norm.weight`),
      named(q4(`${p}self_attn.q_proj.weight`, s.H, s.H, { graph: `layers.${l}.attn.qkv_proj`, row: 0 }), `${b}attn_q.weight`),
      named(q4(`${p}self_attn.k_proj.weight`, s.H, s.H, { graph: `layers.${l}.attn.qkv_proj`, row: s.H }), `${b}attn_k.weight`),
      named(q4(`${p}self_attn.v_proj.weight`, s.H, s.H, { graph: `layers.${l}.attn.qkv_proj`, row: 2 * s.H }), `${b}attn_v.weight`),
      named(q4(`${p}self_attn.o_proj.weight`, s.H, s.H, { graph: `layers.${l}.attn.o_proj`, row: 0 }), `${b}attn_output.weight`),
      named(f32(`${p}post_attention_layernorm.weight`, s.H), `${b}ffn_norm.weight`),
      named(q4(`${p}mlp.gate_proj.weight`, s.I, s.H, { graph: `layers.${l}.mlp.gate_up_proj`, row: 0 }), `${b}ffn_gate.weight`),
      named(q4(`${p}mlp.up_proj.weight`, s.I, s.H, { graph: `layers.${l}.mlp.gate_up_proj`, row: s.I }), `${b}ffn_up.weight`),
      named(q4(`${p}mlp.down_proj.weight`, s.H, s.I, { graph: `layers.${l}.mlp.down_proj`, row: 0 }), `${b}ffn_down.weight`),
    );
  }
  tensors.push(named(f32('model.norm.weight', s.H), 'output_norm.weight'), named(q4('lm_head.weight', s.V, s.H, { graph: 'lm_head', row: 0 }), 'output.weight'));
  try {
    await writeGguf(path, meta, tensors);
  } finally {
    await ck.close();
    await blocks?.close();
  }
}

/** One contender's result at one batch size. */
export interface Run { batch: number; prefillTps: number; decodeTps: number }
export interface ChildResult { loadMs: number; runs: Run[]; maxRssBytes: number }

export function promptIds(s: Shape, row: number): number[] {
  // Plain word tokens (past the specials and byte tokens), different per row.
  return Array.from({ length: s.P }, (_, i) => 259 + ((i * 131 + row * 17) % (s.V - 259)));
}

/**
 * Saves `src` as ORT's optimised model at `dst` (level 'all', CPU EP) with the pre-packed MatMulNBits weights in
 * its external data file (`<dst>.data`), the form a converter could ship so that a session skips graph
 * optimisation and pre-packing. A file named `*-opt.onnx` is opened by {@link childOurs} with optimisation off.
 */
export async function saveOptimizedDecoder(src: string, dst: string, threads: number): Promise<void> {
  const session = await ort.InferenceSession.create(src, {
    executionProviders: ['cpu'], intraOpNumThreads: threads, graphOptimizationLevel: 'all', enableCpuMemArena: true,
    optimizedModelFilePath: dst,
    extra: {
      session: {
        optimized_model_external_initializers_file_name: `${basename(dst)}.data`,
        optimized_model_external_initializers_min_size_in_bytes: '1024',
        save_external_prepacked_constant_initializers: '1',
      },
    },
  });
  await session.release();
}

export async function childOurs(dir: string, s: Shape, decoderFile: string, kvInPlace = true): Promise<ChildResult> {
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(join(dir, decoderFile), {
    executionProviders: ['cpu'], intraOpNumThreads: s.threads, graphOptimizationLevel: decoderFile.endsWith('-opt.onnx') ? 'disabled' : 'all', enableCpuMemArena: true,
  });
  const loadMs = performance.now() - t0;
  const ck = await openCheckpoint(join(dir, 'model.safetensors'));
  const embedder = tableEmbedder(await ck.readF32('model.embed_tokens.weight'), s.H);
  await ck.close();
  const attention = decoderFile.includes('-gqa') ? 'gqa' : 'ops';
  const spec = decoderSpec(llamaConfig(s), 'int4', { int4ActivationDtype: 'float32', lastTokenLogitsOnly: true, attention, ...(decoderFile.includes('-kv16') ? { kvCacheDtype: 'float16' as const } : {}) });
  // The time the first run (the prefill) ends splits prefill from decode.
  let firstEnd = 0;
  const timed = {
    async run(feeds: Record<string, ort.Tensor>, fetches?: Record<string, ort.Tensor | null>) {
      const out = fetches ? await session.run(feeds, fetches) : await session.run(feeds);
      if (firstEnd === 0) firstEnd = performance.now();
      return out;
    },
  } as unknown as ort.InferenceSession;
  // Warm-up (first-run allocations and kernel selection), as llama.cpp's child does too.
  await generateTokens({ session, spec, embedder, ...(kvInPlace ? { executionProvider: 'cpu' } : {}) }, [await embedder.embed(promptIds(s, 0).slice(0, 4))], { maxNewTokens: 2, stopSequences: [], eosTokenIds: [] });
  const runs: Run[] = [];
  for (const [bi, B] of s.batches.entries()) {
    const N = newTokensAt(s, bi);
    const prompts = await Promise.all(Array.from({ length: B }, (_, r) => embedder.embed(promptIds(s, r))));
    firstEnd = 0;
    const tStart = performance.now();
    const res = await generateTokens({ session: timed, spec, embedder, ...(kvInPlace ? { executionProvider: 'cpu' } : {}) }, prompts, { maxNewTokens: N, stopSequences: [], eosTokenIds: [] });
    const end = performance.now();
    if (res.some((r) => r.tokens.length !== N)) throw new Error(`ours generated ${res.map((r) => r.tokens.length).join(', ')} tokens, expected ${N}`);
    runs.push({ batch: B, prefillTps: (B * s.P) / ((firstEnd - tStart) / 1000), decodeTps: (B * (N - 1)) / ((end - firstEnd) / 1000) });
  }
  await session.release();
  return { loadMs, runs, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}

export async function childLlama(dir: string, s: Shape): Promise<ChildResult> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  // Prebuilt CPU binaries only: never download or compile anything.
  const llama = await getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true, logLevel: LlamaLogLevel.error });
  const t0 = performance.now();
  const model = await llama.loadModel({ modelPath: join(dir, 'model.gguf'), gpuLayers: 0 });
  const loadMs = performance.now() - t0;
  {
    // Warm-up, as ours does.
    const context = await model.createContext({ sequences: 1, contextSize: 256, threads: s.threads, flashAttention: false });
    let n = 0;
    for await (const token of context.getSequence().evaluate(promptIds(s, 0).slice(0, 4) as Token[], { temperature: 0 })) {
      void token;
      if (++n >= 2) break;
    }
    await context.dispose();
  }
  const runs: Run[] = [];
  for (const [bi, B] of s.batches.entries()) {
    const N = newTokensAt(s, bi);
    const context = await model.createContext({
      sequences: B, contextSize: Math.ceil(((s.P + N + 16) * B) / 256) * 256, threads: s.threads,
      batchSize: Math.max(512, s.P * B), flashAttention: false,
    });
    let firstAll = 0;
    let firsts = 0;
    const tStart = performance.now();
    await Promise.all(Array.from({ length: B }, async (_, r) => {
      const seq = context.getSequence();
      let n = 0;
      for await (const token of seq.evaluate(promptIds(s, r) as Token[], { temperature: 0 })) {
        void token;
        n++;
        if (n === 1 && ++firsts === B) firstAll = performance.now() - tStart;
        if (n >= N) break;
      }
    }));
    const decodeMs = performance.now() - tStart - firstAll;
    runs.push({ batch: B, prefillTps: (B * s.P) / (firstAll / 1000), decodeTps: (B * (N - 1)) / (decodeMs / 1000) });
    await context.dispose();
  }
  await model.dispose();
  await llama.dispose();
  return { loadMs, runs, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}
