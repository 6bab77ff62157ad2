/**
 * @file Benchmark: "more like this" at library scale. Inserts N tracks with one 1024-d pooled vector each
 * (clustered unit vectors, deterministic) into a fresh database, builds the ANN index (main/db/similarity-
 * index.ts: usearch HNSW, float16) and times queries against the anchor measured in the same run: the exact
 * cosine scan over the cached float32 matrix (what similarTracks does below 5,000 vectors). Prints build time,
 * index memory and RSS, p50/p95 per query for both, recall@10 of the index against the exact answer, and the
 * time to open the saved index again.
 *
 * Usage: npm run bench -- similar [tracks=100000] [queries=200]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../main/db/open';
import { SimilarityIndex } from '../main/db/similarity-index';
import { loadVectorIndex } from '../main/db/windows';
import { float32ToBlob, topKCosine } from '../model/inference/vectors';

const N = Number(process.argv[2] ?? 100_000);
const Q = Number(process.argv[3] ?? 200);
const DIM = 1024;
const MODEL = 'bench-encoder';

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const dir = mkdtempSync(join(tmpdir(), 'musilingo-bench-similar-'));
try {
  const db = openDatabase(join(dir, 'bench.sqlite'));
  let seed = 4242;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
  const centers = Array.from({ length: 200 }, () => Float32Array.from({ length: DIM }, rnd));
  const insTrack = db.prepare("INSERT INTO tracks (path, size_bytes, mtime_ms, fingerprint, added_at, updated_at) VALUES (?, 1, 0, ?, 0, 0)");
  const insVec = db.prepare('INSERT INTO track_vectors (track_id, model_id, dim, rows, vector, updated_at) VALUES (?, ?, ?, 1, ?, ?)');
  let t = performance.now();
  const v = new Float32Array(DIM);
  for (let start = 0; start < N; start += 5000) {
    db.transaction(() => {
      for (let i = start; i < Math.min(N, start + 5000); i++) {
        const c = centers[i % centers.length]!;
        let norm = 0;
        for (let j = 0; j < DIM; j++) {
          v[j] = c[j]! + 0.35 * rnd();
          norm += v[j]! * v[j]!;
        }
        norm = Math.sqrt(norm);
        for (let j = 0; j < DIM; j++) v[j] = v[j]! / norm;
        const id = Number(insTrack.run(`/m/${i}.flac`, `fp${i}`).lastInsertRowid);
        insVec.run(id, MODEL, DIM, float32ToBlob(v), 1 + i);
      }
    })();
  }
  console.log(`similar bench: ${N} tracks × ${DIM} dims, generated in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  t = performance.now();
  const index = SimilarityIndex.open(db, MODEL, DIM);
  const buildS = (performance.now() - t) / 1000;
  console.log(`index built (${index.origin}) in ${buildS.toFixed(1)} s; ~${(index.memoryBytes() / 2 ** 20).toFixed(0)} MiB (float16 + graph); process RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  t = performance.now();
  const reopened = SimilarityIndex.open(db, MODEL, DIM);
  console.log(`saved index opened again (${reopened.origin}) in ${((performance.now() - t) / 1000).toFixed(2)} s`);

  t = performance.now();
  const exact = loadVectorIndex(db, MODEL, DIM);
  console.log(`anchor: exact scan matrix loaded in ${((performance.now() - t) / 1000).toFixed(1)} s (${((exact.matrix.byteLength) / 2 ** 20).toFixed(0)} MiB float32)`);

  const ours: number[] = [];
  const anchor: number[] = [];
  let found = 0;
  for (let q = 0; q < Q; q++) {
    const row = Math.floor(((q * 7919) % N));
    const id = exact.trackIds[row]!;
    const query = exact.matrix.subarray(row * DIM, (row + 1) * DIM);
    let a = performance.now();
    const got = index.search(query, 10, id);
    ours.push(performance.now() - a);
    a = performance.now();
    const want = topKCosine(exact.matrix, DIM, query, 10, new Set([row])).map((h) => exact.trackIds[h.index]);
    anchor.push(performance.now() - a);
    const g = new Set(got.map((h) => h.trackId));
    found += want.filter((x) => x !== undefined && g.has(x)).length;
  }
  console.log('              p50 ms   p95 ms');
  console.log(`ours (ANN)  ${pct(ours, 50).toFixed(2).padStart(8)} ${pct(ours, 95).toFixed(2).padStart(8)}   recall@10 ${(found / (Q * 10)).toFixed(3)}  (targets: p95 < 10 ms, recall >= 0.95)`);
  console.log(`anchor exact ${pct(anchor, 50).toFixed(2).padStart(7)} ${pct(anchor, 95).toFixed(2).padStart(8)}`);
  console.log(`ratio anchor/ours p50 ${(pct(anchor, 50) / pct(ours, 50)).toFixed(0)}x`);
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
