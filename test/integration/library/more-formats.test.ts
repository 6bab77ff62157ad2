/**
 * @file Formats beyond the common ones: everything music-metadata parses and ffmpeg decodes is scanned (Speex,
 * Matroska and WebM audio, MPEG layer II, WavPack, DSF), with durations against ffprobe; audio formats the
 * library cannot read are counted and listed with their reason (`musilingo list --skipped`), never dropped
 * silently. Run through the CLI as a user would.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffprobeDuration } from '../../helpers/ffprobe';
import { tempDir } from '../../helpers/library-audio';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'musilingo.mjs');

/** name → ffmpeg output arguments (input: 2.5 s of pink noise at 44.1 kHz, or 16 kHz for Speex). */
const READ: Record<string, string[]> = {
  'speex.spx': ['-ar', '16000', '-c:a', 'libspeex'],
  'flac.mka': ['-c:a', 'flac'],
  'opus.webm': ['-c:a', 'libopus'],
  'layer2.mp2': ['-c:a', 'mp2', '-b:a', '192k'],
  'lossless.wv': ['-c:a', 'wavpack'],
};
const SKIPPED: Record<string, string[]> = {
  'dolby.ac3': ['-c:a', 'ac3'],
  'true-audio.tta': ['-c:a', 'tta'],
  'apple.caf': ['-c:a', 'alac'],
  'sun.au': ['-c:a', 'pcm_s16be'],
};

/**
 * A DSF file (Sony's DSD stream file; ffmpeg decodes it but cannot write it): `seconds` of DSD silence (0x69),
 * stereo, 2.8224 MHz, 1 bit, 4096-byte blocks per channel.
 */
function makeDsf(seconds: number): Buffer {
  const rate = 2_822_400;
  const block = 4096;
  // Whole blocks: ffmpeg takes the length from the data chunk, the header from its sample count; so they agree.
  const blocks = Math.ceil((seconds * rate) / 8 / block);
  const samples = blocks * block * 8;
  const data = Buffer.alloc(blocks * block * 2, 0x69);
  const dsd = Buffer.alloc(28);
  const fmt = Buffer.alloc(52);
  const dataHeader = Buffer.alloc(12);
  dsd.write('DSD ', 0, 'ascii');
  dsd.writeBigUInt64LE(28n, 4);
  dsd.writeBigUInt64LE(BigInt(28 + 52 + 12 + data.length), 12);
  dsd.writeBigUInt64LE(0n, 20); // no ID3 metadata
  fmt.write('fmt ', 0, 'ascii');
  fmt.writeBigUInt64LE(52n, 4);
  fmt.writeUInt32LE(1, 12); // version
  fmt.writeUInt32LE(0, 16); // DSD raw
  fmt.writeUInt32LE(2, 20); // channel type: stereo
  fmt.writeUInt32LE(2, 24); // channels
  fmt.writeUInt32LE(rate, 28);
  fmt.writeUInt32LE(1, 32); // bits per sample
  fmt.writeBigUInt64LE(BigInt(samples), 36);
  fmt.writeUInt32LE(block, 44);
  dataHeader.write('data', 0, 'ascii');
  dataHeader.writeBigUInt64LE(BigInt(12 + data.length), 4);
  return Buffer.concat([dsd, fmt, dataHeader, data]);
}

let tmp: ReturnType<typeof tempDir>;
let music: string;
let dbPath: string;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--db', dbPath, ...args], { env: { ...process.env, MUSILINGO_HOME: join(tmp.dir, 'home') } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  tmp = tempDir('musilingo-formats-');
  music = join(tmp.dir, 'music');
  mkdirSync(music);
  dbPath = join(tmp.dir, 'lib.sqlite');
  await Promise.all(
    Object.entries({ ...READ, ...SKIPPED }).map(([name, args]) =>
      run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anoisesrc=d=2.5:c=pink:r=44100:a=0.3', '-ac', '2', ...args, '-metadata', `title=Title of ${name}`, join(music, name)]),
    ),
  );
  writeFileSync(join(music, 'dsd.dsf'), makeDsf(0.75));
}, 60_000);
afterAll(() => tmp?.cleanup());

describe('formats music-metadata parses and ffmpeg decodes', () => {
  it('are scanned, counted, and the rest are listed as skipped with their reason', async () => {
    const scan = await cli(['scan', music]);
    expect(scan.code, scan.stderr).toBe(0);
    const n = Object.keys(READ).length + 1;
    expect(scan.stdout).toMatch(new RegExp(`${n} audio files, ${n} added.* 0 unreadable, 4 skipped`));

    const skipped = await cli(['list', '--skipped', '--json']);
    const rows = JSON.parse(skipped.stdout) as { path: string; code: string; message: string }[];
    expect(rows.map((r) => r.path.split('/').at(-1)).sort()).toEqual(Object.keys(SKIPPED).sort());
    expect(rows.every((r) => r.code === 'unsupported')).toBe(true);
    expect(rows.find((r) => r.path.endsWith('dolby.ac3'))?.message).toMatch(/dolby\.ac3" was skipped: AC-3 \(Dolby Digital\) files are not read/);
    const errors = await cli(['list', '--errors', '--json']);
    expect(JSON.parse(errors.stdout)).toEqual([]); // a skip is not an error
    const folders = await cli(['folders', 'list']);
    expect(folders.stdout).toMatch(/6 tracks, 0 missing, 0 unreadable/);
  });

  it('with their tags and durations (within 1 ms of ffprobe where the header is exact)', async () => {
    const db = new Database(dbPath, { readonly: true });
    try {
      const rows = db.prepare('SELECT path, title, duration_ms AS durationMs, duration_estimated AS estimated FROM tracks').all() as {
        path: string;
        title: string | null;
        durationMs: number | null;
        estimated: number;
      }[];
      for (const name of [...Object.keys(READ), 'dsd.dsf']) {
        const row = rows.find((r) => r.path.endsWith(`/${name}`));
        expect(row, name).toBeDefined();
        // Raw MP2 and DSF streams made here carry no tags.
        if (name !== 'dsd.dsf' && name !== 'layer2.mp2') expect(row!.title, name).toBe(`Title of ${name}`);
        const ref = await ffprobeDuration(row!.path);
        const tolerance = name === 'speex.spx' ? 10 : name === 'layer2.mp2' ? 30 : 1; // Speex look-ahead; MP2: estimated
        expect(Math.abs(row!.durationMs! - ref.durationMs), `${name}: ${row!.durationMs} vs ${ref.durationMs}`).toBeLessThanOrEqual(tolerance);
        expect(row!.estimated, name).toBe(name === 'layer2.mp2' ? 1 : 0);
      }
    } finally {
      db.close();
    }
  });
});
