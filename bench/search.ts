/**
 * @file Benchmark: search latency at library scale. Inserts N synthetic tracks (default 100,000) with tags and
 * a MusicCaps caption each into a fresh database, then times typical queries (plain words, as-you-type
 * prefixes, phrases, filters). Prints p50/p95 per query kind against a baseline measured in the same run:
 * an unranked FTS5 MATCH … LIMIT 50 for the same text (what ranking, filters and snippets add on top).
 *
 * Usage: npm run bench -- search [tracks=100000] [captions.csv]
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../main/db/open';
import { SearchRepo, toFtsQuery, type SearchQuery } from '../main/db/search';
import { TracksRepo } from '../main/db/tracks';
import { metaOf, readMusicCaps } from '../test/helpers/musiccaps';

const N = Number(process.argv[2] ?? 100_000);
const CSV = process.argv[3] ?? (existsSync('/work/shared/data/musiccaps-public.csv') ? '/work/shared/data/musiccaps-public.csv' : 'test/fixtures/musiccaps-sample.csv');
const GENRES = ['Rock', 'Pop', 'Jazz', 'Classical', 'Hip Hop', 'Electronic', 'Folk', 'Metal', 'Blues', 'Country', 'Reggae', 'Soul'];
const WORDS = ['Night', 'Blue', 'Summer', 'River', 'Golden', 'Heart', 'Fire', 'Rain', 'Dream', 'Road', 'Light', 'Shadow', 'Ocean', 'City', 'Piano', 'Dance'];

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const dir = mkdtempSync(join(tmpdir(), 'musilingo-bench-search-'));
try {
  const caps = readMusicCaps(CSV);
  const db = openDatabase(join(dir, 'bench.sqlite'));
  const tracks = new TracksRepo(db);
  const insertCaption = db.prepare("INSERT INTO captions (track_id, start_ms, length_ms, model_id, text, created_at) VALUES (?, 0, 30000, 'bench', ?, 0)");
  let seed = 12345;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const t0 = performance.now();
  const CHUNK = 5000;
  for (let start = 0; start < N; start += CHUNK) {
    db.transaction(() => {
      for (let i = start; i < Math.min(N, start + CHUNK); i++) {
        const g = pick(GENRES);
        const id = tracks.insert(
          { path: `/music/artist${i % 2000}/album${i % 9000}/${i}.flac`, folderId: null, sizeBytes: 1e6 + i, mtimeMs: 0, fingerprint: `fp${i}` },
          metaOf({ title: `${pick(WORDS)} ${pick(WORDS)} ${i}`, artist: `Artist ${i % 2000}`, album: `Album ${i % 9000}`, genre: g, genres: [g], year: 1960 + (i % 64) }),
          0,
        );
        if (i % 10 !== 9) insertCaption.run(id, caps[i % caps.length]!.caption); // 90% captioned
      }
    })();
  }
  const loadS = (performance.now() - t0) / 1000;
  db.pragma('optimize');
  const search = new SearchRepo(db);
  const baseline = db.prepare('SELECT rowid FROM tracks_fts WHERE tracks_fts MATCH ? LIMIT 50');

  const kinds: { name: string; queries: SearchQuery[] }[] = [
    { name: 'words', queries: ['sad piano', 'female vocal', 'electric guitar', 'drums', 'relaxing', 'low quality recording', 'orchestra strings', 'hip hop beat'].map((text) => ({ text, prefix: false, limit: 50 })) },
    { name: 'as-you-type', queries: ['p', 'pi', 'pia', 'pian', 'piano', 'sad p', 'sad pi', 'gui', 'voc', 'dru'].map((text) => ({ text, limit: 50 })) },
    { name: 'phrase', queries: ['"acoustic guitar"', 'lo-fi', '"male voice"', 'hip-hop'].map((text) => ({ text, prefix: false, limit: 50 })) },
    {
      name: 'filters',
      queries: [
        { text: 'piano', genre: 'jazz', limit: 50, prefix: false },
        { text: 'guitar', yearFrom: 1990, yearTo: 1999, limit: 50, prefix: false },
        { text: 'vocal', artist: 'artist 12', limit: 50 },
        { text: 'drums', captioned: true, limit: 50, prefix: false },
        { text: '', genre: 'rock', yearFrom: 1970, yearTo: 1979, limit: 50 },
      ],
    },
  ];
  const REPS = 15;
  console.log(`search bench: ${N} tracks (${Math.round(N * 0.9)} captioned, captions from ${CSV}), loaded in ${loadS.toFixed(1)} s`);
  console.log('kind           p50 ms   p95 ms   max ms   baseline p50/p95 ms (unranked MATCH LIMIT 50)   hits/query');
  const all: number[] = [];
  for (const k of kinds) {
    const times: number[] = [];
    const base: number[] = [];
    let hits = 0;
    for (const q of k.queries) search.search(q); // warm the page cache
    for (let r = 0; r < REPS; r++) {
      for (const q of k.queries) {
        const a = performance.now();
        hits += search.search(q).length;
        times.push(performance.now() - a);
        const m = toFtsQuery(q.text, q.prefix === undefined ? {} : { prefix: q.prefix });
        if (m) {
          const b = performance.now();
          baseline.all(m);
          base.push(performance.now() - b);
        }
      }
    }
    all.push(...times);
    const bl = base.length ? `${pct(base, 50).toFixed(2)} / ${pct(base, 95).toFixed(2)}` : 'n/a';
    console.log(`${k.name.padEnd(13)} ${pct(times, 50).toFixed(2).padStart(7)}  ${pct(times, 95).toFixed(2).padStart(7)}  ${Math.max(...times).toFixed(2).padStart(7)}   ${bl.padEnd(46)} ${(hits / times.length).toFixed(0)}`);
  }
  console.log(`ALL           ${pct(all, 50).toFixed(2).padStart(7)}  ${pct(all, 95).toFixed(2).padStart(7)}  (target p95 < 10 ms)`);
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
