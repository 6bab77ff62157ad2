/**
 * @file Captioning on a clean machine: with no ffmpeg/ffprobe on PATH and MUSILINGO_FFMPEG unset (the
 * 'no-ffmpeg' vitest project, [Note: Decode tests run twice]), `caption --all` over MP3, FLAC, Ogg Vorbis, Opus,
 * M4A (AAC and ALAC), WAV and AIFF files succeeds with the bundled decoders, and a file whose codec nothing
 * decodes fails alone with "unsupported codec <name> in <file>" while the batch goes on.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOnPath } from '../../../model/audio/decoders';
import { makeAudio } from './helpers';
import { buildTinyPack } from './tiny-pack';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'musilingo.mjs');
const SYSTEM_FFMPEG = process.env.MUSILINGO_TEST_SYSTEM_FFMPEG ?? 'ffmpeg';
const TIMEOUT_MS = 240_000;

let work: string;
let pack: string;
let music: string;

function cli(db: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, '--db', db, ...args], {
    env: { ...process.env, MUSILINGO_HOME: join(work, 'home'), MUSILINGO_THREADS: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Encodes 3 s of a tone with the system ffmpeg (called by absolute path: it is not on this run's PATH). */
function encode(name: string, freq: number, codecArgs: string[]): void {
  execFileSync(SYSTEM_FFMPEG, ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=f=${freq}:d=3:r=44100`, '-ac', '2', ...codecArgs, join(music, name)]);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ml-no-ffmpeg-'));
  pack = join(work, 'pack');
  await buildTinyPack(work, pack);
  music = join(work, 'music');
  mkdirSync(music);
  encode('a.mp3', 300, ['-c:a', 'libmp3lame', '-b:a', '128k']);
  encode('b.flac', 400, ['-c:a', 'flac']);
  encode('c.ogg', 500, ['-c:a', 'libvorbis']);
  encode('d.opus', 600, ['-c:a', 'libopus', '-ar', '48000']);
  encode('e.m4a', 700, ['-c:a', 'aac', '-b:a', '128k']);
  encode('f-alac.m4a', 800, ['-c:a', 'alac']);
  makeAudio(music, 'g.wav', 3, ['sine', '900']);
  makeAudio(music, 'h.aiff', 3, ['sine', '1000']);
  // A WAV with a format tag no decoder knows (0x1234).
  const odd = readFileSync(join(music, 'g.wav'));
  odd.writeUInt16LE(0x1234, 20);
  writeFileSync(join(music, 'z-odd-codec.wav'), odd);
}, 180_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('caption with no ffmpeg on PATH', () => {
  it('runs where no ffmpeg or ffprobe can be found on PATH or through MUSILINGO_FFMPEG', () => {
    expect(process.env.MUSILINGO_TEST_FFMPEG_MODE).toBe('stripped');
    expect(findOnPath('ffmpeg')).toBeUndefined();
    expect(findOnPath('ffprobe')).toBeUndefined();
    expect(process.env.MUSILINGO_FFMPEG).toBeUndefined();
    expect(process.env.MUSILINGO_FFPROBE).toBeUndefined();
  });

  it('captions MP3, FLAC, Ogg, Opus, M4A (AAC, ALAC), WAV and AIFF; an unknown codec fails alone', { timeout: TIMEOUT_MS }, async () => {
    const db = join(work, 'lib.sqlite');
    const scan = await cli(db, ['scan', music]);
    expect(scan.code, scan.stderr).toBe(0);
    const run = await cli(db, ['caption', '--all', '--model', pack, '--json']);
    let summary: { state: string; done: number; failed: number; failures: { error: string }[] };
    try {
      summary = JSON.parse(run.stdout) as typeof summary;
    } catch {
      throw new Error(`not JSON (exit ${run.code}): ${run.stdout}\n${run.stderr}`);
    }
    expect(summary.failures.map((f) => f.error)).toEqual([expect.stringContaining(`unsupported codec 0x1234 in ${join(music, 'z-odd-codec.wav')}`)]);
    expect(summary).toMatchObject({ state: 'done', done: 8, failed: 1 });

    const conn = new Database(db, { readonly: true });
    const rows = conn.prepare(`SELECT t.path AS path, c.text AS text FROM captions c JOIN tracks t ON t.id = c.track_id
      WHERE c.source = 'model' ORDER BY t.path`).all() as { path: string; text: string }[];
    conn.close();
    expect(rows.map((r) => r.path.slice(music.length + 1))).toEqual(['a.mp3', 'b.flac', 'c.ogg', 'd.opus', 'e.m4a', 'f-alac.m4a', 'g.wav', 'h.aiff']);
    for (const r of rows) expect(r.text.trim().length, r.path).toBeGreaterThan(0);
  });
});
