/**
 * @file Bench: our int4 decoder on the CPU EP against llama.cpp (node-llama-cpp 3.21.1, CPU build) on the
 * same weights: prefill and decode tokens/s at batch 1 and batch 8, session/model load time, peak RSS, and
 * the ratio ours / llama.cpp. Random Llama weights (float16 safetensors) go through the converter's
 * decoder builder (model/llama/build-decoder.ts, int4 MatMulNBits, float32 activations, as
 * main/models/convert.ts builds CPU packs); the same int4 blocks are repacked as Q4_0 into a GGUF
 * (bench/lib/gguf.ts, [Note: Q4_0 from MatMulNBits blocks]). Each contender runs in its own child process,
 * so each peak RSS is its own; llama.cpp's includes the mapped model file.
 *
 *   npm run bench -- cpu-decode [--hidden 4096] [--layers 32] [--intermediate 11008] [--vocab 32001]
 *        [--heads H/128] [--prompt 120] [--new 64] [--threads 2] [--batch 1,8] [--accuracy-level 4]
 *        [--attention gqa] [--reps 1] [--only ours|llama] [--keep DIR]
 *
 * --accuracy-level and --attention take comma lists (e.g. `--accuracy-level 0,4 --attention ops,gqa`): one
 * decoder is built and run per combination. Ours runs the app's own loop (generateTokens with the session
 * on the CPU EP, so a 'gqa' graph keeps its KV cache in place, [Note: KV cache in place]). With --reps N
 * each contender runs N times, in alternating order, and the best run counts: on a shared machine other
 * load only ever slows a run down. The load average is printed beside the results.
 *
 * Default = Vicuna-7B shape (needs about 9 GB RAM per contender and 17 GB of disk in the temp folder; takes
 * minutes on 2 cores): develop with e.g. `--hidden 1024 --layers 4 --intermediate 2816 --vocab 4096`.
 * Greedy tokens of the two differ (random weights; Q/K rows are not permuted the way llama.cpp's HF
 * converter does, and llama.cpp multiplies with int8 activations): only speed is compared.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Token } from 'node-llama-cpp';
import * as ort from 'onnxruntime-node';
import { buildLlamaDecoder, decoderSpec } from '../model/llama/build-decoder';
import type { DecoderAttention, DecoderSpec } from '../model/llama/build-decoder';
import { parseLlamaConfig } from '../model/llama/config';
import type { LlamaConfig } from '../model/llama/config';
import { generateTokens, tableEmbedder } from '../model/llama/generate';
import { quantizeInt4 } from '../model/llama/quantize';
import { openCheckpoint } from '../model/safetensors';
import { f32ToF16 } from '../model/tensor/half';
import { int4ToQ4_0, writeGguf } from './lib/gguf';
import type { GgufTensor, GgufValue } from './lib/gguf';

const { values: a } = parseArgs({
  options: {
    hidden: { type: 'string', default: '4096' }, layers: { type: 'string', default: '32' },
    intermediate: { type: 'string', default: '11008' }, vocab: { type: 'string', default: '32001' },
    heads: { type: 'string' }, prompt: { type: 'string', default: '120' }, new: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' }, batch: { type: 'string', default: '1,8' },
    'accuracy-level': { type: 'string', default: '4' }, attention: { type: 'string', default: 'gqa' },
    reps: { type: 'string', default: '1' }, only: { type: 'string' }, keep: { type: 'string' },
    decoder: { type: 'string', default: 'decoder.onnx' },
    // child mode
    child: { type: 'string' }, dir: { type: 'string' },
  },
});

interface Shape { H: number; L: number; I: number; V: number; heads: number; P: number; N: number; threads: number; batches: number[] }
const shape: Shape = {
  H: Number(a.hidden), L: Number(a.layers), I: Number(a.intermediate), V: Number(a.vocab),
  heads: a.heads ? Number(a.heads) : Math.max(1, Number(a.hidden) / 128),
  P: Number(a.prompt), N: Number(a.new), threads: Number(a.threads),
  batches: a.batch.split(',').map(Number),
};
const variants = a['accuracy-level'].split(',').map(Number).flatMap((acc) => a.attention.split(',').map((att) => ({ acc, att: att as DecoderAttention, file: `decoder-a${acc}-${att}.onnx` })));

function llamaConfig(s: Shape): LlamaConfig {
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
async function writeCheckpoint(path: string, s: Shape): Promise<void> {
  const specs = checkpointSpecs(s);
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const t of specs) {
    const bytes = t.shape.reduce((x, y) => x * y, 1) * 2;
    header[t.name] = { dtype: 'F16', shape: t.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const h = await open(path, 'w');
  try {
    await h.write(len);
    await h.write(Buffer.from(json));
    let seed = 1;
    for (const t of specs) await h.write(randomF16(t.shape.reduce((x, y) => x * y, 1), seed++ * 7919, t.scale, t.base ?? 0));
  } finally {
    await h.close();
  }
}

/** The same weights as a Q4_0 GGUF (norms float32, embedding float16 as in the checkpoint). */
async function writeLlamaGguf(path: string, ckPath: string, s: Shape): Promise<void> {
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
interface Run { batch: number; prefillTps: number; decodeTps: number }
interface ChildResult { loadMs: number; runs: Run[]; maxRssBytes: number }

function promptIds(s: Shape, row: number): number[] {
  // Plain word tokens (past the specials and byte tokens), different per row.
  return Array.from({ length: s.P }, (_, i) => 259 + ((i * 131 + row * 17) % (s.V - 259)));
}

async function childOurs(dir: string, s: Shape): Promise<ChildResult> {
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(join(dir, a.decoder), {
    executionProviders: ['cpu'], intraOpNumThreads: s.threads, graphOptimizationLevel: 'all', enableCpuMemArena: true,
  });
  const loadMs = performance.now() - t0;
  const ck = await openCheckpoint(join(dir, 'model.safetensors'));
  const embedder = tableEmbedder(await ck.readF32('model.embed_tokens.weight'), s.H);
  await ck.close();
  const attention = a.decoder.includes('-gqa') ? 'gqa' : 'ops';
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
  const runs: Run[] = [];
  for (const B of s.batches) {
    const prompts = await Promise.all(Array.from({ length: B }, (_, r) => embedder.embed(promptIds(s, r))));
    firstEnd = 0;
    const tStart = performance.now();
    const res = await generateTokens({ session: timed, spec, embedder, executionProvider: 'cpu' }, prompts, { maxNewTokens: s.N, stopSequences: [], eosTokenIds: [] });
    const end = performance.now();
    if (res.some((r) => r.tokens.length !== s.N)) throw new Error(`ours generated ${res.map((r) => r.tokens.length).join(', ')} tokens, expected ${s.N}`);
    runs.push({ batch: B, prefillTps: (B * s.P) / ((firstEnd - tStart) / 1000), decodeTps: (B * (s.N - 1)) / ((end - firstEnd) / 1000) });
  }
  await session.release();
  return { loadMs, runs, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}

async function childLlama(dir: string, s: Shape): Promise<ChildResult> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  // Prebuilt CPU binaries only: never download or compile anything.
  const llama = await getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true, logLevel: LlamaLogLevel.error });
  const t0 = performance.now();
  const model = await llama.loadModel({ modelPath: join(dir, 'model.gguf'), gpuLayers: 0 });
  const loadMs = performance.now() - t0;
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

function runChild(mode: 'ours' | 'llama', dir: string, decoder = ''): ChildResult {
  const self = fileURLToPath(import.meta.url);
  const args = process.argv.slice(2).filter((x, i, all) => x !== '--only' && all[i - 1] !== '--only');
  const r = spawnSync(process.execPath, ['--enable-source-maps', self, ...args, '--child', mode, '--dir', dir, ...(decoder ? ['--decoder', decoder] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`${mode} child failed (status ${r.status}): ${r.stdout.slice(-2000)}`);
  return JSON.parse(line) as ChildResult;
}

if (a.child) {
  const res = a.child === 'ours' ? await childOurs(a.dir!, shape) : await childLlama(a.dir!, shape);
  process.stdout.write(`${JSON.stringify(res)}\n`);
  process.exit(0);
}

const dir = a.keep ?? (await mkdtemp(join(tmpdir(), 'bench-cpu-decode-')));
try {
  const s = shape;
  const cfg = llamaConfig(s);
  const ckPath = join(dir, 'model.safetensors');
  let t = performance.now();
  await writeCheckpoint(ckPath, s);
  console.log(`shape: hidden ${s.H}, ${s.L} layers, intermediate ${s.I}, vocab ${s.V}, ${s.heads} heads; prompt ${s.P}, ${s.N} new tokens, greedy, ${s.threads} threads`);
  console.log(`random float16 checkpoint written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const ck = await openCheckpoint(ckPath);
  for (const v of variants) {
    t = performance.now();
    const spec: DecoderSpec = await buildLlamaDecoder({
      checkpoint: ck, config: cfg, variant: 'int4', int4ActivationDtype: 'float32', outPath: join(dir, v.file),
      lastTokenLogitsOnly: true, attention: v.att, ...(v.acc ? { accuracyLevel: v.acc } : {}),
    });
    console.log(`ours: int4 decoder (${spec.attention} attention, accuracy_level ${v.acc}) built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  await ck.close();
  t = performance.now();
  await writeLlamaGguf(join(dir, 'model.gguf'), ckPath, s);
  console.log(`llama.cpp: Q4_0 GGUF of the same int4 blocks written in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const reps = Number(a.reps);
  const ours = new Map<string, ChildResult[]>();
  const ref: ChildResult[] = [];
  const loads: number[] = [];
  for (let r = 0; r < reps; r++) {
    const order = r % 2 === 0 ? ['ours', 'llama'] : ['llama', 'ours'];
    for (const who of order) {
      loads.push(loadavg()[0]!);
      if (who === 'ours' && a.only !== 'llama') for (const v of variants) ours.set(v.file, [...(ours.get(v.file) ?? []), runChild('ours', dir, v.file)]);
      if (who === 'llama' && a.only !== 'ours') ref.push(runChild('llama', dir));
    }
  }
  /** Best of the reps per batch size (fastest run; other load only slows runs down), least load time, most RSS. */
  const best = (rs: ChildResult[]): ChildResult | undefined => rs.length === 0 ? undefined : {
    loadMs: Math.min(...rs.map((x) => x.loadMs)),
    maxRssBytes: Math.max(...rs.map((x) => x.maxRssBytes)),
    runs: rs[0]!.runs.map((run, i) => ({ batch: run.batch, prefillTps: Math.max(...rs.map((x) => x.runs[i]!.prefillTps)), decodeTps: Math.max(...rs.map((x) => x.runs[i]!.decodeTps)) })),
  };
  const llamaBest = best(ref);
  const f = (x: number): string => x.toFixed(x < 10 ? 2 : 1);
  const gb = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
  console.log('');
  console.log(`${reps} rep(s) each, best run counts; 1-min load average before the runs: ${loads.map((x) => x.toFixed(1)).join(', ')} (${cpus().length} CPUs)`);
  console.log('| contender | load s | batch | prefill tok/s | decode tok/s (all rows) | peak RSS |');
  console.log('|---|---|---|---|---|---|');
  const rows: [string, ChildResult | undefined][] = variants.map((v) => [`ours (int4, accuracy_level ${v.acc}, ${v.att})`, best(ours.get(v.file) ?? [])]);
  rows.push(['llama.cpp 3.21.1 (Q4_0 GGUF)', llamaBest]);
  for (const [name, r] of rows) {
    if (!r) continue;
    for (const run of r.runs) console.log(`| ${name} | ${(r.loadMs / 1000).toFixed(2)} | ${run.batch} | ${f(run.prefillTps)} | ${f(run.decodeTps)} | ${gb(r.maxRssBytes)} |`);
  }
  if (llamaBest) {
    for (const [name, o] of rows.slice(0, -1)) {
      if (!o) continue;
      console.log('');
      for (const run of o.runs) {
        const l = llamaBest.runs.find((x) => x.batch === run.batch);
        if (l) console.log(`${name} / llama.cpp, batch ${run.batch}: prefill ${(run.prefillTps / l.prefillTps).toFixed(2)}×, decode ${(run.decodeTps / l.decodeTps).toFixed(2)}× (goal ≥ 1.0×)`);
      }
      console.log(`${name} / llama.cpp: load time ${(o.loadMs / llamaBest.loadMs).toFixed(2)}× (lower is better), peak RSS ${(o.maxRssBytes / llamaBest.maxRssBytes).toFixed(2)}×`);
    }
  }
} finally {
  if (!a.keep) await rm(dir, { recursive: true, force: true });
}
