/**
 * @file Benchmark: model-pack conversion speed (MB/s of checkpoint) and peak memory (max RSS), float16
 * checkpoint → int4 pack, on a generated MusiLingo-like checkpoint with Vicuna-7B-sized layers (4096 hidden,
 * 11008 MLP: each layer is 4 × 4096² + 3 × 4096×11008 float16 ≈ 405 MB) plus tiny-mert and an adapter.
 * Baseline in the same run: a plain read + sha256 of the same files in a fresh process.
 * Run: `node bench/run.mjs convert [--layers N] [--vocab V] [--variant int4|float16|float32]` (--vocab 32001
 * for Vicuna's real embedding and lm_head sizes).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCheckpoint } from '../model/safetensors';
import { f32ToF16 } from '../model/tensor/half';
import { convertCheckpoint } from '../main/models/convert';
import { writeSafetensorsStreaming, type StreamedTensor } from './lib/safetensors-stream';
import { writeLlamaTokenizer } from '../main/models/demo';

const H = 4096;
const I = 11008;
let VOCAB = 2048;
const FIXTURES = join(process.cwd(), 'test', 'fixtures');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

type Spec = StreamedTensor;

function randomF16(n: number, scale: number): Uint8Array {
  const f = new Float32Array(n);
  let s = 12345 + n;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    f[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  const h = f32ToF16(f);
  return new Uint8Array(h.buffer);
}


async function generate(dir: string, layers: number): Promise<number> {
  const p = 'model.llama_model.';
  const specs: Spec[] = [
    { name: `${p}model.embed_tokens.weight`, dtype: 'F16', shape: [VOCAB, H], fill: (n) => randomF16(n, 0.02) },
    { name: `${p}lm_head.weight`, dtype: 'F16', shape: [VOCAB, H], fill: (n) => randomF16(n, 0.02) },
    { name: `${p}model.norm.weight`, dtype: 'F16', shape: [H], fill: (n) => randomF16(n, 1) },
  ];
  for (let l = 0; l < layers; l++) {
    const q = `${p}model.layers.${l}.`;
    for (const m of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) specs.push({ name: `${q}self_attn.${m}.weight`, dtype: 'F16', shape: [H, H], fill: (n) => randomF16(n, 0.02) });
    specs.push({ name: `${q}mlp.gate_proj.weight`, dtype: 'F16', shape: [I, H], fill: (n) => randomF16(n, 0.02) });
    specs.push({ name: `${q}mlp.up_proj.weight`, dtype: 'F16', shape: [I, H], fill: (n) => randomF16(n, 0.02) });
    specs.push({ name: `${q}mlp.down_proj.weight`, dtype: 'F16', shape: [H, I], fill: (n) => randomF16(n, 0.02) });
    specs.push({ name: `${q}input_layernorm.weight`, dtype: 'F16', shape: [H], fill: (n) => randomF16(n, 1) });
    specs.push({ name: `${q}post_attention_layernorm.weight`, dtype: 'F16', shape: [H], fill: (n) => randomF16(n, 1) });
  }
  let total = await writeSafetensorsStreaming(join(dir, 'model-00002-of-00003.safetensors'), specs, { format: 'pt' });
  // MERT: tiny-mert's weights under a prefix; adapter 64 → 4096.
  const mert = await openCheckpoint(join(FIXTURES, 'tiny-mert', 'model.safetensors'));
  const mertSpecs: Spec[] = [];
  for (const n of mert.names()) {
    const raw = await mert.readRaw(n);
    mertSpecs.push({ name: `model.audio_encoder.${n}`, dtype: 'F32', shape: raw.shape, fill: () => raw.bytes });
  }
  await mert.close();
  total += await writeSafetensorsStreaming(join(dir, 'model-00001-of-00003.safetensors'), mertSpecs, { format: 'pt' });
  total += await writeSafetensorsStreaming(join(dir, 'model-00003-of-00003.safetensors'), [
    { name: 'model.llama_proj.weight', dtype: 'F32', shape: [H, 64], fill: (n) => new Uint8Array(new Float32Array(n).fill(0.01).buffer) },
    { name: 'model.llama_proj.bias', dtype: 'F32', shape: [H], fill: (n) => new Uint8Array(new Float32Array(n).buffer) },
  ], { format: 'pt' });
  const weightMap: Record<string, string> = {};
  for (const s of specs) weightMap[s.name] = 'model-00002-of-00003.safetensors';
  for (const s of mertSpecs) weightMap[s.name] = 'model-00001-of-00003.safetensors';
  weightMap['model.llama_proj.weight'] = 'model-00003-of-00003.safetensors';
  weightMap['model.llama_proj.bias'] = 'model-00003-of-00003.safetensors';
  await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }));
  const mertConfig = JSON.parse(await readFile(join(FIXTURES, 'tiny-mert', 'config.json'), 'utf8')) as unknown;
  await writeFile(join(dir, 'config.json'), JSON.stringify({
    model_type: 'musilingo',
    mert_config: mertConfig,
    llama_config: { model_type: 'llama', hidden_size: H, intermediate_size: I, num_attention_heads: 32, num_hidden_layers: layers, rms_norm_eps: 1e-6, vocab_size: VOCAB, max_position_embeddings: 2048 },
  }));
  // A tokenizer the converter accepts (it runs the tokenizer before building a pack): LLaMA's, as the demo has.
  await writeLlamaTokenizer(dir);
  return total;
}

/** Child mode: do one job and print {ms, maxRssBytes} as JSON. */
async function child(mode: string, dir: string, out: string, variant: string): Promise<void> {
  const t0 = performance.now();
  let buildRss = 0;
  let buildMs = 0;
  if (mode === 'read') {
    for (const f of ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']) {
      const h = createHash('sha256');
      for await (const c of createReadStream(join(dir, f), { highWaterMark: 4 << 20 })) h.update(c as Buffer);
      h.digest();
    }
  } else {
    await convertCheckpoint({
      modelId: 'bench', sources: dir, outDir: out, variant: variant as 'int4', activationDtype: 'float32',
      onProgress: (p) => {
        if (p.stage === 'smoke' && buildRss === 0) {
          buildRss = process.resourceUsage().maxRSS * 1024;
          buildMs = performance.now() - t0;
        }
      },
    });
  }
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024, buildRss, buildMs })}\n`);
}

interface ChildResult {
  ms: number;
  maxRssBytes: number;
  /** Convert only: peak RSS and time when the graphs were written, before the smoke run loads them. */
  buildRss: number;
  buildMs: number;
}

function runChild(mode: string, dir: string, out: string, variant: string): ChildResult {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [self, '--child', mode, dir, out, variant], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench child ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as ChildResult;
}

async function main(): Promise<void> {
  const ci = process.argv.indexOf('--child');
  if (ci >= 0) {
    const [mode = 'read', dir = '', out = '', variant = 'int4'] = process.argv.slice(ci + 1);
    await child(mode, dir, out, variant);
    return;
  }
  const layers = Number(arg('layers', '2'));
  VOCAB = Number(arg('vocab', '2048'));
  const variant = arg('variant', 'int4');
  const dir = await mkdtemp(join(tmpdir(), 'bench-convert-'));
  try {
    process.stdout.write(`Generating a checkpoint: ${layers} Vicuna-7B-sized layer(s), vocab ${VOCAB}, float16…\n`);
    const bytes = await generate(dir, layers);
    const mb = bytes / 1e6;
    const base = runChild('read', dir, '', variant);
    const conv = runChild('convert', dir, join(dir, 'pack'), variant);
    const packBytes = (await stat(join(dir, 'pack', 'decoder.onnx.data')).catch(() => ({ size: 0 }))).size;
    const row = (label: string, r: { ms: number; maxRssBytes: number }): string =>
      `${label.padEnd(34)} ${(r.ms / 1000).toFixed(2).padStart(7)} s  ${(mb / (r.ms / 1000)).toFixed(1).padStart(8)} MB/s  peak RSS ${(r.maxRssBytes / 1e6).toFixed(0).padStart(6)} MB`;
    process.stdout.write(`checkpoint ${mb.toFixed(0)} MB → ${variant} decoder data ${(packBytes / 1e6).toFixed(0)} MB\n`);
    process.stdout.write(`${row('baseline: read + sha256', base)}\n`);
    process.stdout.write(`${row(`convert float16 → ${variant} (graphs)`, { ms: conv.buildMs, maxRssBytes: conv.buildRss })}\n`);
    process.stdout.write(`${row(`  … + smoke run (loads the pack)`, conv)}\n`);
    process.stdout.write(`ratio: writing the graphs takes ${(conv.buildMs / base.ms).toFixed(1)}× the plain read; peak RSS ${(conv.buildRss / base.maxRssBytes).toFixed(1)}× the reader's\n`);
    process.stdout.write(`per 7B decoder (32 such layers + 32001-row vocab, ~13.5 GB): ~${((13.5e3 / (mb / (conv.buildMs / 1000))) / 60).toFixed(1)} min at this rate\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
