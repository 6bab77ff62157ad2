/**
 * @file Bench: captions per hour on the CPU for a library of 30 s tracks at the real shapes (random weights,
 * fixed token budget), with the time per track split into audio decode + resample, MERT encoder, decoder
 * prefill and decode; the decoder part is printed beside llama.cpp's (node-llama-cpp 3.21.1, Q4_0 GGUF of
 * the same int4 blocks, bench/lib/llama-pair.ts) and the captions/hour that would give.
 *
 *   npm run bench -- captions-cpu [--tracks 3] [--prompt 60] [--new 64] [--threads 2]
 *        [--hidden 4096 --layers 32 --intermediate 11008 --vocab 32001] [--mert-layers 24] [--mert int8]
 *
 * A 30 s track is one caption window (7 audio tokens after 325-frame pooling); `--prompt` is the decoder
 * prompt length (MusiLingo's instruction + audio rows, about 60 tokens), `--new` the token budget. Audio
 * decode is measured on `--tracks` generated 30 s OGG files; the encoder on one window, the decoder on one
 * caption (batch 1): both cost the same for every 30 s track. Real shapes take minutes on 2 cores and about
 * 9 GB RAM; develop with e.g. `--hidden 1024 --layers 4 --intermediate 2816 --vocab 4096 --mert-layers 2`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { probeAudio } from '../model/audio/decode';
import { streamWindows } from '../model/audio/windows';
import { buildLlamaDecoder } from '../model/llama/build-decoder';
import { MERT_V1_330M } from '../model/mert/config';
import type { MertConfig } from '../model/mert/config';
import { createMertSession, encodeWindow } from '../model/mert/encode';
import { buildMertEncoder } from '../model/mert/encoder-graph';
import { openCheckpoint } from '../model/safetensors';
import { childLlama, childOurs, llamaConfig, writeCheckpoint, writeLlamaGguf } from './lib/llama-pair';
import type { ChildResult, Shape } from './lib/llama-pair';
import { randomMertSource } from './lib/random-mert';

const { values: a } = parseArgs({
  options: {
    tracks: { type: 'string', default: '3' }, prompt: { type: 'string', default: '60' }, new: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' }, hidden: { type: 'string', default: '4096' }, layers: { type: 'string', default: '32' },
    intermediate: { type: 'string', default: '11008' }, vocab: { type: 'string', default: '32001' },
    'mert-layers': { type: 'string', default: String(MERT_V1_330M.numLayers) }, mert: { type: 'string', default: 'float32' },
    child: { type: 'string' }, dir: { type: 'string' },
  },
});
const shape: Shape = {
  H: Number(a.hidden), L: Number(a.layers), I: Number(a.intermediate), V: Number(a.vocab), heads: Math.max(1, Number(a.hidden) / 128),
  P: Number(a.prompt), N: Number(a.new), threads: Number(a.threads), batches: [1],
};
const DECODER = 'decoder-a4-gqa.onnx';

if (a.child) {
  const res = a.child === 'ours' ? await childOurs(a.dir!, shape, DECODER) : await childLlama(a.dir!, shape);
  process.stdout.write(`${JSON.stringify(res)}\n`);
  process.exit(0);
}

function runChild(mode: 'ours' | 'llama', dir: string): ChildResult {
  const r = spawnSync(process.execPath, ['--enable-source-maps', fileURLToPath(import.meta.url), ...process.argv.slice(2), '--child', mode, '--dir', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`${mode} child failed (status ${r.status}): ${r.stdout.slice(-2000)}`);
  return JSON.parse(line) as ChildResult;
}

const dir = await mkdtemp(join(tmpdir(), 'bench-captions-cpu-'));
try {
  const loads = [loadavg()[0]!];
  // 1. Audio: decode + resample each 30 s track to 24 kHz mono windows (the app's own streamWindows).
  const tracks = Number(a.tracks);
  let audioS = 0;
  for (let i = 0; i < tracks; i++) {
    const file = join(dir, `track-${i}.ogg`);
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `sine=frequency=${220 + 110 * i}:sample_rate=44100:duration=30`, '-ac', '2', '-c:a', 'libvorbis', file]);
    const t0 = performance.now();
    let samples = 0;
    for await (const w of streamWindows(await probeAudio(file))) samples += w.pcm.length;
    audioS += (performance.now() - t0) / 1000;
    if (samples === 0) throw new Error(`no audio decoded from ${file}`);
  }
  const audioPerTrack = audioS / tracks;

  // 2. Encoder: one 30 s window at the MERT-v1-330M shape.
  const mcfg: MertConfig = { ...MERT_V1_330M, numLayers: Number(a['mert-layers']) };
  await buildMertEncoder({ checkpoint: randomMertSource(mcfg), config: mcfg, variant: 'float32', outPath: join(dir, 'enc.onnx'), ...(a.mert === 'int8' ? { linearQuantization: 'int8-dynamic' as const } : {}) });
  const enc = await createMertSession(join(dir, 'enc.onnx'), { intraOpNumThreads: shape.threads });
  loads.push(loadavg()[0]!);
  const window = Float32Array.from({ length: 30 * mcfg.sampleRateHz }, (_, i) => 0.3 * Math.sin(i * 0.05));
  const encoderS = (await encodeWindow(enc, window)).runMs / 1000;
  await enc.release();
  await rm(join(dir, 'enc.onnx.data'), { force: true });

  // 3. Decoder: our CPU pack's graph (int4, int8 activations, gqa + KV in place) and llama.cpp on the same blocks.
  const ckPath = join(dir, 'model.safetensors');
  await writeCheckpoint(ckPath, shape);
  const ck = await openCheckpoint(ckPath);
  await buildLlamaDecoder({ checkpoint: ck, config: llamaConfig(shape), variant: 'int4', int4ActivationDtype: 'float32', outPath: join(dir, DECODER), lastTokenLogitsOnly: true, attention: 'gqa', accuracyLevel: 4 });
  await ck.close();
  await writeLlamaGguf(join(dir, 'model.gguf'), ckPath, shape, join(dir, DECODER));
  loads.push(loadavg()[0]!);
  const ours = runChild('ours', dir).runs[0]!;
  loads.push(loadavg()[0]!);
  const ref = runChild('llama', dir).runs[0]!;
  const prefill = (r: typeof ours): number => shape.P / r.prefillTps;
  const decode = (r: typeof ours): number => (shape.N - 1) / r.decodeTps;

  const perTrack = audioPerTrack + encoderS + prefill(ours) + decode(ours);
  const perTrackLlama = audioPerTrack + encoderS + prefill(ref) + decode(ref);
  const f = (x: number): string => x.toFixed(2);
  console.log(`captions-cpu: 30 s tracks; MERT ${mcfg.numLayers} layers (${a.mert}); decoder hidden ${shape.H}, ${shape.L} layers, vocab ${shape.V}; prompt ${shape.P}, ${shape.N} new tokens, batch 1, ${shape.threads} threads`);
  console.log(`load average during the runs: ${loads.map((x) => x.toFixed(1)).join(', ')} (${cpus().length} CPUs)`);
  console.log('| per track | ours, s | with llama.cpp as the decoder, s |');
  console.log('|---|---|---|');
  console.log(`| audio decode + resample (mean of ${tracks}) | ${f(audioPerTrack)} | ${f(audioPerTrack)} |`);
  console.log(`| MERT encoder (one window) | ${f(encoderS)} | ${f(encoderS)} |`);
  console.log(`| decoder prefill (${shape.P} tokens) | ${f(prefill(ours))} | ${f(prefill(ref))} |`);
  console.log(`| decoder decode (${shape.N - 1} steps) | ${f(decode(ours))} | ${f(decode(ref))} |`);
  console.log(`| total | ${f(perTrack)} | ${f(perTrackLlama)} |`);
  console.log(`captions/hour: ours ${(3600 / perTrack).toFixed(0)}, with llama.cpp's decoder ${(3600 / perTrackLlama).toFixed(0)} (ratio ${(perTrackLlama / perTrack).toFixed(2)}×); decoder part alone ${((prefill(ref) + decode(ref)) / (prefill(ours) + decode(ours))).toFixed(2)}×`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
