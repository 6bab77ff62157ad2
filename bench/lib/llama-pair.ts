/**
 * @file The two contenders of bench/cpu-decode.ts and bench/captions-cpu.ts: a random float16 Llama
 * checkpoint, the same weights as a Q4_0 GGUF, and one child-process run of each (ours: generateTokens on
 * the CPU EP; llama.cpp: node-llama-cpp 3.21.1's prebuilt CPU binary). See bench/cpu-decode.ts.
 */
import { join } from 'node:path';
import type { Token } from 'node-llama-cpp';
import * as ort from 'onnxruntime-node';
import { decoderSpec } from '../../model/llama/build-decoder';
import { parseLlamaConfig } from '../../model/llama/config';
import type { LlamaConfig } from '../../model/llama/config';
import { generateTokens, tableEmbedder } from '../../model/llama/generate';
import { quantizeInt4 } from '../../model/llama/quantize';
import { openCheckpoint } from '../../model/safetensors';
import { f32ToF16 } from '../../model/tensor/half';
import { int4ToQ4_0, writeGguf } from './gguf';
import { writeSafetensorsStreaming } from './safetensors-stream';
import type { GgufTensor, GgufValue } from './gguf';

/** Decoder shape and run settings. */
export interface Shape { H: number; L: number; I: number; V: number; heads: number; P: number; N: number; threads: number; batches: number[] }

export function llamaConfig(s: Shape): LlamaConfig {
  return parseLlamaConfig({
    model_type: 'llama', hidden_size: s.H, num_attention_heads: s.heads, num_key_value_heads: s.heads,
    intermediate_size: s.I, num_hidden_layers: s.L, vocab_size: s.V, rms_norm_eps: 1e-6, max_position_embeddings: 2048,
  });
}

/** Deterministic float16 noise in [-scale, scale] (+ base), one tensor at a time. */
function randomF16(n: number, seed: number, scale: number, base = 0): Uint8Array {
  const f = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    f[i] = base + ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return new Uint8Array(f32ToF16(f).buffer);
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

/** The same weights as a Q4_0 GGUF (norms float32, embedding float16 as in the checkpoint). */
export async function writeLlamaGguf(path: string, ckPath: string, s: Shape): Promise<void> {
  const ck = await openCheckpoint(ckPath);
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
  const q4 = (name: string, n: number, k: number): GgufTensor => ({
    name: '', dims: [k, n], type: 'Q4_0',
    data: async () => int4ToQ4_0(quantizeInt4(await ck.readF32(name), n, k, 32)),
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
      named(q4(`${p}self_attn.q_proj.weight`, s.H, s.H), `${b}attn_q.weight`),
      named(q4(`${p}self_attn.k_proj.weight`, s.H, s.H), `${b}attn_k.weight`),
      named(q4(`${p}self_attn.v_proj.weight`, s.H, s.H), `${b}attn_v.weight`),
      named(q4(`${p}self_attn.o_proj.weight`, s.H, s.H), `${b}attn_output.weight`),
      named(f32(`${p}post_attention_layernorm.weight`, s.H), `${b}ffn_norm.weight`),
      named(q4(`${p}mlp.gate_proj.weight`, s.I, s.H), `${b}ffn_gate.weight`),
      named(q4(`${p}mlp.up_proj.weight`, s.I, s.H), `${b}ffn_up.weight`),
      named(q4(`${p}mlp.down_proj.weight`, s.H, s.I), `${b}ffn_down.weight`),
    );
  }
  tensors.push(named(f32('model.norm.weight', s.H), 'output_norm.weight'), named(q4('lm_head.weight', s.V, s.H), 'output.weight'));
  try {
    await writeGguf(path, meta, tensors);
  } finally {
    await ck.close();
  }
}

/** One contender's result at one batch size. */
export interface Run { batch: number; prefillTps: number; decodeTps: number }
export interface ChildResult { loadMs: number; runs: Run[]; maxRssBytes: number }

export function promptIds(s: Shape, row: number): number[] {
  // Plain word tokens (past the specials and byte tokens), different per row.
  return Array.from({ length: s.P }, (_, i) => 259 + ((i * 131 + row * 17) % (s.V - 259)));
}

export async function childOurs(dir: string, s: Shape, decoderFile: string, kvInPlace = true): Promise<ChildResult> {
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(join(dir, decoderFile), {
    executionProviders: ['cpu'], intraOpNumThreads: s.threads, graphOptimizationLevel: 'all', enableCpuMemArena: true,
  });
  const loadMs = performance.now() - t0;
  const ck = await openCheckpoint(join(dir, 'model.safetensors'));
  const embedder = tableEmbedder(await ck.readF32('model.embed_tokens.weight'), s.H);
  await ck.close();
  const attention = decoderFile.includes('-gqa') ? 'gqa' : 'ops';
  const spec = decoderSpec(llamaConfig(s), 'int4', { int4ActivationDtype: 'float32', lastTokenLogitsOnly: true, attention });
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
  for (const B of s.batches) {
    const prompts = await Promise.all(Array.from({ length: B }, (_, r) => embedder.embed(promptIds(s, r))));
    firstEnd = 0;
    const tStart = performance.now();
    const res = await generateTokens({ session: timed, spec, embedder, ...(kvInPlace ? { executionProvider: 'cpu' } : {}) }, prompts, { maxNewTokens: s.N, stopSequences: [], eosTokenIds: [] });
    const end = performance.now();
    if (res.some((r) => r.tokens.length !== s.N)) throw new Error(`ours generated ${res.map((r) => r.tokens.length).join(', ')} tokens, expected ${s.N}`);
    runs.push({ batch: B, prefillTps: (B * s.P) / ((firstEnd - tStart) / 1000), decodeTps: (B * (s.N - 1)) / ((end - firstEnd) / 1000) });
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
  for (const B of s.batches) {
    const context = await model.createContext({
      sequences: B, contextSize: Math.ceil(((s.P + s.N + 16) * B) / 256) * 256, threads: s.threads,
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
        if (n >= s.N) break;
      }
    }));
    const decodeMs = performance.now() - tStart - firstAll;
    runs.push({ batch: B, prefillTps: (B * s.P) / (firstAll / 1000), decodeTps: (B * (s.N - 1)) / (decodeMs / 1000) });
    await context.dispose();
  }
  await model.dispose();
  await llama.dispose();
  return { loadMs, runs, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}
