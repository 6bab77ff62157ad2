/**
 * @file Benchmark: captioning throughput of the whole pipeline on the CPU with the tiny pack (what the queue,
 * storage, RPC, audio decoding and prompt assembly cost around the model), and "more like this" brute force
 * at 100,000 tracks. Each figure is printed beside a baseline measured in the same run.
 *
 *   npm run bench -- captions [--tracks 12] [--seconds 30] [--vectors 100000] [--dim 1024]
 *
 * Baselines: captions through the job queue (SQLite claims, one transaction per result, RPC with structured
 * clone) vs the same service called directly; similarity with the cached matrix vs decoding every stored
 * vector from SQLite per query.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../main/db/open';
import { similarTracks } from '../main/db/windows';
import { enqueueCaption, enqueueGroup } from '../main/jobs/kinds';
import { createJobRunner } from '../main/jobs/runner';
import { connectLocalInference } from '../model/inference/client';
import { loadModelPack } from '../model/inference/pack';
import { createInferenceService } from '../model/inference/service';
import { blobToFloat32, float32ToBlob, normalizeInPlace, topKCosine } from '../model/inference/vectors';
import { buildTinyPack } from '../test/integration/captions/tiny-pack';

const { values } = parseArgs({
  options: {
    tracks: { type: 'string', default: '12' },
    seconds: { type: 'string', default: '30' },
    vectors: { type: 'string', default: '100000' },
    dim: { type: 'string', default: '1024' },
    'max-new': { type: 'string', default: '300' },
  },
});
const nTracks = Number(values.tracks);
const seconds = Number(values.seconds);
const nVectors = Number(values.vectors);
const dim = Number(values.dim);
const maxNew = Number(values['max-new']);

function perHour(n: number, ms: number): string {
  return ((n / ms) * 3_600_000).toFixed(0);
}

async function captions(work: string): Promise<void> {
  const pack = join(work, 'pack');
  await buildTinyPack(work, pack, join(process.cwd(), 'test', 'fixtures'));
  const music = join(work, 'music');
  execFileSync('mkdir', ['-p', music]);
  const paths: string[] = [];
  for (let i = 0; i < nTracks; i++) {
    const p = join(music, `t${i}.wav`);
    execFileSync('sox', ['-n', '-r', '44100', '-c', '2', p, 'synth', String(seconds), i % 2 ? 'sine' : 'pinknoise', String(220 + 40 * i), 'vol', '0.5']);
    paths.push(p);
  }
  const db = openDatabase(join(work, 'bench.sqlite'));
  const now = Date.now();
  const ins = db.prepare('INSERT INTO tracks (path, size_bytes, mtime_ms, fingerprint, added_at, updated_at) VALUES (?, 1, ?, ?, ?, ?)');
  for (const p of paths) ins.run(p, now, p, now, now);

  // Baseline: the service called directly, batch 4 (no queue, no storage, no RPC), after one warm-up call.
  const svc = createInferenceService({ loadPack: (r) => loadModelPack(r), maxBatch: 4 });
  const ctx = { signal: new AbortController().signal, emit: () => undefined };
  await svc.load({ packDir: pack, executionProvider: 'cpu', threads: 1 }, ctx);
  await svc.caption({ items: [{ key: 'warm', path: paths[0]!, window: { kind: 'default' } }], generation: { maxNewTokens: maxNew } }, ctx);
  async function runDirect(): Promise<number> {
    const t0 = performance.now();
    for (let i = 0; i < paths.length; i += 4) {
      await svc.caption({ items: paths.slice(i, i + 4).map((p, k) => ({ key: String(i + k), path: p, window: { kind: 'default' } })), generation: { maxNewTokens: maxNew } }, ctx);
    }
    return performance.now() - t0;
  }

  // The product path: caption-all through the SQLite queue and the RPC, batch 4.
  const conn = connectLocalInference({ loadPack: (r) => loadModelPack(r), maxBatch: 4 });
  const runner = createJobRunner({ db, client: () => conn.client, resolvePack: () => ({ packDir: pack, executionProvider: 'cpu', threads: 1 }), maxBatch: 4, pollMs: 5 });
  runner.start();
  const warm = enqueueCaption(db, { trackId: 1, model: 'bench' }).id; // loads the pack, as the baseline's warm-up
  runner.wake();
  await runner.waitFor(warm);
  async function runQueued(): Promise<number> {
    const t1 = performance.now();
    const group = enqueueGroup(db, { kind: 'caption-all', model: 'bench', window: { kind: 'default' }, force: true }).id;
    runner.wake();
    await runner.waitFor(group);
    return performance.now() - t1;
  }
  // Alternate the two paths and keep each one's best run: the machine is shared, so single runs are noisy.
  let direct = Infinity;
  let queued = Infinity;
  for (let round = 0; round < 2; round++) {
    direct = Math.min(direct, await runDirect());
    queued = Math.min(queued, await runQueued());
  }
  await svc.unload({}, ctx);
  await runner.stop();
  await conn.close();
  db.close();
  console.log(`captions (tiny pack, CPU, ${nTracks} tracks of ${seconds} s, ${maxNew} new tokens each, batch 4, best of 2):`);
  console.log(`  direct service calls : ${(direct / nTracks).toFixed(0)} ms/caption = ${perHour(nTracks, direct)} captions/hour`);
  console.log(`  job queue + storage  : ${(queued / nTracks).toFixed(0)} ms/caption = ${perHour(nTracks, queued)} captions/hour`);
  console.log(`  queue overhead ratio : ${(queued / direct).toFixed(3)}×`);
}

function similarity(work: string): void {
  const db = openDatabase(join(work, 'vectors.sqlite'));
  const now = Date.now();
  let seed = 12345;
  const rand = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const t0 = performance.now();
  db.transaction(() => {
    const t = db.prepare('INSERT INTO tracks (id, path, size_bytes, mtime_ms, fingerprint, added_at, updated_at) VALUES (?, ?, 1, ?, ?, ?, ?)');
    const v = db.prepare('INSERT INTO track_vectors (track_id, model_id, dim, rows, vector, updated_at) VALUES (?, ?, ?, 7, ?, ?)');
    const vec = new Float32Array(dim);
    for (let i = 1; i <= nVectors; i++) {
      t.run(i, `/m/${i}.mp3`, now, String(i), now, now);
      for (let d = 0; d < dim; d++) vec[d] = rand();
      v.run(i, 'mert', dim, float32ToBlob(normalizeInPlace(vec)), now);
    }
  })();
  const insertMs = performance.now() - t0;
  const queries = [17, 4242, 99_999, 50_000, 1, 777, 31_337, 65_000].filter((q) => q <= nVectors);
  const t1 = performance.now();
  similarTracks(db, queries[0]!, { limit: 10 }); // loads and caches the matrix
  const firstMs = performance.now() - t1;
  const times: number[] = [];
  for (const q of queries) {
    const s = performance.now();
    similarTracks(db, q, { limit: 10 });
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  const cached = times[Math.floor(times.length / 2)]!;
  // Baseline: decode every stored vector from SQLite for each query (no cache).
  const s = performance.now();
  const rows = db.prepare("SELECT track_id, vector FROM track_vectors WHERE model_id = 'mert'").all() as { track_id: number; vector: Buffer }[];
  const m = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => m.set(blobToFloat32(r.vector), i * dim));
  topKCosine(m, dim, m.subarray(0, dim), 10);
  const uncached = performance.now() - s;
  db.close();
  console.log(`more like this (${nVectors} tracks × ${dim} dims, brute force):`);
  console.log(`  store vectors        : ${(insertMs / 1000).toFixed(1)} s`);
  console.log(`  first query (load)   : ${firstMs.toFixed(0)} ms`);
  console.log(`  query, cached matrix : ${cached.toFixed(1)} ms (median of ${times.length})`);
  console.log(`  baseline, no cache   : ${uncached.toFixed(0)} ms  → cache speed-up ${(uncached / cached).toFixed(1)}×`);
  console.log(`  matrix memory        : ${((nVectors * dim * 4) / 2 ** 20).toFixed(0)} MiB`);
}

const work = mkdtempSync(join(tmpdir(), 'ml-bench-captions-'));
try {
  await captions(work);
  similarity(work);
} finally {
  rmSync(work, { recursive: true, force: true });
}
