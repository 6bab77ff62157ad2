/**
 * @file Benchmark: "more like this" at library scale (1,000,000 × 1024 is the goal). Inserts N tracks with one
 * 1024-d pooled vector each into a fresh database, builds the ANN index the way the app does
 * (main/db/similarity-index.ts: one streaming read of track_vectors, usearch HNSW, float16, multi-threaded adds),
 * opens the saved index again (memory-mapped, as the app finds it) and times "more like this" queries on it.
 *
 * [Note: Bench vectors] The vectors are not uniform noise, which no encoder produces and on which every ANN index
 * is at its worst: real audio embeddings cluster by style and, tighter, by artist and album. Here a track is
 * genre centre (256 of them) + album offset (albums of 4–27 tracks, drawn from one genre) + a track's own
 * offset, normalised to unit length; per component the three have spreads 0.29 / 0.17 / 0.14, so album mates
 * are at cosine ≈ 0.84, genre mates ≈ 0.62, others ≈ 0. A query's exact top 10 is mostly its album mates and
 * then the nearest tracks of its genre: the ranking the index must reproduce. Deterministic (xorshift32).
 *
 * The anchor, measured in the same run: the exact answer, computed in one streaming pass over the table (never
 * the whole float32 matrix in memory, 4 GB at 1,000,000): usearch's SIMD exact search of all queries per chunk,
 * plus the app's own exact scan (topKCosine, what similarTracks uses below 5,000 vectors) for one query, timed
 * over all N vectors. Prints build time, index file size and RSS, p50/p95 per query, recall@10 against the exact
 * top 10, and the ratio.
 *
 * Usage: npm run bench -- similar [tracks=100000] [queries=100]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type BatchMatches, MetricKind, exactSearch } from 'usearch';
import { openDatabase } from '../main/db/open';
import { EXPANSION_SEARCH, SimilarityIndex, newIndex } from '../main/db/similarity-index';
import { blobToFloat32, float32ToBlob, topKCosine } from '../model/inference/vectors';

const N = Number(process.argv[2] ?? 100_000);
const Q = Math.max(2, Math.min(N, Number(process.argv[3] ?? 100)));
const DIM = 1024;
const MODEL = 'bench-encoder';
const K = 10;

const started = performance.now();
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
const rss = (): string => mib(process.memoryUsage().rss);
const peak = (): string => mib(process.resourceUsage().maxRSS * 1024);
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

let seed = 4242;
/** xorshift32, uniform in [-0.5, 0.5). */
function rnd(): number {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 2 ** 32 - 0.5;
}

/** Row numbers of the query tracks (spread over the library), and their vectors as generated. */
const queryRow = new Map<number, number>();
for (let q = 0; q < Q; q++) queryRow.set(Math.floor((q * N) / Q + ((q * 7919) % Math.max(1, Math.floor(N / Q)))), q);
const queries = new Float32Array(Q * DIM);
const queryIds = new Int32Array(Q);

const dir = mkdtempSync(join(tmpdir(), 'musilingo-bench-similar-'));
try {
  const dbPath = join(dir, 'bench.sqlite');
  const db = openDatabase(dbPath);
  // Loading the generated library is set-up, not what is measured: no journal while it is written.
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  const genres = Array.from({ length: 256 }, () => Float32Array.from({ length: DIM }, rnd));
  const insTrack = db.prepare('INSERT INTO tracks (path, size_bytes, mtime_ms, fingerprint, added_at, updated_at) VALUES (?, 1, 0, ?, 0, 0)');
  const insVec = db.prepare('INSERT INTO track_vectors (track_id, model_id, dim, rows, vector, updated_at) VALUES (?, ?, ?, 1, ?, ?)');
  let t = performance.now();
  const v = new Float32Array(DIM);
  const album = new Float32Array(DIM);
  let albumLeft = 0;
  for (let start = 0; start < N; start += 5000) {
    db.transaction(() => {
      for (let i = start; i < Math.min(N, start + 5000); i++) {
        if (albumLeft === 0) {
          const g = genres[Math.floor((rnd() + 0.5) * genres.length)]!;
          for (let j = 0; j < DIM; j++) album[j] = g[j]! + 0.6 * rnd();
          albumLeft = 4 + Math.floor((rnd() + 0.5) * 24);
        }
        albumLeft--;
        let norm = 0;
        for (let j = 0; j < DIM; j++) {
          v[j] = album[j]! + 0.5 * rnd();
          norm += v[j]! * v[j]!;
        }
        norm = Math.sqrt(norm);
        for (let j = 0; j < DIM; j++) v[j] = v[j]! / norm;
        const id = Number(insTrack.run(`/m/${i}.flac`, `fp${i}`).lastInsertRowid);
        insVec.run(id, MODEL, DIM, float32ToBlob(v), 1 + i);
        const q = queryRow.get(i);
        if (q !== undefined) {
          queries.set(v, q * DIM);
          queryIds[q] = id;
        }
      }
    })();
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  console.log(`similar bench: ${N.toLocaleString('en')} tracks × ${DIM} dims (clustered: genre → album → track), generated and stored in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  t = performance.now();
  const built = SimilarityIndex.open(db, MODEL, DIM);
  const buildS = (performance.now() - t) / 1000;
  const file = SimilarityIndex.pathFor(dbPath, MODEL, DIM)!;
  console.log(
    `index built (${built.origin}) in ${buildS.toFixed(1)} s (${((buildS * 1e6) / N).toFixed(0)} µs per vector); file ${mib(statSync(file).size)}; ` +
      `process RSS ${rss()} now, peak ${peak()}`,
  );
  t = performance.now();
  const index = SimilarityIndex.open(db, MODEL, DIM);
  console.log(`saved index opened again (${index.origin}, ${index.mapped ? 'memory-mapped' : 'in memory'}) in ${(performance.now() - t).toFixed(0)} ms; RSS ${rss()}`);

  // The anchor: exact top K+1 (the query itself is among them) of every query, in one pass over the table.
  t = performance.now();
  const CHUNK = 8192;
  const best: { id: number; d: number }[][] = Array.from({ length: Q }, () => []);
  const chunk = new Float32Array(CHUNK * DIM);
  const chunkIds = new Int32Array(CHUNK);
  let appScanMs = 0;
  let appBest: { id: number; score: number }[] = [];
  let n = 0;
  const flush = (): void => {
    if (n === 0) return;
    const m = exactSearch(chunk.subarray(0, n * DIM), queries, DIM, K + 1, MetricKind.Cos, 0) as BatchMatches; // Q >= 2: a batch
    for (let q = 0; q < Q; q++) {
      const list = best[q]!;
      for (let j = 0; j < Number(m.counts[q]); j++) {
        list.push({ id: chunkIds[Number(m.keys[q * (K + 1) + j])]!, d: m.distances[q * (K + 1) + j]! });
      }
      list.sort((a, b) => a.d - b.d).splice(K + 1);
    }
    const a = performance.now();
    for (const h of topKCosine(chunk.subarray(0, n * DIM), DIM, queries.subarray(0, DIM), K + 1, new Set())) {
      appBest.push({ id: chunkIds[h.index]!, score: h.score });
    }
    appBest = appBest.sort((x, y) => y.score - x.score).slice(0, K + 1);
    appScanMs += performance.now() - a;
    n = 0;
  };
  for (const r of db
    .prepare<[string, number], { track_id: number; vector: Buffer }>('SELECT track_id, vector FROM track_vectors WHERE model_id = ? AND dim = ?')
    .iterate(MODEL, DIM)) {
    chunk.set(blobToFloat32(r.vector), n * DIM);
    chunkIds[n++] = r.track_id;
    if (n === CHUNK) flush();
  }
  flush();
  const exactS = (performance.now() - t) / 1000;
  const exact = best.map((list, q) => list.filter((h) => h.id !== queryIds[q]).slice(0, K).map((h) => h.id));
  const appAgrees = appBest.filter((h) => h.id !== queryIds[0]).slice(0, K).every((h, i) => h.id === exact[0]![i]);
  console.log(
    `anchor: exact top ${K} of ${Q} queries in one streaming pass over the table: ${exactS.toFixed(1)} s (${((exactS * 1000) / Q).toFixed(0)} ms per query, SIMD); ` +
      `the app's exact scan (topKCosine) for one query over all ${N.toLocaleString('en')} vectors: ${appScanMs.toFixed(0)} ms${appAgrees ? '' : ' (DISAGREES with the SIMD answer)'}`,
  );

  const ours: number[] = [];
  let found = 0;
  let first = 0;
  for (let q = 0; q < Q; q++) {
    const a = performance.now();
    const got = index.search(queries.subarray(q * DIM, (q + 1) * DIM), K, queryIds[q]);
    const ms = performance.now() - a;
    if (q === 0) first = ms;
    ours.push(ms);
    const g = new Set(got.map((h) => h.trackId));
    found += exact[q]!.filter((x) => g.has(x)).length;
  }
  const recall = found / (Q * K);
  console.log(`\n${''.padEnd(32)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)}`);
  console.log(`ours (ANN, mapped index)         ${pct(ours, 50).toFixed(2).padStart(8)} ${pct(ours, 95).toFixed(2).padStart(8)}   recall@${K} ${recall.toFixed(3)}; first query ${first.toFixed(1)} ms`);
  console.log(`anchor (app's exact scan, 1 q)   ${appScanMs.toFixed(0).padStart(8)}`);
  console.log(`ratio anchor/ours p50: ${(appScanMs / pct(ours, 50)).toFixed(0)}×`);
  // The same saved graph searched with other breadths: what recall and time the app's setting trades.
  for (const breadth of [128, 512].filter((b) => b !== EXPANSION_SEARCH)) {
    const other = newIndex(DIM, breadth);
    other.view(file);
    const times: number[] = [];
    let hits = 0;
    for (let q = 0; q < Q; q++) {
      const a = performance.now();
      const m = other.search(queries.subarray(q * DIM, (q + 1) * DIM), K + 1, 0);
      times.push(performance.now() - a);
      const g = new Set([...m.keys].map(Number));
      hits += exact[q]!.filter((x) => g.has(x)).length;
    }
    console.log(`  search breadth ${breadth} (app: ${EXPANSION_SEARCH})      ${pct(times, 50).toFixed(2).padStart(8)} ${pct(times, 95).toFixed(2).padStart(8)}   recall@${K} ${(hits / (Q * K)).toFixed(3)}`);
  }
  const ok = pct(ours, 95) < 10 && recall >= 0.95;
  console.log(`goal p95 < 10 ms and recall@${K} >= 0.95: ${ok ? 'met' : 'NOT met'}`);
  console.log(`memory: index file ${mib(statSync(file).size)}; RSS ${rss()} after the queries (mapped index), peak ${peak()} (the build); total ${((performance.now() - started) / 60000).toFixed(1)} min`);
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
