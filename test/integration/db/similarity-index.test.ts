/**
 * @file The "more like this" ANN index (main/db/similarity-index.ts): recall@10 against the exact answer on
 * generated 1024-d embeddings, recovery when its file is deleted, truncated or out of date, catching up with
 * new vectors without a rebuild, and a `musilingo similar` killed with SIGKILL while it builds the index.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/db/open';
import { SimilarityIndex } from '../../../main/db/similarity-index';
import { TracksRepo } from '../../../main/db/tracks';
import { float32ToBlob } from '../../../model/inference/vectors';
import { tempDir } from '../../helpers/library-audio';
import { metaOf } from '../../helpers/musiccaps';

const DIM = 1024;
const MODEL = 'mert-test';
const tmp = tempDir('musilingo-ann-');
afterAll(() => tmp.cleanup());

/** Clustered unit vectors (like embeddings of songs in a few styles), deterministic. */
function vectors(n: number, seed: number): Float32Array[] {
  let s = seed;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
  const centers = Array.from({ length: 40 }, () => Float32Array.from({ length: DIM }, rnd));
  return Array.from({ length: n }, (_, i) => {
    const c = centers[i % centers.length]!;
    const v = Float32Array.from({ length: DIM }, (_, j) => c[j]! + 0.35 * rnd());
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

/** A library of `n` tracks with one vector each; returns the database and the vectors by track id. */
function library(path: string, n: number, seed = 7): { db: Database.Database; byId: Map<number, Float32Array> } {
  const db = openDatabase(path);
  const tracks = new TracksRepo(db);
  const ins = db.prepare('INSERT INTO track_vectors (track_id, model_id, dim, rows, vector, updated_at) VALUES (?, ?, ?, 1, ?, ?)');
  const byId = new Map<number, Float32Array>();
  const vs = vectors(n, seed);
  db.transaction(() => {
    vs.forEach((v, i) => {
      const id = tracks.insert({ path: `/m/${i}.flac`, folderId: null, sizeBytes: 1, mtimeMs: 0, fingerprint: `fp${i}` }, metaOf({ title: `t${i}` }), 0);
      ins.run(id, MODEL, DIM, float32ToBlob(v), 1000 + i);
      byId.set(id, v);
    });
  })();
  return { db, byId };
}

function exactTop(byId: Map<number, Float32Array>, q: Float32Array, k: number, self: number): number[] {
  const scored: [number, number][] = [];
  for (const [id, v] of byId) {
    if (id === self) continue;
    let dot = 0;
    for (let j = 0; j < DIM; j++) dot += v[j]! * q[j]!;
    scored.push([id, dot]);
  }
  return scored.sort((a, b) => b[1] - a[1]).slice(0, k).map((x) => x[0]);
}

describe('similarity index', () => {
  it('finds at least 95 % of the exact top 10 (float16 vectors, 1024 dimensions)', () => {
    const { db, byId } = library(':memory:', 3000);
    const index = SimilarityIndex.open(db, MODEL, DIM);
    expect(index.size).toBe(3000);
    const ids = [...byId.keys()];
    let found = 0;
    const queries = ids.filter((_, i) => i % 30 === 0);
    for (const id of queries) {
      const got = new Set(index.search(byId.get(id)!, 10, id).map((h) => h.trackId));
      expect(got.has(id)).toBe(false);
      found += exactTop(byId, byId.get(id)!, 10, id).filter((x) => got.has(x)).length;
    }
    const recall = found / (queries.length * 10);
    expect(recall).toBeGreaterThanOrEqual(0.95);
    db.close();
  }, 120_000);

  it('is saved beside the database, loaded, and rebuilt when its file is missing, truncated or stale', () => {
    const path = join(tmp.dir, 'lib.sqlite');
    const { db, byId } = library(path, 400);
    const file = SimilarityIndex.pathFor(path, MODEL, DIM)!;
    const first = SimilarityIndex.open(db, MODEL, DIM);
    expect(first.origin).toBe('rebuilt-missing');
    expect(existsSync(file) && existsSync(`${file}.json`)).toBe(true);
    const someId = [...byId.keys()][17]!;
    const want = first.search(byId.get(someId)!, 10, someId).map((h) => h.trackId);

    const again = SimilarityIndex.open(db, MODEL, DIM);
    expect(again.origin).toBe('loaded');
    expect(again.mapped).toBe(true);
    expect(again.search(byId.get(someId)!, 10, someId).map((h) => h.trackId)).toEqual(want);

    rmSync(file);
    expect(SimilarityIndex.open(db, MODEL, DIM).origin).toBe('rebuilt-missing');

    truncateSync(file, Math.floor(statSync(file).size / 2));
    const fixed = SimilarityIndex.open(db, MODEL, DIM);
    expect(fixed.origin).toBe('rebuilt-damaged');
    expect(fixed.size).toBe(400);
    expect(SimilarityIndex.open(db, MODEL, DIM).origin).toBe('loaded');

    writeFileSync(`${file}.json`, '{not json');
    expect(SimilarityIndex.open(db, MODEL, DIM).origin).toBe('rebuilt-damaged');

    // A vector written after the save (another process captioned a track): added, not rebuilt.
    const [extra] = vectors(1, 99);
    const newId = new TracksRepo(db).insert({ path: '/m/new.flac', folderId: null, sizeBytes: 1, mtimeMs: 0, fingerprint: 'fpn' }, metaOf({ title: 'new' }), 0);
    db.prepare('INSERT INTO track_vectors (track_id, model_id, dim, rows, vector, updated_at) VALUES (?, ?, ?, 1, ?, ?)').run(newId, MODEL, DIM, float32ToBlob(extra!), 5000);
    const caught = SimilarityIndex.open(db, MODEL, DIM);
    expect(caught.origin).toBe('caught-up');
    expect(caught.size).toBe(401);
    expect(caught.search(extra!, 1)[0]!.trackId).toBe(newId);
    expect(caught.mapped).toBe(true); // saved, then mapped again
    expect(SimilarityIndex.open(db, MODEL, DIM).origin).toBe('loaded');

    // A deleted track cannot be caught up: rebuilt.
    db.prepare('DELETE FROM tracks WHERE id = ?').run(someId);
    const afterDelete = SimilarityIndex.open(db, MODEL, DIM);
    expect(afterDelete.origin).toBe('rebuilt-stale');
    expect(afterDelete.search(byId.get(someId)!, 400).some((h) => h.trackId === someId)).toBe(false);
    db.close();
  }, 120_000);

  it('is memory-mapped when loaded, read into memory on the first change, and mapped again when saved', () => {
    const path = join(tmp.dir, 'mapped.sqlite');
    const { db, byId } = library(path, 300, 5);
    const built = SimilarityIndex.open(db, MODEL, DIM);
    expect(built.mapped).toBe(true); // built in memory, saved, then mapped: the copy in memory is freed
    const index = SimilarityIndex.open(db, MODEL, DIM);
    expect([index.origin, index.mapped]).toEqual(['loaded', true]);
    const [id, other] = [...byId.keys()];
    const replacement = byId.get(other!)!.map((x, j) => (j % 2 ? -x : x));
    index.upsert(id!, replacement, 9_999); // a mapped index is read-only: this must read it into memory first
    expect(index.mapped).toBe(false);
    expect(index.size).toBe(300);
    expect(index.search(replacement, 1)[0]!.trackId).toBe(id);
    index.save();
    expect(index.mapped).toBe(true);
    expect(index.search(replacement, 1)[0]!.trackId).toBe(id);
    index.remove(other!);
    expect([index.mapped, index.size]).toEqual([false, 299]);
    db.close();
    const mem = library(':memory:', 50, 5);
    expect(SimilarityIndex.open(mem.db, MODEL, DIM).mapped).toBe(false); // nothing to map in memory
    mem.db.close();
  });

  it('survives `musilingo similar` killed with SIGKILL while it builds the index', async () => {
    const path = join(tmp.dir, 'killed.sqlite');
    const { db, byId } = library(path, 2500, 11);
    db.close();
    const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'musilingo.mjs');
    const env = { ...process.env, MUSILINGO_ANN_MIN_VECTORS: '100', MUSILINGO_HOME: join(tmp.dir, 'home') };
    const someId = [...byId.keys()][5]!;
    const file = SimilarityIndex.pathFor(path, MODEL, DIM)!;
    // Kill it at several points of the build (and, for the last, possibly during the save).
    for (const afterMs of [300, 1200, 2500]) {
      const child = spawn(process.execPath, [bin, '--db', path, 'similar', String(someId), '--json'], { env, stdio: 'ignore' });
      const closed = new Promise((r) => child.on('close', r));
      await new Promise((r) => setTimeout(r, afterMs));
      child.kill('SIGKILL');
      await closed;
    }
    const done = spawnSync(process.execPath, [bin, '--db', path, 'similar', String(someId), '--json'], { env, encoding: 'utf8', timeout: 90_000 });
    expect(done.status, done.stderr).toBe(0);
    const hits = JSON.parse(done.stdout) as { trackId: number }[];
    expect(hits).toHaveLength(10);
    const exact = exactTop(byId, byId.get(someId)!, 10, someId);
    expect(hits.filter((h) => exact.includes(h.trackId)).length).toBeGreaterThanOrEqual(8);
    // What is on disk now is a complete index that the next open loads as is.
    expect(JSON.parse(readFileSync(`${file}.json`, 'utf8'))).toMatchObject({ count: 2500, dim: DIM });
    const reopened = openDatabase(path);
    expect(SimilarityIndex.open(reopened, MODEL, DIM).origin).toBe('loaded');
    reopened.close();
  }, 180_000);
});
