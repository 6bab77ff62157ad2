/**
 * @file Approximate nearest-neighbour index over the pooled track vectors of one encoder ("more like this" at
 * library scale): a usearch HNSW graph with float16 vectors, grown as vectors arrive, saved beside the database and
 * rebuilt from SQLite when its file is missing, damaged or out of date. Main process and CLI.
 *
 * [Note: Similarity index]
 * track_vectors in SQLite stays the truth; the index is a cache of it. A saved index is one file
 * (`<db>.similar-<key>.usearch`) plus a small JSON stamp (`….json`: encoder, dimension, vector count and the
 * newest updated_at it holds) written after it. Both are written to a temporary name and renamed, so a crash
 * (kill -9) at any point leaves either the previous complete pair or none (or a new index file with the
 * previous stamp, which disagree on the count: rebuilt). On open, vectors updated after the
 * stamp are added (no full rebuild per caption); a file that cannot be loaded or disagrees with its stamp, or
 * deleted tracks, mean a rebuild from the table.
 * A saved index that matches SQLite is memory-mapped (usearch `view`), not read into memory: at 1,000,000 ×
 * 1024 the file is ~2.2 GB, and a query touches only the few thousand vectors and graph nodes it visits, so the
 * main process stays far below its 1 GB budget (bench/library-rss.ts). A mapped index is read-only; the first
 * change to it (upsert/remove) reads the file into memory, and save() maps the new file again.
 * Vectors are stored as float16: half of float32's memory (2 GB at 1,000,000 × 1024), with recall@10 ≥ 0.95
 * (test/integration/db/similarity-index.test.ts; bench/similar.ts at 1,000,000). int8 does not hold: usearch scales components to ±127, and
 * the components of a 1024-d unit vector are ~0.03, so most of them round to a handful of levels (recall@10
 * fell to 0.73–0.82 on the same test).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { Index, MetricKind, ScalarKind } from 'usearch';
import { blobToFloat32 } from '../../model/inference/vectors';

/** The stamp saved beside an index: what it was built from. */
interface Stamp {
  readonly modelId: string;
  readonly dim: number;
  readonly count: number;
  readonly newest: number;
}

/** A row of track_vectors as the index reads it. */
interface VectorRow {
  readonly track_id: number;
  readonly vector: Buffer;
  readonly updated_at: number;
}

/** A "more like this" hit. */
export interface IndexHit {
  readonly trackId: number;
  /** Cosine similarity (1 − usearch's cosine distance), in [-1, 1]. */
  readonly score: number;
}

/**
 * HNSW graph degree and breadth, chosen with bench/similar.ts (multi-scale clustered 1024-d vectors, 2 cores;
 * see docs/library.md "How similarity scales"). The build is the cost that grows with the library, and it is
 * proportional to EXPANSION_ADD; but a narrow build cannot be made up for at query time at 1,000,000: built
 * with 64, recall@10 was 0.98 at 100,000, 0.91 at 300,000 and 0.80 at 1,000,000, and search breadth 512
 * instead of 256 only lifted it to 0.84. Built with 128 it was 0.994 at 300,000 (build ~0.4 ms per vector
 * against ~0.2); connectivity 32 with 64 gave 0.93. At 1,000,000 built with 128 (~300 s), search breadth 256 /
 * 384 / 512 gave recall@10 0.938 / 0.948 / 0.957 at p95 5.4 / 5.6 / 6.5 ms, but over three builds 0.942–0.957
 * (the threaded build varies): no margin. Built with 192 (405 s, the whole bench 8.3 min), breadth 256 / 384 /
 * 512 gave 0.962 / 0.992 / 0.992 at p95 4.1 / 4.4 / 3.6 ms (6.5 ms while the pages come from the file).
 */
const CONNECTIVITY = 16;
const EXPANSION_ADD = 192;
export const EXPANSION_SEARCH = 512;
/** Vectors per multi-threaded add: large enough that the worker threads stay busy, small enough to be cheap. */
const ADD_BATCH = 2048;

/** How an index came to be open. */
export type IndexOrigin = 'loaded' | 'caught-up' | 'rebuilt-missing' | 'rebuilt-damaged' | 'rebuilt-stale' | 'new';

/** The ANN index of one encoder's vectors of one dimension. */
export class SimilarityIndex {
  readonly #db: Database.Database;
  readonly #path: string | null;
  #index: Index;
  readonly modelId: string;
  readonly dim: number;
  /** How this index was opened (for logs and tests). */
  readonly origin: IndexOrigin;
  #newest = 0;
  #mapped: boolean;

  private constructor(
    db: Database.Database,
    path: string | null,
    modelId: string,
    dim: number,
    origin: IndexOrigin,
    index: Index,
    newest: number,
    mapped: boolean,
  ) {
    this.#db = db;
    this.#path = path;
    this.modelId = modelId;
    this.dim = dim;
    this.origin = origin;
    this.#index = index;
    this.#newest = newest;
    this.#mapped = mapped;
  }

  /** The index file for a database file and encoder (null for an in-memory database: nothing is saved). */
  static pathFor(dbPath: string, modelId: string, dim: number): string | null {
    if (dbPath === ':memory:' || dbPath === '') return null;
    const key = createHash('sha1').update(`${modelId}\u0000${dim}`).digest('hex').slice(0, 12);
    return `${dbPath}.similar-${key}.usearch`;
  }

  /**
   * Opens the saved index of `modelId`/`dim` beside the database if it matches SQLite, else builds it from
   * track_vectors (and saves it). Never throws for a bad file: it is replaced.
   */
  static open(db: Database.Database, modelId: string, dim: number): SimilarityIndex {
    const path = SimilarityIndex.pathFor(db.name, modelId, dim);
    const truth = stampOf(db, modelId, dim);
    let why: IndexOrigin = path === null ? 'new' : 'rebuilt-missing';
    if (path !== null && existsSync(path) && existsSync(`${path}.json`)) {
      try {
        const saved = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as Stamp;
        if (saved.modelId === modelId && saved.dim === dim) {
          const index = newIndex(dim);
          const current = saved.count === truth.count && saved.newest === truth.newest;
          // Mapped when nothing is to be added; read into memory when vectors must be caught up.
          if (current) index.view(path);
          else index.load(path);
          if (index.size() !== saved.count || index.dimensions() !== dim) throw new Error('index file does not match its stamp');
          const loaded = new SimilarityIndex(db, path, modelId, dim, 'loaded', index, saved.newest, current);
          if (current) return loaded;
          // Vectors written since the save (by this or another process): add just those. A count that still
          // differs means tracks were deleted too; then rebuild.
          const since = db
            .prepare<[string, number, number], VectorRow>(
              'SELECT track_id, vector, updated_at FROM track_vectors WHERE model_id = ? AND dim = ? AND updated_at > ?',
            )
            .iterate(modelId, dim, saved.newest);
          loaded.#addAll(since, true);
          if (loaded.size === truth.count) {
            const caught = new SimilarityIndex(db, path, modelId, dim, 'caught-up', index, loaded.#newest, false);
            caught.save();
            return caught;
          }
          why = 'rebuilt-stale';
        } else why = 'rebuilt-stale';
      } catch {
        why = 'rebuilt-damaged'; // unreadable stamp, truncated or corrupt index file
      }
    }
    // Built from one streaming read of the table (never all BLOBs at once), added in multi-threaded batches.
    const built = new SimilarityIndex(db, path, modelId, dim, why, newIndex(dim), 0, false);
    built.#addAll(
      db
        .prepare<[string, number], VectorRow>('SELECT track_id, vector, updated_at FROM track_vectors WHERE model_id = ? AND dim = ?')
        .iterate(modelId, dim),
      false,
    );
    built.#newest = Math.max(built.#newest, truth.newest);
    built.save();
    return built;
  }

  /**
   * Adds rows in batches with all cores (usearch's threaded add). `replace`: rows may already be in the index
   * (caught-up vectors of re-captioned tracks), so their old vectors are removed first.
   */
  #addAll(rows: Iterable<VectorRow>, replace: boolean): void {
    this.#thaw();
    const keys = new BigUint64Array(ADD_BATCH);
    const vecs = new Float32Array(ADD_BATCH * this.dim);
    let n = 0;
    const flush = (): void => {
      if (n > 0) this.#index.add(keys.subarray(0, n), vecs.subarray(0, n * this.dim), 0);
      n = 0;
    };
    for (const r of rows) {
      const v = blobToFloat32(r.vector);
      if (v.length !== this.dim) throw new Error(`Vector of track ${r.track_id} has ${v.length} values, expected ${this.dim}.`);
      const key = BigInt(r.track_id);
      if (replace && this.#index.contains(key)) this.#index.remove(key);
      vecs.set(v, n * this.dim);
      keys[n++] = key;
      this.#newest = Math.max(this.#newest, r.updated_at);
      if (n === ADD_BATCH) flush();
    }
    flush();
  }

  /** A mapped index is read-only: read it into memory before the first change. */
  #thaw(): void {
    if (!this.#mapped || this.#path === null) return;
    this.#index.load(this.#path);
    this.#mapped = false;
  }

  /** Whether the index is memory-mapped from its file (read-only, resident only where queries touched it). */
  get mapped(): boolean {
    return this.#mapped;
  }

  /** Vectors in the index. */
  get size(): number {
    return this.#index.size();
  }

  /** Adds or replaces a track's vector (call when track_vectors changes; save() persists it). */
  upsert(trackId: number, vector: Float32Array, updatedAt: number): void {
    if (vector.length !== this.dim) throw new Error(`Vector of track ${trackId} has ${vector.length} values, expected ${this.dim}.`);
    this.#thaw();
    const key = BigInt(trackId);
    if (this.#index.contains(key)) this.#index.remove(key);
    this.#index.add(key, vector);
    this.#newest = Math.max(this.#newest, updatedAt);
  }

  /** Removes a track (deleted). */
  remove(trackId: number): void {
    this.#thaw();
    const key = BigInt(trackId);
    if (this.#index.contains(key)) this.#index.remove(key);
  }

  /** The `k` nearest tracks to `vector`, best first, without `exclude`. */
  search(vector: Float32Array, k: number, exclude?: number): IndexHit[] {
    const want = Math.min(this.size, k + (exclude === undefined ? 0 : 1));
    if (want <= 0) return [];
    const m = this.#index.search(vector, want, 0);
    const out: IndexHit[] = [];
    for (let i = 0; i < m.keys.length && out.length < k; i++) {
      const id = Number(m.keys[i]);
      if (id !== exclude) out.push({ trackId: id, score: 1 - m.distances[i]! });
    }
    return out;
  }

  /** Whether the index holds exactly what SQLite holds now (same count and newest update). */
  isCurrent(): boolean {
    const t = stampOf(this.#db, this.modelId, this.dim);
    return t.count === this.size && t.newest === this.#newest;
  }

  /**
   * Writes the index and its stamp beside the database, atomically (see the Note), then maps the written file
   * in place of the in-memory copy (which view() frees). No-op in memory, and for a mapped index (unchanged).
   */
  save(): void {
    if (this.#path === null || this.#mapped) return;
    const tmp = `${this.#path}.tmp-${process.pid}`;
    try {
      this.#index.save(tmp);
      renameSync(tmp, this.#path);
      const stamp: Stamp = { modelId: this.modelId, dim: this.dim, count: this.size, newest: this.#newest };
      writeFileSync(`${tmp}.json`, JSON.stringify(stamp));
      renameSync(`${tmp}.json`, `${this.#path}.json`);
    } finally {
      rmSync(tmp, { force: true });
      rmSync(`${tmp}.json`, { force: true });
    }
    this.#index.view(this.#path);
    this.#mapped = true;
  }

  /** Approximate bytes of the index (in memory, or in its file when mapped): float16 vectors plus graph links. */
  memoryBytes(): number {
    return this.size * (this.dim * 2 + CONNECTIVITY * 2 * 4 + 64);
  }
}

/** An empty index with the app's settings (`expansionSearch` other than the app's: bench/similar.ts compares). */
export function newIndex(dim: number, expansionSearch = EXPANSION_SEARCH): Index {
  return new Index({
    dimensions: dim,
    metric: MetricKind.Cos,
    quantization: ScalarKind.F16,
    connectivity: CONNECTIVITY,
    expansion_add: EXPANSION_ADD,
    expansion_search: expansionSearch,
    multi: false,
  });
}

/** What SQLite holds for an encoder: vector count and newest update (one index-only count, one max). */
function stampOf(db: Database.Database, modelId: string, dim: number): { count: number; newest: number } {
  const r = db
    .prepare<[string, number], { n: number; newest: number | null }>(
      'SELECT count(*) AS n, max(updated_at) AS newest FROM track_vectors WHERE model_id = ? AND dim = ?',
    )
    .get(modelId, dim);
  return { count: r?.n ?? 0, newest: r?.newest ?? 0 };
}
