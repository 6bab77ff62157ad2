/**
 * @file Benchmark: one page (200 rows) of the desktop library table at 100,000 or 1,000,000 tracks, as the
 * virtual table asks for it while scrolling (main/app/track-table-repo.ts), sorted by title and by artist, at the
 * top, the middle and the end, plus an as-you-type search and a genre filter. Columns, all in the same run:
 * the app (sort indexes, trigger-kept total, track_genres, deep pages from the cached order: 0120 and
 * main/app/track-order-cache.ts); the same without the order cache (every page an OFFSET query); and the
 * baseline, also without the table's sort indexes (0051/0054). A deep page pays once for building its order
 * (printed). Run: `npm run bench -- library-table [tracks]`.
 */
import { performance } from 'node:perf_hooks';
import type { TrackQuery, TrackSortKey } from '../preload/contract';
import { TrackTableRepo } from '../main/app/track-table-repo';
import { openDatabase } from '../main/db/open';
import { insertSyntheticTracks } from '../test/e2e/support/big-library';

const count = Number(process.argv[2] ?? 100_000);
const REPEAT = 5;

function timeMs(fn: () => void): number {
  fn(); // warm up (statement cache, page cache)
  const t: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[Math.floor(REPEAT / 2)]!;
}

function measure(label: string, repo: TrackTableRepo): Map<string, number> {
  const out = new Map<string, number>();
  const base: TrackQuery = { text: '', sort: 'title', direction: 'asc', offset: 0, limit: 200, genre: '', captioned: null };
  for (const sort of ['title', 'artist'] as TrackSortKey[]) {
    for (const [where, offset] of [['top', 0], ['middle', Math.floor(count / 2)], ['end', count - 200]] as const) {
      out.set(`${sort} ${where}`, timeMs(() => repo.page({ ...base, sort, offset })));
    }
  }
  out.set('search "track 0421"', timeMs(() => repo.page({ ...base, text: 'track 0421' })));
  out.set('genre filter Jazz, middle', timeMs(() => repo.page({ ...base, genre: 'Jazz', offset: Math.floor(count / 16) })));
  process.stdout.write(`${label}: measured\n`);
  return out;
}

const db = openDatabase(':memory:');
const t0 = performance.now();
insertSyntheticTracks(db, count);
process.stdout.write(`${count.toLocaleString('en')} synthetic tracks inserted in ${(performance.now() - t0).toFixed(0)} ms\n`);

const withIndexes = measure('the app', new TrackTableRepo(db));
const noCache = measure('without the order cache', new TrackTableRepo(db, { deepOrderCache: false }));
// What a deep page costs right after the library changed: an OFFSET query, then the order is built once.
{
  const repo = new TrackTableRepo(db);
  const deep = { text: '', sort: 'title' as const, direction: 'asc' as const, offset: Math.floor(count / 2), limit: 200, genre: '', captioned: null };
  db.prepare("UPDATE tracks SET title = title WHERE id = (SELECT min(id) FROM tracks)").run();
  let t0 = performance.now();
  repo.page(deep);
  const first = performance.now() - t0;
  t0 = performance.now();
  repo.page(deep);
  process.stdout.write(`title middle after a change: first page ${first.toFixed(1)} ms (OFFSET), second ${(performance.now() - t0).toFixed(1)} ms (builds the order of ${count.toLocaleString('en')} rows)\n`);
}
for (const { name } of db.prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'tracks_present_%'").all()) {
  db.exec(`DROP INDEX ${name}`);
}
const baseline = measure('baseline without them', new TrackTableRepo(db, { deepOrderCache: false }));

process.stdout.write(`\n${'page query (200 rows)'.padEnd(30)} ${'app (ms)'.padStart(9)} ${'no cache (ms)'.padStart(14)} ${'baseline (ms)'.padStart(14)} ${'speed-up'.padStart(9)}\n`);
for (const [k, v] of withIndexes) {
  const b = baseline.get(k) ?? NaN;
  const n = noCache.get(k) ?? NaN;
  process.stdout.write(`${k.padEnd(30)} ${v.toFixed(2).padStart(9)} ${n.toFixed(2).padStart(14)} ${b.toFixed(2).padStart(14)} ${(b / v).toFixed(1).padStart(8)}×\n`);
}
db.close();
