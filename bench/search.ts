/**
 * @file Benchmark: search latency at library scale. Inserts N synthetic tracks (default 100,000) with tags and
 * a MusicCaps caption each into a fresh database, then times typical queries (plain words, as-you-type
 * prefixes, phrases, filters). Prints p50/p95 per query kind against the anchor measured in the same run (the
 * same search ranked by FTS5's bm25() in SQL) and an unranked FTS5 MATCH … LIMIT 50 for the same text (what
 * ranking, filters and snippets add on top). Ours and the anchor are timed in separate passes; a third pass
 * times ours right after the anchor's query (caches shared), as earlier versions of this bench did.
 *
 * Usage: npm run bench -- search [tracks=100000] [captions.csv]
 * MUSILINGO_BENCH_DB=<file>: keep the generated database there and reuse it on the next run with the same
 * track count (loading 1,000,000 tracks takes minutes).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../main/db/open';
import { SearchRepo, toFtsQuery, type SearchQuery } from '../main/db/search';
import { countSegments, mergeSearchIndexes } from '../main/db/search-index-merge';
import { TracksRepo } from '../main/db/tracks';
import { Fts5SearchRepo } from '../test/helpers/fts5-search';
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
const keep = process.env['MUSILINGO_BENCH_DB'];
try {
  const caps = readMusicCaps(CSV);
  const dbPath = keep ?? join(dir, 'bench.sqlite');
  const reuse = keep !== undefined && existsSync(keep);
  const db = openDatabase(dbPath);
  if (reuse && (db.prepare('SELECT count(*) FROM tracks').pluck().get() as number) !== N) {
    throw new Error(`${keep} does not hold ${N} tracks: delete it or choose another file`);
  }
  const tracks = new TracksRepo(db);
  const insertCaption = db.prepare("INSERT INTO captions (track_id, start_ms, length_ms, model_id, text, created_at) VALUES (?, 0, 30000, 'bench', ?, 0)");
  let seed = 12345;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const t0 = performance.now();
  const CHUNK = 5000;
  for (let start = 0; !reuse && start < N; start += CHUNK) {
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
  // A scan that writes this many tracks is followed by a merge of the search indexes in the app (LibraryService,
  // [Note: Merging the search index]); so is the library here. A reused database was merged by the run that
  // built it; what is merged again is the segments the previous run's caption edits ("after a write") added.
  const segments = countSegments(db, 'tracks_fts');
  const m0 = performance.now();
  const merged = await mergeSearchIndexes(db);
  const mergeS = (performance.now() - m0) / 1000;
  db.pragma('optimize');
  const search = new SearchRepo(db);
  const anchor = new Fts5SearchRepo(db);
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
  console.log(`search bench: ${N} tracks (${Math.round(N * 0.9)} captioned, captions from ${CSV}), ${reuse ? `reused ${keep}` : `loaded in ${loadS.toFixed(1)} s`}`);
  console.log(`search index: ${segments} segment(s) after loading, merged in ${merged.steps} step(s), ${mergeS.toFixed(1)} s (as after a big scan)`);
  console.log('anchor: the same search ranked by FTS5 bm25() in SQL (test/helpers/fts5-search.ts, the ranking before the JS scorer)');
  console.log('kind           p50 ms   p95 ms   max ms   anchor p50/p95 ms   unranked MATCH p50/p95 ms   top-20 same as anchor  ours right after the anchor p50/p95');
  const all: number[] = [];
  const allRef: number[] = [];
  const allMixed: number[] = [];
  let same = 0;
  let total = 0;
  const differ: string[] = [];
  // CPU time as well as wall time: on a machine shared with other work, wall time includes waiting for a core.
  let cpuOurs = 0;
  let cpuRef = 0;
  const cpuMs = (since: NodeJS.CpuUsage): number => {
    const d = process.cpuUsage(since);
    return (d.user + d.system) / 1000;
  };
  // One untimed round of every query first, ours and the anchor's: the kind timed first (words) otherwise ran
  // while V8 was still compiling the search code, and measured slower in its own pass than right after the
  // anchor in the interleaved one (3.0-3.1 against 2.6-2.7 ms p50). The app searches with warm code after its
  // first few keystrokes; the first query of a session is not what p50 is about.
  for (const k of kinds) {
    for (const q of k.queries) {
      search.search(q);
      anchor.search(q);
    }
  }
  for (const k of kinds) {
    const times: number[] = [];
    const ref: number[] = [];
    const base: number[] = [];
    const mixed: number[] = [];
    let kindSame = 0;
    for (const q of k.queries) {
      // Warm the page cache, and compare the top 20 (ids in order) with the anchor's.
      const ours = search.search({ ...q, limit: 20 }).map((h) => h.id);
      const theirs = anchor.search({ ...q, limit: 20 }).map((h) => h.id);
      if (ours.join() === theirs.join()) kindSame++;
      else differ.push(`${JSON.stringify(q)}: ours ${ours.join(',')} / anchor ${theirs.join(',')}`);
    }
    same += kindSame;
    total += k.queries.length;
    // Ours and the anchor are timed in passes of their own: interleaved, each query ran right after the
    // anchor's walk over every row holding its words, which evicts ours from SQLite's page cache and the CPU's
    // (the app never runs the anchor). The interleaved figure is printed too, for comparison with earlier runs.
    for (let r = 0; r < REPS; r++) {
      for (const q of k.queries) {
        const a = performance.now();
        const ca = process.cpuUsage();
        search.search(q);
        times.push(performance.now() - a);
        cpuOurs += cpuMs(ca);
      }
    }
    for (let r = 0; r < REPS; r++) {
      for (const q of k.queries) {
        const c = performance.now();
        const cc = process.cpuUsage();
        anchor.search(q);
        ref.push(performance.now() - c);
        cpuRef += cpuMs(cc);
        const m = toFtsQuery(q.text, q.prefix === undefined ? {} : { prefix: q.prefix });
        if (m) {
          const b = performance.now();
          baseline.all(m);
          base.push(performance.now() - b);
        }
      }
    }
    for (let r = 0; r < REPS; r++) {
      for (const q of k.queries) {
        anchor.search(q);
        const a = performance.now();
        search.search(q);
        mixed.push(performance.now() - a);
      }
    }
    all.push(...times);
    allRef.push(...ref);
    allMixed.push(...mixed);
    const bl = base.length ? `${pct(base, 50).toFixed(2)} / ${pct(base, 95).toFixed(2)}` : 'n/a';
    const rf = `${pct(ref, 50).toFixed(2)} / ${pct(ref, 95).toFixed(2)}`;
    const mx = `${pct(mixed, 50).toFixed(2)} / ${pct(mixed, 95).toFixed(2)}`;
    console.log(`${k.name.padEnd(13)} ${pct(times, 50).toFixed(2).padStart(7)}  ${pct(times, 95).toFixed(2).padStart(7)}  ${Math.max(...times).toFixed(2).padStart(7)}   ${rf.padEnd(19)} ${bl.padEnd(27)} ${`${kindSame}/${k.queries.length}`.padEnd(22)} ${mx}`);
  }
  // The app writes while the user searches (captions arrive, the watcher updates tracks): every write drops
  // the scorer's cached counts, so the first search after it pays for them again. Time that case too: one
  // caption edit, then one query, for each word query.
  {
    const edit = db.prepare('UPDATE captions SET text = text WHERE id = (SELECT max(id) FROM captions)');
    const times: number[] = [];
    for (let r = 0; r < 5; r++) {
      for (const q of kinds[0]!.queries) {
        edit.run();
        const a = performance.now();
        search.search(q);
        times.push(performance.now() - a);
      }
    }
    console.log(`after a write ${pct(times, 50).toFixed(2).padStart(7)}  ${pct(times, 95).toFixed(2).padStart(7)}  ${Math.max(...times).toFixed(2).padStart(7)}   (each word query right after a caption edit; not in ALL)`);
  }
  console.log(`ALL           ${pct(all, 50).toFixed(2).padStart(7)}  ${pct(all, 95).toFixed(2).padStart(7)}            ${pct(allRef, 50).toFixed(2)} / ${pct(allRef, 95).toFixed(2)}  (target p95 < 10 ms, p50 < 3 ms); ours right after the anchor: ${pct(allMixed, 50).toFixed(2)} / ${pct(allMixed, 95).toFixed(2)}`);
  console.log(`ratio anchor/ours: p50 ${(pct(allRef, 50) / pct(all, 50)).toFixed(1)}x, p95 ${(pct(allRef, 95) / pct(all, 95)).toFixed(1)}x; top-20 identical in order: ${same}/${total} queries`);
  console.log(`CPU per query (mean): ours ${(cpuOurs / all.length).toFixed(2)} ms, anchor ${(cpuRef / allRef.length).toFixed(2)} ms`);
  for (const d of differ) console.log(`  differs: ${d}`);
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
