/**
 * @file Repository for analysis windows (pooled MERT embeddings per track window) and the per-track vectors
 * "more like this" compares. Main process and CLI (the single writer); workers only read.
 */
import type Database from 'better-sqlite3';
import { SimilarityIndex } from './similarity-index';
import { statementsPerConnection } from './statements';
import { blobToFloat32, float32ToBlob, meanRows, normalizeInPlace, topKCosine } from '../../model/inference/vectors';

/** One analysis window's pooled embedding: `rows` vectors of `dim` values (325-frame pools), row-major. */
export interface WindowEmbedding {
  readonly trackId: number;
  /** Encoder identity (e.g. the pack's encoder hash or 'mert-v1-330m'): vectors of different encoders never mix. */
  readonly modelId: string;
  readonly startMs: number;
  readonly lengthMs: number;
  readonly rows: number;
  readonly dim: number;
  readonly data: Float32Array;
}

/** A track similar to the query track, best first. */
export interface SimilarTrack {
  readonly trackId: number;
  /** Cosine similarity of the tracks' pooled vectors, in [-1, 1]. */
  readonly score: number;
}

interface WindowRow {
  track_id: number;
  model_id: string;
  start_ms: number;
  length_ms: number;
  rows: number;
  dim: number;
  embedding: Buffer;
}

/** Bumped on every vector write through this module, so an in-process cache never misses a same-millisecond change. */
let generation = 0;


function prepare(db: Database.Database) {
  return {
    upsert: db.prepare(
      `INSERT INTO windows (track_id, model_id, start_ms, length_ms, rows, dim, embedding, created_at)
       VALUES (@trackId, @modelId, @startMs, @lengthMs, @rows, @dim, @embedding, @now)
       ON CONFLICT (track_id, model_id, start_ms, length_ms)
       DO UPDATE SET rows = excluded.rows, dim = excluded.dim, embedding = excluded.embedding, created_at = excluded.created_at`,
    ),
    forTrack: db.prepare<[number, string], WindowRow>(
      'SELECT * FROM windows WHERE track_id = ? AND model_id = ? ORDER BY start_ms, length_ms',
    ),
    upsertVector: db.prepare(
      `INSERT INTO track_vectors (track_id, model_id, dim, rows, vector, updated_at)
       VALUES (@trackId, @modelId, @dim, @rows, @vector, @now)
       ON CONFLICT (track_id, model_id)
       DO UPDATE SET dim = excluded.dim, rows = excluded.rows, vector = excluded.vector, updated_at = excluded.updated_at`,
    ),
    vector: db.prepare<[number, string], { vector: Buffer; dim: number }>(
      'SELECT vector, dim FROM track_vectors WHERE track_id = ? AND model_id = ?',
    ),
    allVectors: db.prepare<[string, number], { track_id: number; vector: Buffer }>(
      'SELECT track_id, vector FROM track_vectors WHERE model_id = ? AND dim = ? ORDER BY track_id',
    ),
    // Counted from the primary-key index: never reads the vector BLOBs (their overflow pages are most of the table).
    stamp: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM track_vectors WHERE model_id = ?'),
    models: db.prepare<[number], { model_id: string }>(
      'SELECT model_id FROM track_vectors WHERE track_id = ? ORDER BY updated_at DESC',
    ),
  };
}

const statements = statementsPerConnection(prepare);

/**
 * Stores (or replaces) a window's embedding and recomputes the track's pooled vector from all its windows of
 * that encoder. Call inside the transaction that completes the job, so both land together or not at all.
 */
export function upsertWindow(db: Database.Database, w: WindowEmbedding, now: number = Date.now()): void {
  if (w.data.length !== w.rows * w.dim) {
    throw new Error(`Window embedding of track ${w.trackId} has ${w.data.length} values, expected ${w.rows} × ${w.dim}.`);
  }
  const s = statements(db);
  s.upsert.run({ ...w, embedding: float32ToBlob(w.data), now });
  refreshTrackVector(db, w.trackId, w.modelId, now);
}

/** Recomputes a track's pooled vector: the normalised mean of every window row of the encoder `modelId`. */
export function refreshTrackVector(db: Database.Database, trackId: number, modelId: string, now: number = Date.now()): void {
  const s = statements(db);
  const rows = s.forTrack.all(trackId, modelId);
  const first = rows[0];
  if (!first) return;
  const dim = first.dim;
  const usable = rows.filter((r) => r.dim === dim);
  const total = usable.reduce((n, r) => n + r.rows, 0);
  const all = new Float32Array(total * dim);
  let off = 0;
  for (const r of usable) {
    const v = blobToFloat32(r.embedding, `embedding of track ${trackId}`);
    all.set(v.subarray(0, r.rows * dim), off);
    off += r.rows * dim;
  }
  const vector = normalizeInPlace(meanRows(all, total, dim));
  s.upsertVector.run({ trackId, modelId, dim, rows: total, vector: float32ToBlob(vector), now });
  // An open ANN index grows with the table (no rebuild per caption); see [Note: Similarity index].
  annCache.get(db)?.get(`${modelId}\u0000${dim}`)?.index.upsert(trackId, vector, now);
  generation++;
}

/** Every stored window of a track for an encoder, in time order. */
export function windowsForTrack(db: Database.Database, trackId: number, modelId: string): WindowEmbedding[] {
  return statements(db)
    .forTrack.all(trackId, modelId)
    .map((r) => ({
      trackId: r.track_id,
      modelId: r.model_id,
      startMs: r.start_ms,
      lengthMs: r.length_ms,
      rows: r.rows,
      dim: r.dim,
      data: blobToFloat32(r.embedding),
    }));
}

/** Encoders that have a pooled vector for this track, most recent first. */
export function vectorModelsForTrack(db: Database.Database, trackId: number): string[] {
  return statements(db).models.all(trackId).map((r) => r.model_id);
}

/** A loaded matrix of every track vector of one encoder, for repeated queries. */
export interface VectorIndex {
  readonly modelId: string;
  readonly dim: number;
  readonly trackIds: Int32Array;
  readonly matrix: Float32Array;
  /** count and last update time when loaded: a different stamp means the index is stale. */
  readonly stamp: string;
}

/** Loads every pooled vector of encoder `modelId` with dimension `dim` into one matrix. */
export function loadVectorIndex(db: Database.Database, modelId: string, dim: number): VectorIndex {
  const s = statements(db);
  const rows = s.allVectors.all(modelId, dim);
  const matrix = new Float32Array(rows.length * dim);
  const trackIds = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    trackIds[i] = r.track_id;
    matrix.set(blobToFloat32(r.vector), i * dim);
  });
  const st = s.stamp.get(modelId);
  return { modelId, dim, trackIds, matrix, stamp: stampOf(db, st) };
}

/**
 * [Note: Vector cache freshness] A cached matrix is reused while (vector count, this process's write
 * generation, SQLite's data_version) are unchanged: data_version moves when another connection (the app and
 * a CLI share the database) commits, the generation when this process writes vectors, the count when tracks
 * (and with them their vectors) are deleted. None of them reads the 400 MB of BLOBs at 100,000 tracks.
 */
function stampOf(db: Database.Database, st: { n: number } | undefined): string {
  return `${st?.n ?? 0}:${generation}:${String(db.pragma('data_version', { simple: true }))}`;
}

const indexCache = new WeakMap<Database.Database, Map<string, VectorIndex>>();
const annCache = new WeakMap<Database.Database, Map<string, { index: SimilarityIndex; stamp: string }>>();

/**
 * From how many vectors of an encoder "more like this" uses the ANN index instead of the exact scan (below
 * it the scan takes a few ms and is exact). MUSILINGO_ANN_MIN_VECTORS overrides it (tests use small sets).
 */
function annMinVectors(): number {
  const env = Number(process.env['MUSILINGO_ANN_MIN_VECTORS']);
  return Number.isInteger(env) && env > 0 ? env : 5000;
}

/**
 * The `limit` tracks that sound most like `trackId` (cosine similarity of pooled embeddings, brute force; see
 * [Note: brute-force similarity] in model/inference/vectors.ts). Uses the newest encoder that has a vector for
 * the track unless `modelId` is given. The matrix is cached per connection and reloaded when vectors change.
 * Throws when the track has no embedding yet.
 */
export function similarTracks(
  db: Database.Database,
  trackId: number,
  opts: { limit?: number; modelId?: string } = {},
): SimilarTrack[] {
  const s = statements(db);
  const modelId = opts.modelId ?? vectorModelsForTrack(db, trackId)[0];
  const own = modelId === undefined ? undefined : s.vector.get(trackId, modelId);
  if (modelId === undefined || !own) {
    throw new NoEmbeddingError(trackId);
  }
  const query = blobToFloat32(own.vector);
  const count = s.stamp.get(modelId)?.n ?? 0;
  if (count >= annMinVectors()) {
    // Large libraries: the ANN index (loaded from beside the database, caught up or rebuilt as needed).
    let perAnn = annCache.get(db);
    if (!perAnn) annCache.set(db, (perAnn = new Map()));
    const key = `${modelId}\u0000${own.dim}`;
    const stamp = stampOf(db, s.stamp.get(modelId));
    let entry = perAnn.get(key);
    if (!entry || (entry.stamp !== stamp && !entry.index.isCurrent())) {
      entry = { index: SimilarityIndex.open(db, modelId, own.dim), stamp };
      perAnn.set(key, entry);
    } else entry.stamp = stamp;
    return entry.index.search(query, opts.limit ?? 10, trackId).map((h) => ({ trackId: h.trackId, score: h.score }));
  }
  let perDb = indexCache.get(db);
  if (!perDb) indexCache.set(db, (perDb = new Map()));
  const key = `${modelId}\u0000${own.dim}`;
  const st = s.stamp.get(modelId);
  let index = perDb.get(key);
  if (!index || index.stamp !== stampOf(db, st)) {
    index = loadVectorIndex(db, modelId, own.dim);
    perDb.set(key, index);
  }
  const selfRow = index.trackIds.indexOf(trackId);
  const hits = topKCosine(index.matrix, index.dim, query, opts.limit ?? 10, new Set(selfRow >= 0 ? [selfRow] : []));
  return hits.map((h) => ({ trackId: index.trackIds[h.index] ?? -1, score: h.score }));
}

/** The track has no stored embedding: it has not been captioned or embedded yet. */
export class NoEmbeddingError extends Error {
  constructor(readonly trackId: number) {
    super(`Track ${trackId} has no audio embedding yet: caption it or run \`musilingo caption --embed\` first.`);
    this.name = 'NoEmbeddingError';
  }
}
