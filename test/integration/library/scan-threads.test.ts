/**
 * @file Scan threads (main/library/scan-pool.ts, scan-thread.ts) against real files: a threaded scan stores
 * exactly what a scan reading in the main thread stores, tags, fingerprints, durations and errors alike; a bad
 * file in a thread's batch gets its own error while the others are indexed; a thread that dies fails only the
 * file it was reading and the rest are read by a replacement; with no thread at all the files are read in the
 * main thread. The threads run out/cli/scan.thread.mjs (built by the test setup, test/setup/build-cli.ts).
 */
import { copyFileSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/db/open';
import { nodeFs } from '../../../main/library/fs';
import { LibraryService, SCAN_THREADS_MIN_FILES } from '../../../main/library/library-service';
import { readOutcome, type ReadOutcome, type TrackReader } from '../../../main/library/read-track';
import { SCAN_THREAD_READY, ScanThreadPool, workerThreadLauncher, type ScanThread, type ScanThreadLauncher } from '../../../main/library/scan-pool';
import { Scanner, type PooledReader } from '../../../main/library/scanner';
import { makeAudio, makeWav, tempDir } from '../../helpers/library-audio';

const ENTRY = pathToFileURL(join(import.meta.dirname, '..', '..', '..', 'out', 'cli', 'scan.thread.mjs'));
const KINDS = ['mp3', 'flac', 'ogg', 'opus', 'm4a', 'alac', 'wav', 'aiff', 'wma'] as const;
const BAD = ['zero.flac', 'truncated.mp3', 'random.mp3', 'text.wav', 'cut.m4a'];

const tmp = tempDir('musilingo-scan-threads-');
const root = join(tmp.dir, 'music');
const inThread: TrackReader = { read: (p, size, signal) => readOutcome(nodeFs, p, size, undefined, signal) };

beforeAll(async () => {
  const src = join(tmp.dir, 'src');
  mkdirSync(src, { recursive: true });
  // Pink noise, 6 s: larger than the 128 KiB read at the two ends, so the tag parser also reads the middle.
  await Promise.all(KINDS.map((k, i) => makeAudio(join(src, `${k}.${k === 'alac' ? 'm4a' : k === 'aiff' ? 'aiff' : k}`), k, { title: `Title ${k}`, artist: 'Threaded Artist', album: 'A', genre: 'Rock;Pop', track: `${i + 1}/9` }, { seconds: 6 })));
  // Enough files to start the pool: the encodes copied into album folders, plus tagged WAVs of their own.
  let n = 0;
  for (let album = 0; album < 8; album++) {
    const dir = join(root, `Album ${album}`);
    mkdirSync(dir, { recursive: true });
    for (const k of KINDS) copyFileSync(join(src, `${k}.${k === 'alac' ? 'm4a' : k}`), join(dir, `${k}-${album}.${k === 'alac' ? 'm4a' : k}`));
    for (let i = 0; i < 4; i++) writeFileSync(join(dir, `w${n++}.wav`), makeWav({ freqHz: 100 + n, tags: { INAM: `Wav ${n}`, IART: 'Ärtist' } }));
  }
  const bad = join(root, 'Bad');
  mkdirSync(bad);
  writeFileSync(join(bad, 'zero.flac'), Buffer.alloc(0));
  writeFileSync(join(bad, 'truncated.mp3'), readFileSync(join(src, 'mp3.mp3')).subarray(0, 100));
  writeFileSync(join(bad, 'random.mp3'), Buffer.from(Array.from({ length: 8000 }, (_, i) => (i * 7919 + 13) % 251)));
  writeFileSync(join(bad, 'text.wav'), 'this is a text file, not a wave file\n'.repeat(20));
  copyFileSync(join(src, 'm4a.m4a'), join(bad, 'cut.m4a'));
  truncateSync(join(bad, 'cut.m4a'), 3000);
}, 120_000);
afterAll(() => tmp.cleanup());

/** Every stored column but the clock's, and every scan error, ordered by path. */
function snapshot(db: Database.Database): { tracks: unknown[]; errors: unknown[] } {
  const tracks = db.prepare('SELECT * FROM tracks ORDER BY path').all() as Record<string, unknown>[];
  for (const t of tracks) {
    delete t['id'];
    delete t['added_at'];
    delete t['updated_at'];
  }
  return { tracks, errors: db.prepare('SELECT path, code, message FROM scan_errors ORDER BY path').all() };
}

/** A Scanner on `db` whose reads go through `pool`, counting them. */
function scannerWith(db: Database.Database, lib: LibraryService, open: (inProcess: TrackReader) => PooledReader): Scanner {
  return new Scanner({ db, tracks: lib.tracks, folders: lib.folders, scanErrors: lib.scanErrors, fs: nodeFs, now: () => 1, batchSize: 16, concurrency: 4, openReaders: (_n, inProcess) => open(inProcess) });
}

describe('scan threads', () => {
  it('store exactly what reading in the main thread stores, bad files included', async () => {
    const viaThreads = openDatabase(':memory:');
    const lib = new LibraryService(viaThreads, { now: () => 1 });
    const folder = lib.addFolder(root);
    let threadReads = 0;
    let pool: ScanThreadPool | undefined;
    const s = await scannerWith(viaThreads, lib, (inProcess) => {
      pool = new ScanThreadPool(workerThreadLauncher(ENTRY), 2, inProcess);
      const p = pool;
      return { concurrency: p.concurrency, close: () => p.close(), read: (path, size) => (threadReads++, p.read(path, size)) };
    }).scanFolder(folder);
    expect(pool?.threads).toBe(0); // closed after the scan
    const files = 8 * (KINDS.length + 4) + BAD.length;
    expect(s.found).toBe(files);
    expect(threadReads).toBe(files);
    expect(s.added).toBe(files - BAD.length);
    expect(s.errors).toBe(BAD.length);

    const inMain = openDatabase(':memory:');
    const lib2 = new LibraryService(inMain, { now: () => 1, scanThreads: 0 });
    await lib2.scan(lib2.addFolder(root).id);
    const a = snapshot(viaThreads);
    const b = snapshot(inMain);
    expect(a.tracks).toHaveLength(files - BAD.length);
    expect(a).toEqual(b);
    const codes = Object.fromEntries((a.errors as { path: string; code: string; message: string }[]).map((e) => [e.path.slice(root.length + 5), e.code]));
    expect(codes).toEqual({ 'cut.m4a': 'corrupt', 'random.mp3': 'not-audio', 'text.wav': 'not-audio', 'truncated.mp3': 'corrupt', 'zero.flac': 'empty' });
    for (const e of a.errors as { path: string; message: string }[]) expect(e.message).toContain(e.path);
    // Tags went through the thread: a spot check against what ffmpeg wrote.
    expect(lib.tracks.getByPath(join(root, 'Album 3', 'flac-3.flac'))).toMatchObject({ title: 'Title flac', artist: 'Threaded Artist', genres: ['Rock', 'Pop'], trackNo: 2 });
  }, 60_000);

  it('stop on abort with dozens of reads in flight: what was read before stays, the next scan finishes', async () => {
    const db = openDatabase(':memory:');
    const lib = new LibraryService(db, { now: () => 1 });
    const folder = lib.addFolder(root);
    const scanner = scannerWith(db, lib, (inProcess) => new ScanThreadPool(workerThreadLauncher(ENTRY), 1, inProcess));
    const ac = new AbortController();
    const s = await scanner.scanFolder(folder, {
      signal: ac.signal,
      onProgress: (p) => {
        if (p.phase === 'reading' && p.done >= 20) ac.abort();
      },
    });
    expect(s.cancelled).toBe(true);
    expect(s.added + s.errors).toBe(20);
    expect(lib.tracks.count().present).toBe(s.added);
    const s2 = await scanner.scanFolder(lib.folders.list()[0]!);
    expect(s2.cancelled).toBe(false);
    expect(s2.unchanged).toBe(s.added);
    expect(s2.added + s2.errors + s2.unchanged).toBe(8 * (KINDS.length + 4) + BAD.length);
  }, 60_000);

  it('give LibraryService the same counts as a missing thread entry (read in the main thread)', async () => {
    const db = openDatabase(':memory:');
    const lib = new LibraryService(db, { scanThreadEntry: ENTRY, scanThreads: 1 });
    const s = await lib.scan(lib.addFolder(root).id);
    expect(s.added + s.errors).toBeGreaterThanOrEqual(SCAN_THREADS_MIN_FILES);
    expect(s.errors).toBe(BAD.length);
    // A missing entry reads in the main thread; the result is the same.
    const db2 = openDatabase(':memory:');
    const lib2 = new LibraryService(db2, { scanThreadEntry: pathToFileURL(join(tmp.dir, 'no-such.thread.mjs')), scanThreads: 1 });
    const s2 = await lib2.scan(lib2.addFolder(root).id);
    expect(s2.added).toBe(s.added);
    expect(s2.errors).toBe(BAD.length);
    // (The worker's own 'error' event for a missing entry is followed by 'exit': the pool falls back.)
  }, 60_000);

  it('fail only the file a dying thread was reading; the rest go to a replacement thread', async () => {
    const paths = [join(root, 'Album 0', 'mp3-0.mp3'), join(root, 'Album 0', 'flac-0.flac'), join(root, 'Album 0', 'ogg-0.ogg'), join(root, 'Album 1', 'wav-1.wav')];
    let launched = 0;
    let onFirstReady = (): void => undefined;
    const firstReady = new Promise<void>((r) => (onFirstReady = r));
    // The first thread dies on its first batch before answering (as an out-of-memory abort would); later ones are
    // real. Its requests go out once it is ready, as they would in a scan that has been running a while.
    const launch: ScanThreadLauncher = () => {
      const w = new Worker(ENTRY);
      w.unref();
      const first = launched++ === 0;
      const thread: ScanThread = {
        postMessage(m) {
          w.postMessage(m);
          if (first) void w.terminate();
        },
        on(event: string, listener: (x: unknown) => void) {
          // The dying thread says it is ready, then never answers.
          if (first && event === 'message') {
            w.on('message', (m: unknown) => {
              if (m !== SCAN_THREAD_READY) return;
              listener(m);
              onFirstReady();
            });
          }
          else w.on(event, listener);
          return thread;
        },
        terminate: () => w.terminate(),
      } as ScanThread;
      return thread;
    };
    const pool = new ScanThreadPool(launch, 1, inThread);
    await firstReady;
    const outcomes: ReadOutcome[] = await Promise.all(paths.map((p) => pool.read(p, readFileSync(p).length)));
    await pool.close();
    expect(launched).toBe(2);
    expect(outcomes[0]).toMatchObject({ ok: false, error: { code: 'internal', path: paths[0] } });
    expect(!outcomes[0]!.ok && outcomes[0]!.error.message).toMatch(/stopped the scan thread/);
    expect(!outcomes[0]!.ok && outcomes[0]!.error.message).toContain(paths[0]);
    for (const o of outcomes.slice(1)) expect(o.ok).toBe(true);
    expect(outcomes.slice(1).map((o) => o.ok && o.meta.title)).toEqual(['Title flac', 'Title ogg', 'Title wav']);
  }, 30_000);

  it('read in the main thread when no thread can be started', async () => {
    const pool = new ScanThreadPool(() => {
      throw new Error('no threads here');
    }, 2, inThread);
    expect(pool.threads).toBe(0);
    const p = join(root, 'Album 2', 'opus-2.opus');
    const o = await pool.read(p, readFileSync(p).length);
    expect(o).toMatchObject({ ok: true, meta: { title: 'Title opus' } });
    await pool.close();
  });
});
