/**
 * @file Benchmark: decode + downmix + resample to 24 kHz, in × real time, for WAV (native) and every compressed
 * format through each decoder path (the system ffmpeg via MUSILINGO_FFMPEG, and the bundled ffmpeg that runs
 * when none is installed), against a baseline measured in the same run: the system ffmpeg doing the whole job
 * itself (decode, downmix and its own swresample to 24 kHz mono). Also the resampler alone.
 * Run: `node bench/run.mjs audio-decode [seconds]`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMonoChunks, probeAudio } from '../model/audio/decode';
import { bundledBinary, describeBinary, findOnPath } from '../model/audio/decoders';
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

const SYSTEM = { ffmpeg: findOnPath('ffmpeg'), ffprobe: findOnPath('ffprobe') };
const BUNDLED = { ffmpeg: bundledBinary('ffmpeg'), ffprobe: bundledBinary('ffprobe') };
if (!SYSTEM.ffmpeg || !SYSTEM.ffprobe) throw new Error('the bench compares against the system ffmpeg/ffprobe: install them');

/** Points the decoder resolution (model/audio/decoders.ts) at one path: 'system' via MUSILINGO_FFMPEG, or 'bundled'. */
function useDecoder(which: 'system' | 'bundled'): void {
  if (which === 'system') {
    process.env.MUSILINGO_FFMPEG = SYSTEM.ffmpeg;
    process.env.MUSILINGO_FFPROBE = SYSTEM.ffprobe;
  } else {
    delete process.env.MUSILINGO_FFMPEG;
    delete process.env.MUSILINGO_FFPROBE;
  }
}

async function best(file: string): Promise<number> {
  await ours(file); // warm-up
  // Best of three: the machine is shared, and the minimum is the least disturbed run.
  return Math.min(await ours(file), await ours(file), await ours(file));
}

function ffmpegBaseline(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(SYSTEM.ffmpeg!, ['-nostdin', '-v', 'error', '-i', file, '-ac', '1', '-ar', '24000', '-f', 'f32le', 'pipe:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
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
  const enc = (out: string, ...codec: string[]): void => {
    execFileSync(SYSTEM.ffmpeg!, ['-v', 'error', '-i', wav, ...codec, join(dir, out)]);
  };
  enc('a.flac');
  enc('a.mp3', '-b:a', '192k');
  enc('a.ogg', '-c:a', 'libvorbis');
  enc('a.opus', '-c:a', 'libopus', '-b:a', '128k');
  enc('aac.m4a', '-c:a', 'aac', '-b:a', '192k');
  enc('alac.m4a', '-c:a', 'alac');
  console.log(`audio-decode: ${seconds} s stereo 44.1 kHz → 24 kHz mono; × real time (higher is better); baseline = system ffmpeg decode+downmix+swresample`);
  console.log(`  system:  ${SYSTEM.ffmpeg}, ${SYSTEM.ffprobe}`);
  console.log(`  bundled: ${BUNDLED.ffmpeg ? describeBinary(BUNDLED.ffmpeg) : 'none for this platform'}; ${BUNDLED.ffprobe ? describeBinary(BUNDLED.ffprobe) : ''}`);
  console.log(`  ${'file'.padEnd(9)} ${'ours+system'.padStart(12)} ${'ours+bundled'.padStart(13)} ${'ffmpeg-only'.padStart(12)}  bundled/system  system/baseline`);
  const x = (ms: number): string => `${(seconds / (ms / 1000)).toFixed(0)}×`;
  for (const f of ['a.wav', 'a.flac', 'alac.m4a', 'a.mp3', 'a.ogg', 'a.opus', 'aac.m4a']) {
    const file = join(dir, f);
    useDecoder('system');
    const sys = await best(file);
    let bun = Number.NaN;
    if (BUNDLED.ffmpeg && BUNDLED.ffprobe) {
      useDecoder('bundled');
      bun = await best(file);
    }
    useDecoder('system');
    const base = Math.min(await ffmpegBaseline(file), await ffmpegBaseline(file));
    console.log(`  ${f.padEnd(9)} ${x(sys).padStart(12)} ${(Number.isNaN(bun) ? '-' : x(bun)).padStart(13)} ${x(base).padStart(12)}  ${(sys / bun).toFixed(2).padStart(14)}  ${(base / sys).toFixed(2).padStart(15)}`);
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
    useDecoder('bundled');
    const info = await probeAudio(join(dir, f));
    const t0 = performance.now();
    await readWindow(info, captionWindow(outputLength(info)));
    console.log(`  caption window (30 s at 35%) of ${f}: ${(performance.now() - t0).toFixed(0)} ms`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
