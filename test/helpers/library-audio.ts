/**
 * @file Test helpers for the library: tiny WAV files written in TypeScript (fast, distinct bytes per file)
 * and real files of every supported format encoded by ffmpeg with tags set.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** RIFF INFO tags: INAM title, IART artist, IPRD album, IGNR genre, ICRD year, ICMT comment, ITRK track. */
export type WavTags = Partial<Record<'INAM' | 'IART' | 'IPRD' | 'IGNR' | 'ICRD' | 'ICMT' | 'ITRK', string>>;

/**
 * A mono 16-bit PCM WAV of `samples` samples of a sine at `freqHz` (distinct frequencies give distinct bytes),
 * with an INFO list chunk holding `tags` (UTF-8).
 */
export function makeWav(opts: { sampleRateHz?: number; samples?: number; freqHz?: number; tags?: WavTags } = {}): Buffer {
  const rate = opts.sampleRateHz ?? 8000;
  const n = opts.samples ?? 800;
  const freq = opts.freqHz ?? 440;
  const info: Buffer[] = [];
  for (const [id, value] of Object.entries(opts.tags ?? {})) {
    const v = Buffer.from(`${value}\0`, 'utf8');
    const pad = v.length % 2;
    const h = Buffer.alloc(8);
    h.write(id, 0, 'ascii');
    h.writeUInt32LE(v.length, 4);
    info.push(h, v, Buffer.alloc(pad));
  }
  const infoBody = Buffer.concat(info);
  const list = infoBody.length ? Buffer.concat([Buffer.from('LIST'), u32(infoBody.length + 4), Buffer.from('INFO'), infoBody]) : Buffer.alloc(0);
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(Math.sin((2 * Math.PI * freq * i) / rate) * 12000), i * 2);
  const fmt = Buffer.alloc(16);
  fmt.writeUInt16LE(1, 0); // PCM
  fmt.writeUInt16LE(1, 2); // mono
  fmt.writeUInt32LE(rate, 4);
  fmt.writeUInt32LE(rate * 2, 8);
  fmt.writeUInt16LE(2, 12);
  fmt.writeUInt16LE(16, 14);
  const body = Buffer.concat([Buffer.from('WAVE'), Buffer.from('fmt '), u32(16), fmt, list, Buffer.from('data'), u32(data.length), data]);
  return Buffer.concat([Buffer.from('RIFF'), u32(body.length), body]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
}

/** Tags set on generated files (ffmpeg -metadata keys). */
export interface FfmpegTags {
  title?: string;
  artist?: string;
  album?: string;
  album_artist?: string;
  genre?: string;
  date?: string;
  track?: string;
  disc?: string;
  comment?: string;
  [key: string]: string | undefined;
}

/** Encoder arguments per output extension. `b.m4a` style names pick ALAC via `codec`. */
export const FORMAT_ARGS: Record<string, string[]> = {
  mp3: ['-c:a', 'libmp3lame', '-b:a', '64k', '-id3v2_version', '3'],
  flac: ['-c:a', 'flac'],
  ogg: ['-c:a', 'libvorbis', '-q:a', '1'],
  opus: ['-c:a', 'libopus', '-b:a', '32k'],
  m4a: ['-c:a', 'aac', '-b:a', '64k'],
  alac: ['-c:a', 'alac'],
  wav: ['-c:a', 'pcm_s16le'],
  aiff: ['-c:a', 'pcm_s16be', '-write_id3v2', '1'],
  wma: ['-c:a', 'wmav2', '-b:a', '64k'],
};

/**
 * Encodes `seconds` of a sine at `freqHz` to `out` with ffmpeg, format from `kind` (a key of FORMAT_ARGS;
 * 'alac' writes an .m4a with ALAC), tags from `tags`.
 */
export async function makeAudio(out: string, kind: string, tags: FfmpegTags = {}, opts: { seconds?: number; freqHz?: number; channels?: number } = {}): Promise<void> {
  const args = FORMAT_ARGS[kind];
  if (!args) throw new Error(`Unknown test audio kind "${kind}". Expected one of: ${Object.keys(FORMAT_ARGS).join(', ')}`);
  const meta = Object.entries(tags).flatMap(([k, v]) => (v === undefined ? [] : ['-metadata', `${k}=${v}`]));
  await run('ffmpeg', [
    '-v', 'error', '-y', '-f', 'lavfi',
    '-i', `sine=frequency=${opts.freqHz ?? 440}:duration=${opts.seconds ?? 0.5}:sample_rate=44100`,
    '-ac', String(opts.channels ?? 1),
    ...args, ...meta, ...(kind === 'alac' ? ['-f', 'ipod'] : []), out,
  ]);
}

/** A fresh temporary folder and its cleanup. */
export function tempDir(prefix = 'musilingo-lib-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000, everyMs = 25): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
