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
 * Vectors are stored as float16: half of float32's memory (2 GB at 1,000,000 × 1024), with recall@10 ≥ 0.95
 * (test/integration/db/similarity-index.test.ts). int8 does not hold: usearch scales components to ±127, and
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

/** A "more like this" hit. */
export interface IndexHit {
  readonly trackId: number;
  /** Cosine similarity (1 − usearch's cosine distance), in [-1, 1]. */
  readonly score: number;
}

/** HNSW graph degree and search breadth: recall@10 ≥ 0.95 at 1024 dimensions (see the Note). */
const CONNECTIVITY = 16;
const EXPANSION_ADD = 128;
const EXPANSION_SEARCH = 128;

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

  private constructor(db: Database.Database, path: string | null, modelId: string, dim: number, origin: IndexOrigin, index: Index, newest: number) {
    this.#db = db;
    this.#path = path;
    this.modelId = modelId;
    this.dim = dim;
    this.origin = origin;
    this.#index = index;
    this.#newest = newest;
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
          index.load(path);
          if (index.size() !== saved.count || index.dimensions() !== dim) throw new Error('index file does not match its stamp');
          const loaded = new SimilarityIndex(db, path, modelId, dim, 'loaded', index, saved.newest);
          if (saved.count === truth.count && saved.newest === truth.newest) return loaded;
          // Vectors written since the save (by this or another process): add just those. A count that still
          // differs means tracks were deleted too; then rebuild.
          const since = db
            .prepare<[string, number, number], { track_id: number; vector: Buffer; updated_at: number }>(
              'SELECT track_id, vector, updated_at FROM track_vectors WHERE model_id = ? AND dim = ? AND updated_at > ?',
            )
            .all(modelId, dim, saved.newest);
          for (const r of since) loaded.upsert(r.track_id, blobToFloat32(r.vector), r.updated_at);
          if (loaded.size === truth.count) {
            const caught = new SimilarityIndex(db, path, modelId, dim, 'caught-up', index, loaded.#newest);
            caught.save();
            return caught;
          }
          why = 'rebuilt-stale';
        } else why = 'rebuilt-stale';
      } catch {
        why = 'rebuilt-damaged'; // unreadable stamp, truncated or corrupt index file
      }
    }
    const index = newIndex(dim);
    const rows = db
      .prepare<[string, number], { track_id: number; vector: Buffer }>('SELECT track_id, vector FROM track_vectors WHERE model_id = ? AND dim = ?')
      .iterate(modelId, dim);
    // Added in batches: usearch adds a batch with several threads.
    const BATCH = 1024;
    let keys: bigint[] = [];
    let vecs = new Float32Array(BATCH * dim);
    for (const r of rows) {
      vecs.set(blobToFloat32(r.vector), keys.length * dim);
      keys.push(BigInt(r.track_id));
      if (keys.length === BATCH) {
        index.add(BigUint64Array.from(keys), vecs, 0);
        keys = [];
        vecs = new Float32Array(BATCH * dim);
      }
    }
    if (keys.length) index.add(BigUint64Array.from(keys), vecs.subarray(0, keys.length * dim), 0);
    const built = new SimilarityIndex(db, path, modelId, dim, why, index, truth.newest);
    built.save();
    return built;
  }

  /** Vectors in the index. */
  get size(): number {
    return this.#index.size();
  }

  /** Adds or replaces a track's vector (call when track_vectors changes; save() persists it). */
  upsert(trackId: number, vector: Float32Array, updatedAt: number): void {
    if (vector.length !== this.dim) throw new Error(`Vector of track ${trackId} has ${vector.length} values, expected ${this.dim}.`);
    const key = BigInt(trackId);
    if (this.#index.contains(key)) this.#index.remove(key);
    this.#index.add(key, vector);
    this.#newest = Math.max(this.#newest, updatedAt);
  }

  /** Removes a track (deleted). */
  remove(trackId: number): void {
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

  /** Writes the index and its stamp beside the database, atomically (see the Note). No-op in memory. */
  save(): void {
    if (this.#path === null) return;
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
  }

  /** Approximate bytes of memory the index holds: float16 vectors plus graph links. */
  memoryBytes(): number {
    return this.size * (this.dim * 2 + CONNECTIVITY * 2 * 4 + 64);
  }
}

function newIndex(dim: number): Index {
  return new Index({
    dimensions: dim,
    metric: MetricKind.Cos,
    quantization: ScalarKind.F16,
    connectivity: CONNECTIVITY,
    expansion_add: EXPANSION_ADD,
    expansion_search: EXPANSION_SEARCH,
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
