/**
 * @file Benchmark: resident memory (RSS) of the app's main process with a large library open; the goal is
 * < 1 GB at 1,000,000 tracks. Builds a library of N synthetic tracks (test/e2e/support/big-library.ts: tags,
 * genres, years, through the real schema and FTS triggers) of which V have a 1024-d pooled vector, builds and
 * saves their "more like this" index, closes it all, and then measures in a fresh Node process (so nothing of
 * the set-up is counted) what the main process does at start and on first use: createAppServices (the one
 * writable connection, migrations check, settings, the table, library, models, training and evaluation
 * facades; no worker processes, no folder watcher), the first page of the library table, a search as the
 * table's search box does it, the genre menu, and "more like this" (similarTracks: the saved index, mapped).
 * The anchor printed beside each step is the process before the library was opened (Node + the app's code).
 *
 * Usage: npm run bench -- library-rss [tracks=1000000] [vectors=50000]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createAppServices } from '../main/app/services';
import { openDatabase } from '../main/db/open';
import { SimilarityIndex } from '../main/db/similarity-index';
import { similarTracks } from '../main/db/windows';
import type { TrackQuery } from '../preload/contract';
import { float32ToBlob } from '../model/inference/vectors';
import { insertSyntheticTracks } from '../test/e2e/support/big-library';
import { describeRss, mib, rssNow } from './lib/rss';

const GOAL = 2 ** 30;
const DIM = 1024;
const MODEL = 'bench-encoder';

async function measure(dir: string): Promise<void> {
  const rss0 = process.memoryUsage().rss;
  const rows: [string, number, ReturnType<typeof rssNow>][] = [];
  const step = async (label: string, fn: () => unknown): Promise<void> => {
    const t = performance.now();
    await fn();
    rows.push([label, performance.now() - t, rssNow()]);
  };
  let services: Awaited<ReturnType<typeof createAppServices>> | undefined;
  await step('open: createAppServices', async () => {
    services = await createAppServices({
      dataDir: dir,
      dbPath: join(dir, 'library.sqlite'),
      version: 'bench',
      hasNativeDialogs: false,
      pickFolder: () => Promise.resolve(null),
      launchers: {},
      log: () => undefined,
      watchLibrary: false,
      runCli: null,
    });
  });
  const s = services!;
  const q: TrackQuery = { text: '', sort: 'title', direction: 'asc', offset: 0, limit: 200, genre: '', captioned: null };
  let total = 0;
  await step('first page of the table (200 rows)', async () => {
    total = (await s.library!.list(q)).total;
  });
  await step('scroll to the middle (by artist)', () => s.library!.list({ ...q, sort: 'artist', offset: Math.floor(total / 2) }));
  await step('search "track 0421" (table search)', () => s.library!.list({ ...q, text: 'track 0421' }));
  await step('genre menu', () => s.library!.genres());
  const withVector = s.db.prepare<[], { track_id: number }>('SELECT track_id FROM track_vectors LIMIT 1').get()?.track_id;
  if (withVector !== undefined) {
    await step('"more like this" (first: maps the saved index)', () => similarTracks(s.db, withVector, { limit: 10 }));
    await step('"more like this" ×50 more tracks', () => {
      const ids = s.db.prepare<[], { track_id: number }>('SELECT track_id FROM track_vectors ORDER BY random() LIMIT 50').all();
      for (const r of ids) similarTracks(s.db, r.track_id, { limit: 10 });
    });
  }
  const heap = process.memoryUsage();
  console.log(`\n${total.toLocaleString('en')} tracks open. RSS of the main process (anchor: ${mib(rss0)} before the library was opened)`);
  console.log(`${'step'.padEnd(48)} ${'ms'.padStart(8)} ${'RSS'.padStart(10)} ${'+anchor'.padStart(10)} ${'anonymous'.padStart(10)} ${'mapped'.padStart(10)}`);
  for (const [label, ms, r] of rows) {
    const part = (b: number | null): string => (b === null ? '?' : mib(b));
    console.log(
      `${label.padEnd(48)} ${ms.toFixed(0).padStart(8)} ${mib(r.rss).padStart(10)} ${`+${mib(r.rss - rss0)}`.padStart(10)} ${part(r.anon).padStart(10)} ${part(r.file).padStart(10)}`,
    );
  }
  console.log(`now: ${describeRss()}`);
  const peak = process.resourceUsage().maxRSS * 1024;
  console.log(`JS heap ${mib(heap.heapUsed)}, external ${mib(heap.external)}; peak RSS ${mib(peak)}`);
  console.log(`goal RSS < 1 GB: ${peak < GOAL ? 'met' : 'NOT met'} (peak ${(peak / GOAL).toFixed(2)} of it)`);
  await s.close();
}

async function main(): Promise<void> {
  if (process.argv[2] === '--measure') return measure(process.argv[3]!);
  const N = Number(process.argv[2] ?? 1_000_000);
  const V = Math.min(N, Number(process.argv[3] ?? 50_000));
  const dir = mkdtempSync(join(tmpdir(), 'musilingo-bench-rss-'));
  try {
    const path = join(dir, 'library.sqlite');
    const db = openDatabase(path);
    let t = performance.now();
    insertSyntheticTracks(db, N);
    // Vectors: clustered unit vectors (as in bench/similar.ts, simpler: 64 centres), for the first V tracks.
    let seed = 99;
    const rnd = (): number => {
      seed ^= seed << 13;
      seed >>>= 0;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      seed >>>= 0;
      return seed / 2 ** 32 - 0.5;
    };
    const centers = Array.from({ length: 64 }, () => Float32Array.from({ length: DIM }, rnd));
    const ins = db.prepare('INSERT INTO track_vectors (track_id, model_id, dim, rows, vector, updated_at) VALUES (?, ?, ?, 1, ?, ?)');
    const ids = db.prepare<[number], { id: number }>('SELECT id FROM tracks ORDER BY id LIMIT ?').all(V);
    const v = new Float32Array(DIM);
    db.transaction(() => {
      ids.forEach(({ id }, i) => {
        const c = centers[i % centers.length]!;
        let norm = 0;
        for (let j = 0; j < DIM; j++) norm += (v[j] = c[j]! + 0.4 * rnd()) ** 2;
        for (let j = 0; j < DIM; j++) v[j] = v[j]! / Math.sqrt(norm);
        ins.run(id, MODEL, DIM, float32ToBlob(v), 1 + i);
      });
    })();
    if (V > 0) SimilarityIndex.open(db, MODEL, DIM); // built and saved, as after the app's first "more like this"
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    console.log(
      `library-rss bench: ${N.toLocaleString('en')} tracks, ${V.toLocaleString('en')} with a ${DIM}-d vector; built in ${((performance.now() - t) / 1000).toFixed(0)} s; ` +
        `database ${mib(statSync(path).size)}`,
    );
    t = performance.now();
    const r = spawnSync(process.execPath, ['--enable-source-maps', process.argv[1]!, '--measure', dir], { stdio: 'inherit' });
    if (r.status !== 0) process.exitCode = r.status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
