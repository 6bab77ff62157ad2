/**
 * @file Durations of scanned tracks against ffprobe and the decoded audio: exact for Ogg (last page's granule,
 * Opus minus pre-skip) and every format with exact headers, marked as estimated for MP3 without a frame-count
 * header. Files are generated with ffmpeg (pink noise, so they are larger than the 128 KiB the scanner reads
 * whole) and taken from Debian's wesnoth-1.16-music (real Ogg Vorbis tracks).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrackTableRepo } from '../../../main/app/track-table-repo';
import { openDatabase } from '../../../main/db/open';
import { LibraryService } from '../../../main/library/library-service';
import { formatDuration } from '../../../renderer/lib/format';
import { decodedDurationMs, ffprobeDuration } from '../../helpers/ffprobe';
import { tempDir } from '../../helpers/library-audio';

const run = promisify(execFile);
const WESNOTH = '/usr/share/games/wesnoth/1.16/data/core/music';

/** name → [seconds, sample rate, ffmpeg output arguments] */
const CORPUS: Record<string, [number, number, string[]]> = {
  'vorbis.ogg': [40, 44100, ['-c:a', 'libvorbis', '-q:a', '4']],
  'opus.opus': [40, 44100, ['-c:a', 'libopus', '-b:a', '96k']],
  'flac-in-ogg.oga': [12, 44100, ['-c:a', 'flac', '-f', 'ogg']],
  'speex.ogg': [70, 16000, ['-c:a', 'libspeex', '-f', 'ogg']],
  'lame.mp3': [20, 44100, ['-c:a', 'libmp3lame', '-b:a', '128k']],
  'cbr-no-header.mp3': [20, 44100, ['-c:a', 'libmp3lame', '-b:a', '128k', '-write_xing', '0']],
  'vbr-no-header.mp3': [20, 44100, ['-c:a', 'libmp3lame', '-q:a', '4', '-write_xing', '0']],
  'aac.m4a': [20, 44100, ['-c:a', 'aac', '-b:a', '96k']],
  'lossless.flac': [12, 44100, ['-c:a', 'flac']],
  'pcm.wav': [3, 44100, ['-c:a', 'pcm_s16le']],
  'pcm.aiff': [3, 44100, ['-c:a', 'pcm_s16be']],
  'wma.wma': [20, 44100, ['-c:a', 'wmav2', '-b:a', '96k']],
};

let tmp: ReturnType<typeof tempDir>;
let db: Database.Database;
let lib: LibraryService;
let music: string;

function durationOf(path: string): { durationMs: number | null; durationEstimated?: boolean | undefined } {
  const t = lib.tracks.getByPath(path);
  if (!t) throw new Error(`${path} was not scanned: ${JSON.stringify(lib.scanErrors.getByPath(path))}`);
  return t;
}

beforeAll(async () => {
  tmp = tempDir('musilingo-durations-');
  music = join(tmp.dir, 'music');
  mkdirSync(music);
  await Promise.all(
    Object.entries(CORPUS).map(([name, [seconds, rate, args]]) =>
      run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `anoisesrc=d=${seconds + 0.123}:c=pink:r=${rate}:a=0.3`, '-ac', '2', ...args, join(music, name)]),
    ),
  );
  db = openDatabase(':memory:');
  lib = new LibraryService(db, { progressIntervalMs: 0 });
  const s = await lib.scan(music);
  expect(s.errors).toBe(0);
}, 120_000);
afterAll(() => {
  db?.close();
  tmp?.cleanup();
});

describe('durations of generated files', () => {
  it.each(['vorbis.ogg', 'flac-in-ogg.oga', 'lame.mp3', 'aac.m4a', 'lossless.flac', 'pcm.wav', 'pcm.aiff', 'wma.wma'])(
    '%s: within 1 ms of ffprobe, exact',
    async (name) => {
      const t = durationOf(join(music, name));
      const ref = await ffprobeDuration(join(music, name));
      expect(t.durationMs).not.toBeNull();
      expect(Math.abs(t.durationMs! - ref.durationMs), `${t.durationMs} vs ffprobe ${ref.durationMs}`).toBeLessThanOrEqual(1);
      expect(t.durationEstimated).toBe(false);
    },
  );

  it('Ogg Opus: the last granule minus the pre-skip, within 1 ms of the decoded length', async () => {
    const path = join(music, 'opus.opus');
    const t = durationOf(path);
    expect(Math.abs(t.durationMs! - (await decodedDurationMs(path)))).toBeLessThanOrEqual(1);
    expect(t.durationEstimated).toBe(false);
  });

  it('Ogg Speex: the last granule (the encoder look-ahead, under 10 ms, is not counted)', async () => {
    const path = join(music, 'speex.ogg');
    const t = durationOf(path);
    expect(Math.abs(t.durationMs! - (await decodedDurationMs(path)))).toBeLessThan(10);
  });

  it('the Library table marks an estimate, and shows it as "~m:ss"', () => {
    const rows = new TrackTableRepo(db).page({ text: '', sort: 'title', direction: 'asc', offset: 0, limit: 50, genre: '', captioned: null }).rows;
    const row = (name: string) => rows.find((r) => r.path === join(music, name))!;
    expect(row('vbr-no-header.mp3').durationEstimated).toBe(true);
    expect(row('lame.mp3').durationEstimated).toBe(false);
    expect(formatDuration(row('vbr-no-header.mp3').durationMs, row('vbr-no-header.mp3').durationEstimated)).toMatch(/^~0:2\d$/);
  });

  it('MP3 without a Xing/VBRI header: a duration marked as estimated, close to the decoded length', async () => {
    for (const name of ['cbr-no-header.mp3', 'vbr-no-header.mp3']) {
      const path = join(music, name);
      const t = durationOf(path);
      expect(t.durationMs, name).not.toBeNull();
      expect(t.durationEstimated, name).toBe(true);
      const decoded = await decodedDurationMs(path);
      expect(Math.abs(t.durationMs! - decoded) / decoded, name).toBeLessThan(0.05);
    }
  });
});

describe('a chained Ogg file (two streams one after the other)', () => {
  it('is not given the length of one of its streams', async () => {
    const parts = [join(tmp.dir, 'part1.ogg'), join(tmp.dir, 'part2.ogg')];
    await Promise.all(parts.map((p, i) => run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `anoisesrc=d=${10 + 5 * i}:c=pink:r=44100:a=0.3`, '-c:a', 'libvorbis', p])));
    const chained = join(tmp.dir, 'chained');
    mkdirSync(chained);
    writeFileSync(join(chained, 'radio.ogg'), Buffer.concat(parts.map((p) => readFileSync(p))));
    const l = new LibraryService(db, { progressIntervalMs: 0 });
    await l.scan(chained);
    const d = durationOf(join(chained, 'radio.ogg')).durationMs;
    // Unknown rather than wrong: 25 s of audio, and the last granule alone says 15 s.
    if (d !== null) expect(Math.abs(d - 25_000)).toBeLessThanOrEqual(1);
  });
});

describe.runIf(existsSync(WESNOTH))('durations of real tracks (wesnoth-1.16-music)', () => {
  it('every Ogg track has a duration within 1 ms of ffprobe', async () => {
    const wl = new LibraryService(db, { progressIntervalMs: 0 });
    const s = await wl.scan(WESNOTH);
    const files = readdirSync(WESNOTH).filter((f) => f.endsWith('.ogg'));
    expect(s.found).toBe(files.length);
    expect(s.errors).toBe(0);
    for (const f of files) {
      const t = durationOf(join(WESNOTH, f));
      const ref = await ffprobeDuration(join(WESNOTH, f));
      expect(t.durationMs, f).not.toBeNull();
      expect(Math.abs(t.durationMs! - ref.durationMs), `${f}: ${t.durationMs} vs ffprobe ${ref.durationMs}`).toBeLessThanOrEqual(1);
    }
  }, 120_000);
});
