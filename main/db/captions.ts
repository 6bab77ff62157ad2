/**
 * @file Repository for captions (per track, window, model and adapter). Main process and CLI (the single writer).
 * Full-text search sees a caption as soon as it is stored: 0010's captions_fts_* triggers copy every caption of
 * the track into tracks_fts.caption inside the same statement.
 */
import type Database from 'better-sqlite3';
import { statementsPerConnection } from './statements';
import { returningRow } from './write';

/** A stored caption. `source` 'user' is an edit (training data); 'model' came from a model run. */
export interface Caption {
  readonly id: number;
  readonly trackId: number;
  readonly startMs: number;
  readonly lengthMs: number;
  readonly modelId: string;
  /** '' = the pack's own adapter. */
  readonly adapterId: string;
  readonly source: 'model' | 'user';
  readonly text: string;
  readonly createdAt: number;
}

/** What a model run produced for one window. */
export interface NewCaption {
  readonly trackId: number;
  readonly startMs: number;
  readonly lengthMs: number;
  readonly modelId: string;
  readonly adapterId: string;
  readonly text: string;
}

/** What the caption and ask jobs need to know about a track. */
export interface TrackForAnalysis {
  readonly id: number;
  readonly path: string;
  readonly durationMs: number | null;
  readonly title: string | null;
  readonly artist: string | null;
  readonly missingSince: number | null;
}

interface CaptionRow {
  id: number;
  track_id: number;
  start_ms: number;
  length_ms: number;
  model_id: string;
  adapter_id: string;
  source: 'model' | 'user';
  text: string;
  created_at: number;
}

function toCaption(r: CaptionRow): Caption {
  return {
    id: r.id,
    trackId: r.track_id,
    startMs: r.start_ms,
    lengthMs: r.length_ms,
    modelId: r.model_id,
    adapterId: r.adapter_id,
    source: r.source,
    text: r.text,
    createdAt: r.created_at,
  };
}


function prepare(db: Database.Database) {
  return {
    upsert: db.prepare(
      `INSERT INTO captions (track_id, start_ms, length_ms, model_id, adapter_id, source, text, created_at)
       VALUES (@trackId, @startMs, @lengthMs, @modelId, @adapterId, @source, @text, @now)
       ON CONFLICT (track_id, start_ms, length_ms, model_id, adapter_id, source)
       DO UPDATE SET text = excluded.text, created_at = excluded.created_at
       RETURNING id`,
    ),
    forTrack: db.prepare<[number], CaptionRow>(
      `SELECT * FROM captions WHERE track_id = ?
       ORDER BY (source = 'user') DESC, created_at DESC, id DESC`,
    ),
    count: db.prepare<[string, string], { n: number; tracks: number }>(
      `SELECT count(*) AS n, count(DISTINCT track_id) AS tracks FROM captions
       WHERE model_id = ? AND adapter_id = ? AND source = 'model'`,
    ),
    track: db.prepare<[number], { id: number; path: string; duration_ms: number | null; title: string | null; artist: string | null; missing_since: number | null }>(
      'SELECT id, path, duration_ms, title, artist, missing_since FROM tracks WHERE id = ?',
    ),
    trackByPath: db.prepare<[string], { id: number }>('SELECT id FROM tracks WHERE path = ?'),
    uncaptioned: db.prepare<[string, string], { id: number }>(
      `SELECT t.id FROM tracks t WHERE t.missing_since IS NULL AND NOT EXISTS (
         SELECT 1 FROM captions c WHERE c.track_id = t.id AND c.model_id = ? AND c.adapter_id = ? AND c.source = 'model')
       ORDER BY t.id`,
    ),
  };
}

const statements = statementsPerConnection(prepare);

function storedId(db: Database.Database, row: { id: number } | undefined): number {
  if (!row) throw new Error(`The caption was not stored in ${db.name}.`);
  return row.id;
}

/**
 * Stores a model caption, replacing an earlier one for the same track, window, model and adapter (the UNIQUE
 * constraint makes a re-run an update, never a duplicate). Returns the caption's id. Call it inside the
 * transaction that completes the job.
 */
export function upsertModelCaption(db: Database.Database, c: NewCaption, now: number = Date.now()): number {
  return storedId(db, returningRow<{ id: number }>(db, statements(db).upsert, { ...c, source: 'model', now }));
}

/** Stores the user's own caption for a window (an edit); it ranks first and becomes training data. */
export function upsertUserCaption(db: Database.Database, c: NewCaption, now: number = Date.now()): number {
  return storedId(db, returningRow<{ id: number }>(db, statements(db).upsert, { ...c, source: 'user', now }));
}

/**
 * The user's own words for one window of a track (the app's caption editor and `musilingo caption --edit`).
 * The edit keeps the model and adapter of the caption it replaces, so re-captioning with a newer adapter
 * (`caption --stale`) knows the window was edited and leaves it alone. Returns the stored caption.
 */
export function editCaption(db: Database.Database, edit: { trackId: number; startMs: number; lengthMs: number; text: string }): Caption {
  const existing = captionsForTrack(db, edit.trackId).find((c) => c.startMs === edit.startMs && c.lengthMs === edit.lengthMs);
  const id = upsertUserCaption(db, {
    trackId: edit.trackId, startMs: edit.startMs, lengthMs: edit.lengthMs,
    modelId: existing?.modelId ?? 'user', adapterId: existing?.adapterId ?? '', text: edit.text,
  });
  const saved = captionsForTrack(db, edit.trackId).find((c) => c.id === id);
  if (!saved) throw new Error(`The edited caption of track ${edit.trackId} was not stored.`);
  return saved;
}

/** Every caption of a track: the user's edits first, then newest first. */
export function captionsForTrack(db: Database.Database, trackId: number): Caption[] {
  return statements(db).forTrack.all(trackId).map(toCaption);
}

/** How many model captions exist for a model and adapter, and over how many tracks. */
export function countCaptions(db: Database.Database, modelId: string, adapterId = ''): { captions: number; tracks: number } {
  const r = statements(db).count.get(modelId, adapterId);
  return { captions: r?.n ?? 0, tracks: r?.tracks ?? 0 };
}

/** Ids of present tracks (not missing) without a model caption from this model and adapter. */
export function uncaptionedTrackIds(db: Database.Database, modelId: string, adapterId = ''): number[] {
  return statements(db).uncaptioned.all(modelId, adapterId).map((r) => r.id);
}

/** The track fields the analysis jobs need, or undefined when no such track exists. */
export function trackForAnalysis(db: Database.Database, trackId: number): TrackForAnalysis | undefined {
  const r = statements(db).track.get(trackId);
  return r && {
    id: r.id,
    path: r.path,
    durationMs: r.duration_ms,
    title: r.title,
    artist: r.artist,
    missingSince: r.missing_since,
  };
}

/** Resolves a CLI track reference: a numeric id, or a file path as stored. */
export function findTrackId(db: Database.Database, ref: string): number | undefined {
  if (/^\d+$/.test(ref)) return statements(db).track.get(Number(ref))?.id;
  return statements(db).trackByPath.get(ref)?.id;
}
