/**
 * @file Benchmark: decode + downmix + resample to 24 kHz, in × real time, for WAV (native), FLAC and MP3
 * (ffmpeg), against a baseline measured in the same run: ffmpeg doing the whole job itself (decode, downmix
 * and its own swresample to 24 kHz mono). Also the resampler alone. Run: `node bench/run.mjs audio-decode [seconds]`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMonoChunks, probeAudio } from '../model/audio/decode';
import { StreamingResampler, resample } from '../model/audio/resample';
import { captionWindow, outputLength, readWindow } from '../model/audio/windows';

const seconds = Number(process.argv[2] ?? 120);
const RATE = 44100;

function writeWav16(path: string, l: Float32Array, r: Float32Array): void {
  const data = Buffer.alloc(l.length * 4);
  for (let i = 0; i < l.length; i++) {
    data.writeInt16LE(Math.round(l[i]! * 32767), i * 4);
    data.writeInt16LE(Math.round(r[i]! * 32767), i * 4 + 2);
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(2, 22);
  h.writeUInt32LE(RATE, 24);
  h.writeUInt32LE(RATE * 4, 28);
  h.writeUInt16LE(4, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([h, data]));
}

async function ours(file: string): Promise<number> {
  const info = await probeAudio(file);
  const rs = new StreamingResampler(info.sampleRateHz, 24000);
  let n = 0;
  const t0 = performance.now();
  for await (const c of decodeMonoChunks(info)) n += rs.push(c).length;
  n += rs.flush().length;
  const ms = performance.now() - t0;
  if (info.isExact && n !== outputLength(info)) throw new Error(`length ${n} != ${outputLength(info)}`);
  return ms;
}

function ffmpegBaseline(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-ac', '1', '-ar', '24000', '-f', 'f32le', 'pipe:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    p.stdout.on('data', () => undefined);
    p.on('error', reject);
    p.on('close', () => resolve(performance.now() - t0));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'bench-decode-'));
try {
  const n = RATE * seconds;
  const l = Float32Array.from({ length: n }, (_, i) => 0.4 * Math.sin((2 * Math.PI * 440 * i) / RATE));
  const r = Float32Array.from({ length: n }, (_, i) => 0.4 * Math.sin((2 * Math.PI * (200 + (i / n) * 4000) * i) / RATE));
  const wav = join(dir, 'a.wav');
  writeWav16(wav, l, r);
  execFileSync('ffmpeg', ['-v', 'error', '-i', wav, join(dir, 'a.flac')]);
  execFileSync('ffmpeg', ['-v', 'error', '-i', wav, '-b:a', '192k', join(dir, 'a.mp3')]);
  console.log(`audio-decode: ${seconds} s stereo 44.1 kHz → 24 kHz mono; × real time (higher is better); baseline = ffmpeg decode+downmix+swresample`);
  for (const f of ['a.wav', 'a.flac', 'a.mp3']) {
    const file = join(dir, f);
    await ours(file); // warm-up
    const mine = Math.min(await ours(file), await ours(file));
    const base = Math.min(await ffmpegBaseline(file), await ffmpegBaseline(file));
    console.log(`  ${f.padEnd(7)} ours ${(seconds / (mine / 1000)).toFixed(0).padStart(6)}×   ffmpeg-only ${(seconds / (base / 1000)).toFixed(0).padStart(6)}×   ratio ${(base / mine).toFixed(2)}`);
  }
  const mono = Float32Array.from(l, (v, i) => (v + r[i]!) / 2);
  for (const rate of [44100, 48000]) {
    const x = rate === RATE ? mono : mono.subarray(0, Math.floor(mono.length * (RATE / rate)));
    const t0 = performance.now();
    resample(x, rate, 24000);
    const ms = performance.now() - t0;
    console.log(`  resample only ${rate} → 24000: ${((x.length / rate) / (ms / 1000)).toFixed(0)}× real time`);
  }
  for (const f of ['a.wav', 'a.mp3']) {
    const info = await probeAudio(join(dir, f));
    const t0 = performance.now();
    await readWindow(info, captionWindow(outputLength(info)));
    console.log(`  caption window (30 s at 35%) of ${f}: ${(performance.now() - t0).toFixed(0)} ms`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
