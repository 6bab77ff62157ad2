/**
 * @file Benchmark: peak memory while embedding every 30 s window of a generated 10-minute WAV vs a 1-minute
 * one (tiny-mert encoder, CPU EP), each in a fresh process; the windowing must keep the peak flat.
 * Run: `node bench/run.mjs mert-memory`.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeAudio } from '../model/audio/decode';
import { streamWindows } from '../model/audio/windows';
import { readMertConfig } from '../model/mert/config';
import { createMertSession, encodeWindow } from '../model/mert/encode';
import { buildMertEncoder } from '../model/mert/encoder-graph';
import { openCheckpoint } from '../model/safetensors';

const RATE = 44100;

/** Writes a 16-bit stereo WAV of `seconds` in 1 s blocks (the generator itself stays small). */
function writeLongWav(path: string, seconds: number): void {
  const frames = RATE * seconds;
  const fd = openSync(path, 'w');
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + frames * 4, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(2, 22);
  h.writeUInt32LE(RATE, 24);
  h.writeUInt32LE(RATE * 4, 28);
  h.writeUInt16LE(4, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(frames * 4, 40);
  writeSync(fd, h);
  const block = Buffer.alloc(RATE * 4);
  for (let s = 0; s < seconds; s++) {
    for (let i = 0; i < RATE; i++) {
      const t = s + i / RATE;
      block.writeInt16LE(Math.round(12000 * Math.sin(2 * Math.PI * (220 + 3 * t) * t)), i * 4);
      block.writeInt16LE(Math.round(8000 * Math.sin(2 * Math.PI * 660 * t)), i * 4 + 2);
    }
    writeSync(fd, block);
  }
  closeSync(fd);
}

async function child(onnx: string, wav: string): Promise<void> {
  const session = await createMertSession(onnx, { intraOpNumThreads: 2 });
  const info = await probeAudio(wav);
  let peak = process.memoryUsage().rss;
  let windows = 0;
  let tokens = 0;
  const t0 = performance.now();
  for await (const { pcm } of streamWindows(info)) {
    const enc = await encodeWindow(session, pcm);
    windows++;
    tokens += enc.tokens;
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ windows, tokens, peakRssMiB: peak / 2 ** 20, maxRssMiB: process.resourceUsage().maxRSS / 1024, xRealTime: info.durationSec / (ms / 1000) }) + '\n');
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!, process.argv[4]!);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'bench-mem-'));
  try {
    const fixture = join(process.cwd(), 'test/fixtures/tiny-mert');
    const ck = await openCheckpoint(join(fixture, 'model.safetensors'));
    const onnx = join(dir, 'enc.onnx');
    await buildMertEncoder({ checkpoint: ck, config: await readMertConfig(join(fixture, 'config.json')), variant: 'float32', outPath: onnx });
    await ck.close();
    console.log('mert-memory: all 30 s windows of a WAV through tiny-mert, fresh process each (baseline = the 1-minute file)');
    const results: Record<string, { peakRssMiB: number; maxRssMiB: number }> = {};
    for (const minutes of [1, 10]) {
      const wav = join(dir, `${minutes}min.wav`);
      writeLongWav(wav, minutes * 60);
      const r = spawnSync(process.execPath, [process.argv[1]!, '--child', onnx, wav], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { windows: number; tokens: number; peakRssMiB: number; maxRssMiB: number; xRealTime: number };
      results[minutes] = res;
      console.log(`  ${String(minutes).padStart(2)} min: ${res.windows} windows, ${res.tokens} tokens, peak RSS ${res.peakRssMiB.toFixed(0)} MiB (maxRSS ${res.maxRssMiB.toFixed(0)} MiB), ${res.xRealTime.toFixed(0)}× real time`);
      rmSync(wav);
    }
    console.log(`  ratio 10 min / 1 min peak RSS: ${(results[10]!.maxRssMiB / results[1]!.maxRssMiB).toFixed(2)} (file is 10× larger)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
