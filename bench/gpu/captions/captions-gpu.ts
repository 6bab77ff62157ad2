/**
 * @file GPU bench (NOT RUN in development: no GPU there; see run.sh and README.md): 30 s clips captioned per
 * hour by the app's own pipeline (model/inference/service.ts over a model pack: audio → MERT → pool → adapter
 * → prompt → KV-cache generation) with full-size random-weight packs (MERT-v1-330M and Vicuna-7B shapes, int4
 * and float16 decoders), beside the PyTorch reference measured in the same run (torch.json from torch_ref.py:
 * MERT fp32 + HF generate fp16).
 *
 *   node captions-gpu.mjs <workdir> [--shape full|tiny] [--ep webgpu|cuda|cpu] [--variants int4,float16]
 *                         [--clips 8] [--batches 1,8] [--tokens 64] [--attention gqa|ops]
 * `--shape tiny --ep cpu` checks the script itself on any machine in a minute.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildLlamaDecoder, type DecoderAttention, type DecoderVariant } from '../../../model/llama/build-decoder';
import { parseLlamaConfig, type LlamaConfig } from '../../../model/llama/config';
import { MERT_V1_330M, type MertConfig } from '../../../model/mert/config';
import { buildMertEncoder } from '../../../model/mert/encoder-graph';
import { loadModelPack } from '../../../model/inference/pack';
import { createInferenceService } from '../../../model/inference/service';
import type { CallContext } from '../../../model/inference/protocol';
import { CheckpointError, writeSafetensors, type Checkpoint, type TensorInfo } from '../../../model/safetensors';
import { f32ToF16 } from '../../../model/tensor/half';
import { writeLlamaTokenizer } from '../../../test/integration/captions/tiny-pack';

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    shape: { type: 'string', default: 'full' }, ep: { type: 'string', default: 'webgpu' },
    variants: { type: 'string', default: 'int4,float16' }, clips: { type: 'string', default: '8' },
    batches: { type: 'string', default: '1,8' }, tokens: { type: 'string', default: '64' },
    attention: { type: 'string', default: 'gqa' },
  },
});
const work = positionals[0] ?? '/tmp/captions-gpu';
const isFull = a.shape === 'full';
const mert: MertConfig = isFull ? MERT_V1_330M : { ...MERT_V1_330M, hiddenSize: 64, numLayers: 2, numHeads: 4, intermediateSize: 128, convDim: [32, 32, 32, 32, 32, 32, 32], numConvPosEmbeddings: 16, numConvPosEmbeddingGroups: 4 };
const llama: LlamaConfig = parseLlamaConfig(isFull
  ? { model_type: 'llama', hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32, vocab_size: 32001, rms_norm_eps: 1e-6, max_position_embeddings: 2048 }
  : { model_type: 'llama', hidden_size: 128, intermediate_size: 344, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 32001, rms_norm_eps: 1e-6, max_position_embeddings: 2048 });
const nClips = Number(a.clips);
const tokens = Number(a.tokens);
const CLIP_SECONDS = 30;

function log(s: string): void {
  console.log(s);
}

/** Deterministic uniform(-scale, scale) values, seeded per tensor (xorshift). */
function randomFill(out: Float32Array, seed: number, scale: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** A checkpoint whose tensors are generated when read (no multi-GB file on disk). */
function synthetic(shapes: Map<string, number[]>, dtype: 'F16' | 'F32'): Checkpoint {
  const names = [...shapes.keys()].sort();
  const info = (name: string): TensorInfo => {
    const shape = shapes.get(name);
    if (!shape) throw new CheckpointError(`Tensor "${name}" is missing from the synthetic checkpoint`, { tensor: name });
    return { name, dtype, shape, file: 'synthetic', offset: 0, byteLength: shape.reduce((x, y) => x * y, 1) * (dtype === 'F16' ? 2 : 4) };
  };
  const read = (name: string): Float32Array => {
    const shape = info(name).shape;
    const out = new Float32Array(shape.reduce((x, y) => x * y, 1));
    if (/norm\.weight$|layer_norm\.weight$|weight_g$/.test(name)) return out.fill(1);
    if (/bias$|norm\.bias$/.test(name)) return out;
    const fanIn = shape.length > 1 ? shape.slice(1).reduce((x, y) => x * y, 1) : shape[0]!;
    return randomFill(out, names.indexOf(name) + 1, Math.min(0.035, Math.sqrt(3 / fanIn)));
  };
  const find = (suffix: string): string | undefined => names.find((n) => n === suffix || n.endsWith('.' + suffix));
  return {
    files: ['synthetic'], metadata: {}, names: () => [...names], has: (n) => shapes.has(n), info,
    findBySuffix: find, requireBySuffix: (s) => find(s) ?? info(s).name,
    readF32: (n) => Promise.resolve(read(n)),
    readRaw: () => Promise.reject(new Error('not needed')),
    readRowsRaw: () => Promise.reject(new Error('not needed')),
    readRowsF32: () => Promise.reject(new Error('not needed')),
    close: () => Promise.resolve(),
  };
}

function mertShapes(c: MertConfig): Map<string, number[]> {
  const s = new Map<string, number[]>();
  c.convDim.forEach((d, i) => s.set(`feature_extractor.conv_layers.${i}.conv.weight`, [d, i === 0 ? 1 : c.convDim[i - 1]!, c.convKernel[i]!]));
  const c0 = c.convDim[0]!;
  const last = c.convDim.at(-1)!;
  const H = c.hiddenSize;
  s.set('feature_extractor.conv_layers.0.layer_norm.weight', [c0]).set('feature_extractor.conv_layers.0.layer_norm.bias', [c0]);
  s.set('feature_projection.layer_norm.weight', [last]).set('feature_projection.layer_norm.bias', [last]);
  s.set('feature_projection.projection.weight', [H, last]).set('feature_projection.projection.bias', [H]);
  s.set('encoder.pos_conv_embed.conv.weight_g', [1, 1, c.numConvPosEmbeddings]);
  s.set('encoder.pos_conv_embed.conv.weight_v', [H, H / c.numConvPosEmbeddingGroups, c.numConvPosEmbeddings]);
  s.set('encoder.pos_conv_embed.conv.bias', [H]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `encoder.layers.${l}.`;
    for (const x of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) s.set(`${p}attention.${x}.weight`, [H, H]).set(`${p}attention.${x}.bias`, [H]);
    s.set(`${p}feed_forward.intermediate_dense.weight`, [c.intermediateSize, H]).set(`${p}feed_forward.intermediate_dense.bias`, [c.intermediateSize]);
    s.set(`${p}feed_forward.output_dense.weight`, [H, c.intermediateSize]).set(`${p}feed_forward.output_dense.bias`, [H]);
    for (const n of ['layer_norm', 'final_layer_norm']) s.set(`${p}${n}.weight`, [H]).set(`${p}${n}.bias`, [H]);
  }
  s.set('encoder.layer_norm.weight', [H]).set('encoder.layer_norm.bias', [H]);
  return s;
}

function llamaShapes(c: LlamaConfig): Map<string, number[]> {
  const s = new Map<string, number[]>();
  const H = c.hiddenSize;
  s.set('model.embed_tokens.weight', [c.vocabSize, H]);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}.`;
    s.set(`${p}input_layernorm.weight`, [H]).set(`${p}post_attention_layernorm.weight`, [H]);
    s.set(`${p}self_attn.q_proj.weight`, [c.numHeads * c.headDim, H]).set(`${p}self_attn.k_proj.weight`, [c.numKvHeads * c.headDim, H]);
    s.set(`${p}self_attn.v_proj.weight`, [c.numKvHeads * c.headDim, H]).set(`${p}self_attn.o_proj.weight`, [H, c.numHeads * c.headDim]);
    s.set(`${p}mlp.gate_proj.weight`, [c.intermediateSize, H]).set(`${p}mlp.up_proj.weight`, [c.intermediateSize, H]);
    s.set(`${p}mlp.down_proj.weight`, [H, c.intermediateSize]);
  }
  s.set('model.norm.weight', [H]).set('lm_head.weight', [c.vocabSize, H]);
  return s;
}

/** Writes a pack like the converter's (manifest fields the loader reads) from synthetic weights. */
async function buildPack(dir: string, variant: DecoderVariant): Promise<void> {
  if (existsSync(join(dir, 'manifest.json'))) return;
  await mkdir(dir, { recursive: true });
  const encDtype = variant === 'float32' || (a.ep === 'cpu' && variant === 'int4') ? 'float32' : 'float16';
  let t = performance.now();
  await buildMertEncoder({ checkpoint: synthetic(mertShapes(mert), 'F32'), config: mert, variant: encDtype, outPath: join(dir, 'encoder.onnx'), attention: encDtype === 'float16' ? 'mha' : 'ops' });
  log(`  encoder (${encDtype}) built in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  t = performance.now();
  const spec = await buildLlamaDecoder({
    checkpoint: synthetic(llamaShapes(llama), 'F16'), config: llama, variant, outPath: join(dir, 'decoder.onnx'),
    int4ActivationDtype: a.ep === 'cpu' ? 'float32' : 'float16', lastTokenLogitsOnly: true, attention: a.attention as DecoderAttention,
  });
  log(`  decoder (${variant}, ${spec.attention}) built in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  const H = llama.hiddenSize;
  const table = randomFill(new Float32Array(llama.vocabSize * H), 99, 0.035);
  const f16 = f32ToF16(table);
  await writeSafetensors(join(dir, 'embed.safetensors'), { 'embed_tokens.weight': { dtype: 'F16', shape: [llama.vocabSize, H], bytes: new Uint8Array(f16.buffer, f16.byteOffset, f16.byteLength) } });
  await writeSafetensors(join(dir, 'adapter.safetensors'), {
    'llama_proj.weight': { data: randomFill(new Float32Array(H * mert.hiddenSize), 7, 0.03), shape: [H, mert.hiddenSize] },
    'llama_proj.bias': { data: new Float32Array(H), shape: [H] },
  });
  await writeLlamaTokenizer(dir);
  const manifest = {
    format: 'musilingo-pack', formatVersion: 1, createdBy: 'bench/gpu/captions', createdAt: new Date().toISOString(),
    modelId: `bench-${a.shape}`, variant,
    encoder: { file: 'encoder.onnx', dataFile: 'encoder.onnx.data', dtype: encDtype, hiddenSize: mert.hiddenSize, numLayers: mert.numLayers, sampleRateHz: 24000, poolFrames: 325, config: {} },
    decoder: { file: 'decoder.onnx', dataFile: 'decoder.onnx.data', ...spec, maxPositions: llama.maxPositionEmbeddings ?? 2048, bosId: 1, eosIds: [2], config: {} },
    embeddings: { file: 'embed.safetensors', tensor: 'embed_tokens.weight', dtype: 'F16', rows: llama.vocabSize, dim: H },
    adapter: { file: 'adapter.safetensors', inDim: mert.hiddenSize, outDim: H },
    tokenizer: { model: 'tokenizer.model', files: ['tokenizer.model'], bosId: 1, eosId: 2 },
    source: { files: {} }, files: {},
  };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
}

/** A 30 s 24 kHz mono PCM16 WAV of a few mixed tones and noise (what the pipeline decodes natively). */
async function writeClip(path: string, seed: number): Promise<void> {
  const rate = 24000;
  const n = rate * CLIP_SECONDS;
  const pcm = Buffer.alloc(n * 2);
  const noise = randomFill(new Float32Array(n), seed, 0.05);
  for (let i = 0; i < n; i++) {
    const v = 0.3 * Math.sin((2 * Math.PI * (110 * (seed + 1)) * i) / rate) + 0.2 * Math.sin((2 * Math.PI * 660 * i) / rate) + noise[i]!;
    pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32767))), i * 2);
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + pcm.length, 4); h.write('WAVE', 8); h.write('fmt ', 12);
  h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22); h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28); h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34); h.write('data', 36); h.writeUInt32LE(pcm.length, 40);
  await writeFile(path, Buffer.concat([h, pcm]));
}

function gpuMemoryMiB(): number | undefined {
  try {
    return Math.max(...execFileSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], { encoding: 'utf8' }).trim().split('\n').map(Number));
  } catch {
    return undefined;
  }
}

await mkdir(work, { recursive: true });
const torchPath = join(work, 'torch.json');
const torch = existsSync(torchPath) ? (JSON.parse(readFileSync(torchPath, 'utf8')) as Record<string, number>) : undefined;
log(`shape ${a.shape}: MERT ${mert.hiddenSize}×${mert.numLayers}, decoder ${llama.hiddenSize}×${llama.numLayers}; EP ${a.ep}; ${nClips} clips of ${CLIP_SECONDS} s; ${tokens} new tokens each`);
const clips: string[] = [];
for (let i = 0; i < nClips; i++) {
  const p = join(work, `clip${i}.wav`);
  if (!existsSync(p)) await writeClip(p, i);
  clips.push(p);
}
const ctx: CallContext = { signal: new AbortController().signal, emit: () => undefined };
for (const variant of a.variants.split(',') as DecoderVariant[]) {
  const dir = join(work, `pack-${a.shape}-${variant}`);
  log(`pack ${variant}:`);
  await buildPack(dir, variant);
  for (const batch of a.batches.split(',').map(Number)) {
    let encodeMs = 0;
    let generateMs = 0;
    let generated = 0;
    const svc = createInferenceService({
      loadPack: (r) => loadModelPack(r, { log: () => undefined }),
      maxBatch: batch,
      log: (_l, m) => {
        const e = /encode (\d+) ms/.exec(m);
        if (e) encodeMs += Number(e[1]);
        const g = /generate batch=\d+ tokens=(\d+) (\d+) ms/.exec(m);
        if (g) {
          generated += Number(g[1]);
          generateMs += Number(g[2]);
        }
      },
    });
    const t0 = performance.now();
    const info = await svc.load({ packDir: dir, executionProvider: a.ep, threads: 0 }, ctx);
    const loadMs = performance.now() - t0;
    const items = clips.map((p, i) => ({ key: String(i), path: p, window: { kind: 'default' } as const }));
    await svc.caption({ items: items.slice(0, batch), generation: { maxNewTokens: 4 } }, ctx); // warm-up (shader compilation)
    encodeMs = generateMs = generated = 0;
    const t1 = performance.now();
    const res = await svc.caption({ items, generation: { maxNewTokens: tokens } }, ctx);
    const ms = performance.now() - t1;
    const failed = res.filter((r) => !r.ok);
    if (failed.length) log(`  FAILED ${failed.length}: ${JSON.stringify(failed[0])}`);
    const perHour = (nClips / ms) * 3_600_000;
    const ref = torch?.[`clips_per_hour_b${batch}`];
    log(
      `  ${variant} batch ${batch} on ${info.executionProvider}: ${perHour.toFixed(0)} clips/hour ` +
        `(${(ms / nClips).toFixed(0)} ms/clip; encode ${(encodeMs / nClips).toFixed(0)} ms/clip, generate ${((generated / Math.max(generateMs, 1)) * 1000).toFixed(1)} tok/s total; load ${(loadMs / 1000).toFixed(1)} s; GPU ${gpuMemoryMiB() ?? '?'} MiB)` +
        (ref ? `; PyTorch reference ${ref.toFixed(0)} clips/hour → ratio ${(perHour / ref).toFixed(2)}×` : ''),
    );
    await svc.unload({}, ctx);
  }
  if (process.env['KEEP_PACKS'] !== '1') await rm(dir, { recursive: true, force: true });
}
