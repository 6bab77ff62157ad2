/**
 * @file GPU bench (NOT RUN in development: no GPU there; see run.sh): builds a Vicuna-7B-shaped decoder with
 * random weights in int4 and float16 from a synthetic checkpoint (tensors generated on demand, so the
 * converter's streaming and resident memory are exercised without a 13 GB file), runs generation on the
 * WebGPU EP with the KV cache kept on the GPU, and prints prefill and decode tokens/s, peak GPU memory
 * (nvidia-smi) and the converter's peak RSS, beside the PyTorch reference (torch.json from torch_ref.py).
 *
 *   node llama-gpu.mjs <workdir> [--shape 7b|tiny] [--ep webgpu|cpu] [--variants int4,float16]
 *                      [--prompt 40] [--tokens 128] [--batches 1,8] [--layers 32] [--attention gqa|ops] [--build-only]
 * GQA graphs take batches of equal-length prompts only, which is what this bench feeds.
 * `--shape tiny --ep cpu` is a quick local check of the script itself.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildLlamaDecoder } from '../../../model/llama/build-decoder';
import type { DecoderVariant } from '../../../model/llama/build-decoder';
import { parseLlamaConfig } from '../../../model/llama/config';
import type { LlamaConfig } from '../../../model/llama/config';
import { generateTokens } from '../../../model/llama/generate';
import type { TokenEmbedder } from '../../../model/llama/generate';
import { createSession, presentOutputNames } from '../../../model/ort/session';
import { CheckpointError } from '../../../model/safetensors';
import type { Checkpoint, TensorInfo } from '../../../model/safetensors';

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    shape: { type: 'string', default: '7b' }, ep: { type: 'string', default: 'webgpu' },
    variants: { type: 'string', default: 'int4,float16' }, prompt: { type: 'string', default: '40' },
    tokens: { type: 'string', default: '128' }, batches: { type: 'string', default: '1,8' },
    layers: { type: 'string' }, attention: { type: 'string', default: 'gqa' }, 'build-only': { type: 'boolean', default: false },
  },
});
const work = positionals[0] ?? '/tmp/llama-gpu';
const is7b = a.shape === '7b';
// Vicuna-7B v0: LLaMA-1 7B with [PAD] appended (vocab 32001).
const config: LlamaConfig = parseLlamaConfig(is7b
  ? { model_type: 'llama', hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: Number(a.layers ?? 32), num_attention_heads: 32, vocab_size: 32001, rms_norm_eps: 1e-6 }
  : { model_type: 'llama', hidden_size: 256, intermediate_size: 688, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 32001, rms_norm_eps: 1e-6 });

/** Deterministic uniform(-scale, scale) values, seeded per tensor. */
function randomFill(out: Float32Array, seed: number, scale: number, base = 0): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = base + ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** A checkpoint whose tensors are generated on read (HF names, float16 like Vicuna's). */
function syntheticCheckpoint(cfg: LlamaConfig): Checkpoint {
  const H = cfg.hiddenSize;
  const hd = cfg.headDim;
  const shapes = new Map<string, number[]>();
  shapes.set('model.embed_tokens.weight', [cfg.vocabSize, H]);
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}.`;
    shapes.set(`${p}input_layernorm.weight`, [H]);
    shapes.set(`${p}post_attention_layernorm.weight`, [H]);
    shapes.set(`${p}self_attn.q_proj.weight`, [cfg.numHeads * hd, H]);
    shapes.set(`${p}self_attn.k_proj.weight`, [cfg.numKvHeads * hd, H]);
    shapes.set(`${p}self_attn.v_proj.weight`, [cfg.numKvHeads * hd, H]);
    shapes.set(`${p}self_attn.o_proj.weight`, [H, cfg.numHeads * hd]);
    shapes.set(`${p}mlp.gate_proj.weight`, [cfg.intermediateSize, H]);
    shapes.set(`${p}mlp.up_proj.weight`, [cfg.intermediateSize, H]);
    shapes.set(`${p}mlp.down_proj.weight`, [H, cfg.intermediateSize]);
  }
  shapes.set('model.norm.weight', [H]);
  shapes.set('lm_head.weight', [cfg.vocabSize, H]);
  const names = [...shapes.keys()].sort();
  const info = (name: string): TensorInfo => {
    const shape = shapes.get(name);
    if (!shape) throw new CheckpointError(`Tensor "${name}" is missing from the synthetic checkpoint`, { tensor: name });
    return { name, dtype: 'F16', shape, file: 'synthetic', offset: 0, byteLength: shape.reduce((x, y) => x * y, 1) * 2 };
  };
  const read = (name: string): Float32Array => {
    const shape = info(name).shape;
    const out = new Float32Array(shape.reduce((x, y) => x * y, 1));
    return name.endsWith('norm.weight') ? out.fill(1) : randomFill(out, names.indexOf(name) + 1, 0.035); // std ≈ 0.02
  };
  const find = (suffix: string): string | undefined => names.find((n) => n === suffix || n.endsWith('.' + suffix));
  return {
    files: ['synthetic'], metadata: {}, names: () => [...names], has: (n) => shapes.has(n), info,
    findBySuffix: find,
    requireBySuffix: (s) => find(s) ?? info(s).name,
    readF32: (n) => Promise.resolve(read(n)),
    readRaw: () => Promise.reject(new Error('not needed')),
    readRowsRaw: () => Promise.reject(new Error('not needed')),
    readRowsF32: () => Promise.reject(new Error('not needed')),
    close: () => Promise.resolve(),
  };
}

/** Random embeddings per token id (the real app reads them from the pack's table). */
const embedder: TokenEmbedder = {
  hiddenSize: config.hiddenSize,
  embed: (ids) => {
    const out = new Float32Array(ids.length * config.hiddenSize);
    ids.forEach((id, i) => randomFill(out.subarray(i * config.hiddenSize, (i + 1) * config.hiddenSize), id + 7, 0.035));
    return Promise.resolve(out);
  },
};

/** Samples nvidia-smi's memory.used (MiB) until stopped; returns the peak. */
function gpuMemorySampler(): { stop: () => number | undefined } {
  const read = (): number | undefined => {
    try {
      return Math.max(...execFileSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], { encoding: 'utf8' }).trim().split('\n').map(Number));
    } catch {
      return undefined;
    }
  };
  let peak = read();
  const timer = setInterval(() => {
    const v = read();
    if (v !== undefined) peak = Math.max(peak ?? 0, v);
  }, 250);
  return { stop: () => (clearInterval(timer), peak) };
}

function rssSampler(): { stop: () => number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  return { stop: () => (clearInterval(timer), Math.max(peak, process.memoryUsage().rss)) };
}

await mkdir(work, { recursive: true });
const torchPath = join(work, 'torch.json');
const torch = existsSync(torchPath) ? (JSON.parse(readFileSync(torchPath, 'utf8')) as Record<string, number>) : undefined;
const idle = gpuMemorySampler().stop();
console.log(`shape ${a.shape}: hidden ${config.hiddenSize}, ${config.numLayers} layers, vocab ${config.vocabSize}; EP ${a.ep}; GPU memory before: ${idle ?? '?'} MiB`);
const promptLen = Number(a.prompt);
const newTokens = Number(a.tokens);

for (const variant of a.variants!.split(',') as DecoderVariant[]) {
  const outPath = join(work, `decoder-${variant}.onnx`);
  const rss = rssSampler();
  const t0 = performance.now();
  const spec = await buildLlamaDecoder({ checkpoint: syntheticCheckpoint(config), config, variant, outPath, lastTokenLogitsOnly: true, int4ActivationDtype: 'float16', attention: a.attention as 'gqa' | 'ops' });
  console.log(`${variant} (${a.attention} attention): built in ${((performance.now() - t0) / 1000).toFixed(1)} s, converter peak RSS ${(rss.stop() / 2 ** 30).toFixed(2)} GiB`);
  if (a['build-only']) {
    await rm(outPath, { force: true });
    await rm(`${outPath}.data`, { force: true });
    continue;
  }
  const gpu = gpuMemorySampler();
  const ts = performance.now();
  const { session, ep, skipped } = await createSession(outPath, {
    providers: [a.ep as 'webgpu' | 'cpu'], gpuOutputNames: presentOutputNames(config.numLayers), log: (l) => console.log(l),
  });
  console.log(`${variant}: session on ${ep} in ${((performance.now() - ts) / 1000).toFixed(1)} s${skipped.length ? ` (skipped ${JSON.stringify(skipped)})` : ''}`);
  const decoder = { session, spec, embedder };
  const prompt = await embedder.embed(Array.from({ length: promptLen }, (_, i) => 100 + i));
  await generateTokens(decoder, [prompt], { maxNewTokens: 4, stopSequences: [], eosTokenIds: [] }); // warm-up
  for (const B of a.batches!.split(',').map(Number)) {
    const prompts = Array.from({ length: B }, () => prompt);
    // Prefill alone (one new token), then the whole run; decode rate = extra tokens / extra time.
    let tp = performance.now();
    await generateTokens(decoder, prompts, { maxNewTokens: 1, stopSequences: [], eosTokenIds: [] });
    tp = performance.now() - tp;
    const tg0 = performance.now();
    const res = await generateTokens(decoder, prompts, { maxNewTokens: newTokens, stopSequences: [], eosTokenIds: [] });
    const tg = performance.now() - tg0;
    const decodeTps = ((newTokens - 1) * 1000) / (tg - tp);
    const ref = torch?.[`decode_tok_per_s_b${B}`];
    console.log(`${variant} ${ep} batch ${B}: prefill ${promptLen} tokens ${tp.toFixed(0)} ms (${((B * promptLen * 1000) / tp).toFixed(0)} tok/s); ` +
      `decode ${decodeTps.toFixed(1)} tok/s per sequence, ${(B * decodeTps).toFixed(1)} total; ${res[0]!.tokens.length} tokens` +
      (ref ? `; PyTorch fp16 ${ref.toFixed(1)} tok/s per sequence (${(decodeTps / ref).toFixed(2)}x)` : ''));
  }
  console.log(`${variant}: peak GPU memory ${gpu.stop() ?? '?'} MiB (PyTorch fp16 peak allocated: ${torch?.peak_mib?.toFixed(0) ?? '?'} MiB)`);
  await session.release();
  await rm(outPath, { force: true });
  await rm(`${outPath}.data`, { force: true });
}
