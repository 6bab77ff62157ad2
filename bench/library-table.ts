/**
 * @file Benchmark: one page (200 rows) of the desktop library table at 100,000 tracks, as the virtual table
 * asks for it while scrolling (main/app/track-table-repo.ts), sorted by title and by artist, at the top, the
 * middle and the end, plus an as-you-type search. Baseline measured in the same run: the same queries with
 * the table's sort indexes (migrations 0050/0051) dropped. Run: `npm run bench -- library-table [tracks]`.
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

const withIndexes = measure('with the sort indexes', new TrackTableRepo(db));
for (const { name } of db.prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'tracks_present_%'").all()) {
  db.exec(`DROP INDEX ${name}`);
}
const baseline = measure('baseline without them', new TrackTableRepo(db));

process.stdout.write(`\n${'page query (200 rows)'.padEnd(30)} ${'indexed (ms)'.padStart(10)} ${'baseline (ms)'.padStart(14)} ${'speed-up'.padStart(9)}\n`);
for (const [k, v] of withIndexes) {
  const b = baseline.get(k) ?? NaN;
  process.stdout.write(`${k.padEnd(30)} ${v.toFixed(2).padStart(10)} ${b.toFixed(2).padStart(14)} ${(b / v).toFixed(1).padStart(8)}×\n`);
}
db.close();
