/**
 * @file Repository for `tracks`: one row per audio file, its identity (fingerprint) and its tags. Main process,
 * CLI and tests. All SQL for the table lives here, prepared once per connection.
 */
import type Database from 'better-sqlite3';
import { naturalSortKey } from './natural-key';

/** Tags and stream properties read from a file. Every field may be unknown (null). */
export interface TrackMeta {
  readonly title: string | null;
  /** Display artist: every artist joined with ", ". */
  readonly artist: string | null;
  readonly artists: readonly string[];
  readonly album: string | null;
  readonly albumArtist: string | null;
  readonly trackNo: number | null;
  readonly trackOf: number | null;
  readonly discNo: number | null;
  readonly discOf: number | null;
  readonly year: number | null;
  /** Display genre: every genre joined with "; ". */
  readonly genre: string | null;
  readonly genres: readonly string[];
  readonly mood: string | null;
  readonly comment: string | null;
  readonly bpm: number | null;
  readonly musicalKey: string | null;
  readonly durationMs: number | null;
  /** True when durationMs is an estimate (MP3 without a frame-count header); see [Note: Durations]. */
  readonly durationEstimated?: boolean;
  readonly sampleRateHz: number | null;
  readonly channels: number | null;
  readonly codec: string | null;
  readonly container: string | null;
  readonly bitrateBps: number | null;
  /** Raw native tags, `{ "ID3v2.4": [{ id, value }] }`, binary values replaced by their size. */
  readonly nativeTags: Record<string, unknown> | null;
}

/** Where a track's bytes are and how to recognise them. */
export interface TrackFile {
  readonly path: string;
  readonly folderId: number | null;
  readonly sizeBytes: number;
  readonly mtimeMs: number;
  /** `<size>:<sha1 of the first and last 64 KiB>`; see [Note: Track identity]. */
  readonly fingerprint: string;
}

/** A stored track. */
export interface Track extends TrackFile, TrackMeta {
  readonly id: number;
  readonly addedAt: number;
  readonly updatedAt: number;
  /** When the file was found gone; null while it exists. */
  readonly missingSince: number | null;
}

/** The columns a rescan needs to decide whether a file changed: cheap to load for a whole folder. */
export interface TrackStat {
  readonly id: number;
  readonly path: string;
  readonly sizeBytes: number;
  readonly mtimeMs: number;
  readonly missingSince: number | null;
}

/** Options for {@link TracksRepo.list}. */
export interface ListTracksOptions {
  readonly folderId?: number;
  /** 'present' (default), 'missing' or 'all'. */
  readonly state?: 'present' | 'missing' | 'all';
  readonly limit?: number;
  readonly offset?: number;
}

interface Row {
  id: number;
  folder_id: number | null;
  path: string;
  size_bytes: number;
  mtime_ms: number;
  fingerprint: string;
  title: string | null;
  artist: string | null;
  artists_json: string | null;
  album: string | null;
  album_artist: string | null;
  track_no: number | null;
  track_of: number | null;
  disc_no: number | null;
  disc_of: number | null;
  year: number | null;
  genre: string | null;
  genres_json: string | null;
  mood: string | null;
  comment: string | null;
  bpm: number | null;
  musical_key: string | null;
  duration_ms: number | null;
  duration_estimated: number;
  sample_rate_hz: number | null;
  channels: number | null;
  codec: string | null;
  container: string | null;
  bitrate_bps: number | null;
  native_tags_json: string | null;
  added_at: number;
  updated_at: number;
  missing_since: number | null;
}

function parseJson<T>(s: string | null, fallback: T): T {
  if (s === null) return fallback;
  try {
    return JSON.parse(s) as T;
  } catch {
    return fallback;
  }
}

/** Maps a `tracks` row (snake_case columns) to a {@link Track}. Exported for other repositories' joins. */
export function trackFromRow(r: Row): Track {
  return {
    id: r.id,
    folderId: r.folder_id,
    path: r.path,
    sizeBytes: r.size_bytes,
    mtimeMs: r.mtime_ms,
    fingerprint: r.fingerprint,
    title: r.title,
    artist: r.artist,
    artists: parseJson<string[]>(r.artists_json, []),
    album: r.album,
    albumArtist: r.album_artist,
    trackNo: r.track_no,
    trackOf: r.track_of,
    discNo: r.disc_no,
    discOf: r.disc_of,
    year: r.year,
    genre: r.genre,
    genres: parseJson<string[]>(r.genres_json, []),
    mood: r.mood,
    comment: r.comment,
    bpm: r.bpm,
    musicalKey: r.musical_key,
    durationMs: r.duration_ms,
    durationEstimated: r.duration_estimated === 1,
    sampleRateHz: r.sample_rate_hz,
    channels: r.channels,
    codec: r.codec,
    container: r.container,
    bitrateBps: r.bitrate_bps,
    nativeTags: parseJson<Record<string, unknown> | null>(r.native_tags_json, null),
    addedAt: r.added_at,
    updatedAt: r.updated_at,
    missingSince: r.missing_since,
  };
}

function intOrNull(n: number | null): number | null {
  return n === null || !Number.isFinite(n) ? null : Math.round(n);
}

/** Named parameters shared by insert and update. */
function params(file: TrackFile, meta: TrackMeta, now: number): Record<string, string | number | null> {
  return {
    path: file.path,
    folder_id: file.folderId,
    size_bytes: file.sizeBytes,
    mtime_ms: Math.trunc(file.mtimeMs),
    fingerprint: file.fingerprint,
    title: meta.title,
    artist: meta.artist,
    artists_json: meta.artists.length ? JSON.stringify(meta.artists) : null,
    album: meta.album,
    album_artist: meta.albumArtist,
    track_no: intOrNull(meta.trackNo),
    track_of: intOrNull(meta.trackOf),
    disc_no: intOrNull(meta.discNo),
    disc_of: intOrNull(meta.discOf),
    year: intOrNull(meta.year),
    genre: meta.genre,
    genres_json: meta.genres.length ? JSON.stringify(meta.genres) : null,
    mood: meta.mood,
    comment: meta.comment,
    bpm: meta.bpm !== null && Number.isFinite(meta.bpm) ? meta.bpm : null,
    musical_key: meta.musicalKey,
    duration_ms: intOrNull(meta.durationMs),
    duration_estimated: meta.durationEstimated === true && meta.durationMs !== null ? 1 : 0,
    sample_rate_hz: intOrNull(meta.sampleRateHz),
    channels: intOrNull(meta.channels),
    codec: meta.codec,
    container: meta.container,
    bitrate_bps: intOrNull(meta.bitrateBps),
    native_tags_json: meta.nativeTags ? JSON.stringify(meta.nativeTags) : null,
    name_key: naturalSortKey(file.path),
    now,
  };
}

const COLUMNS = `path, folder_id, size_bytes, mtime_ms, fingerprint, title, artist, artists_json, album, album_artist,
  track_no, track_of, disc_no, disc_of, year, genre, genres_json, mood, comment, bpm, musical_key, duration_ms,
  duration_estimated, sample_rate_hz, channels, codec, container, bitrate_bps, native_tags_json, name_key`;

type Params = Record<string, string | number | null>;

/**
 * The library's browsing order (tracks_browse, 0054): by artist, album, disc and track; tracks without an
 * artist after the tagged ones, in the natural order of their paths. `t` is the alias of tracks.
 */
export const BROWSE_KEYS_OF = (t: string): string[] => [
  `(coalesce(${t}album_artist, ${t}artist) IS NULL)`,
  `coalesce(${t}album_artist, ${t}artist) COLLATE NOCASE`,
  `${t}album COLLATE NOCASE`,
  `${t}disc_no`,
  `${t}track_no`,
  `${t}name_key`,
];
/** {@link BROWSE_KEYS_OF} as an ORDER BY list. */
export const BROWSE_ORDER_OF = (t: string): string => BROWSE_KEYS_OF(t).join(', ');
const BROWSE_ORDER = BROWSE_ORDER_OF('');

/**
 * Statements over `tracks`, prepared once. Writes are single statements; callers batch them inside
 * `db.transaction` (the scanner writes 200 files per transaction).
 */
export class TracksRepo {
  readonly #insert: Database.Statement<[Params]>;
  readonly #update: Database.Statement<[Params & { id: number }]>;
  readonly #byId: Database.Statement<[number], Row>;
  readonly #byPath: Database.Statement<[string], Row>;
  readonly #statByPath: Database.Statement<[string], TrackStat>;
  readonly #statsOfFolder: Database.Statement<[number], TrackStat>;
  readonly #statsUnder: Database.Statement<[string, string], TrackStat>;
  readonly #missingByFingerprint: Database.Statement<[string], { id: number; path: string }>;
  readonly #presentByFingerprint: Database.Statement<[string, string], { id: number; path: string }>;
  readonly #markMissing: Database.Statement<[number, number]>;
  readonly #clearMissing: Database.Statement<[number, number, number, number]>;
  readonly #purgeBefore: Database.Statement<[number]>;
  readonly #setFolderUnder: Database.Statement<[number, string, string]>;
  readonly #markFolderMissing: Database.Statement<[number, number]>;
  readonly #list: Database.Statement<[{ folder: number | null; state: number; limit: number; offset: number }], Row>;
  readonly #count: Database.Statement<[], { present: number; missing: number }>;
  readonly #foldersOfOrphans: Database.Statement<[], { id: number; path: string }>;

  constructor(db: Database.Database) {
    const values = COLUMNS.split(',').map((c) => `@${c.trim()}`).join(', ');
    this.#insert = db.prepare(
      `INSERT INTO tracks (${COLUMNS}, added_at, updated_at) VALUES (${values}, @now, @now)`,
    );
    const sets = COLUMNS.split(',').map((c) => `${c.trim()} = @${c.trim()}`).join(', ');
    this.#update = db.prepare(`UPDATE tracks SET ${sets}, updated_at = @now, missing_since = NULL WHERE id = @id`);
    this.#byId = db.prepare('SELECT * FROM tracks WHERE id = ?');
    this.#byPath = db.prepare('SELECT * FROM tracks WHERE path = ?');
    const stat = 'id, path, size_bytes AS sizeBytes, mtime_ms AS mtimeMs, missing_since AS missingSince';
    this.#statByPath = db.prepare(`SELECT ${stat} FROM tracks WHERE path = ?`);
    this.#statsOfFolder = db.prepare(`SELECT ${stat} FROM tracks WHERE folder_id = ?`);
    // Range scan on the path index: every path that starts with `prefix + sep` (see pathRange()).
    this.#statsUnder = db.prepare(`SELECT ${stat} FROM tracks WHERE path >= ? AND path < ?`);
    this.#missingByFingerprint = db.prepare(
      'SELECT id, path FROM tracks WHERE fingerprint = ? AND missing_since IS NOT NULL ORDER BY missing_since DESC, id',
    );
    this.#presentByFingerprint = db.prepare(
      'SELECT id, path FROM tracks WHERE fingerprint = ? AND missing_since IS NULL AND path <> ? ORDER BY id',
    );
    this.#markMissing = db.prepare('UPDATE tracks SET missing_since = ? WHERE id = ? AND missing_since IS NULL');
    this.#clearMissing = db.prepare(
      'UPDATE tracks SET missing_since = NULL, folder_id = coalesce(folder_id, ?), size_bytes = ?, mtime_ms = ? WHERE id = ?',
    );
    this.#purgeBefore = db.prepare('DELETE FROM tracks WHERE missing_since IS NOT NULL AND missing_since < ?');
    this.#setFolderUnder = db.prepare('UPDATE tracks SET folder_id = ? WHERE path >= ? AND path < ?');
    this.#markFolderMissing = db.prepare(
      'UPDATE tracks SET missing_since = ? WHERE folder_id = ? AND missing_since IS NULL',
    );
    this.#list = db.prepare(`
      SELECT * FROM tracks
      WHERE (@folder IS NULL OR folder_id = @folder)
        AND CASE @state WHEN 0 THEN missing_since IS NULL WHEN 1 THEN missing_since IS NOT NULL ELSE 1 END
      ORDER BY ${BROWSE_ORDER}
      LIMIT @limit OFFSET @offset`);
    this.#count = db.prepare(`
      SELECT count(*) FILTER (WHERE missing_since IS NULL) AS present,
             count(*) FILTER (WHERE missing_since IS NOT NULL) AS missing FROM tracks`);
    this.#foldersOfOrphans = db.prepare('SELECT id, path FROM tracks WHERE folder_id IS NULL');
  }

  /** Inserts a new track and returns its id. */
  insert(file: TrackFile, meta: TrackMeta, now: number): number {
    // .run(), not RETURNING + .get(): see [Note: RETURNING outside a transaction] in ./write.ts.
    return Number(this.#insert.run(params(file, meta, now)).lastInsertRowid);
  }

  /**
   * Rewrites a track's file and tags, keeping its id (a changed or moved file), and clears `missing_since`.
   */
  update(id: number, file: TrackFile, meta: TrackMeta, now: number): void {
    this.#update.run({ ...params(file, meta, now), id });
  }

  /** The track with this id, or undefined. */
  getById(id: number): Track | undefined {
    const r = this.#byId.get(id);
    return r && trackFromRow(r);
  }

  /** The track stored at exactly this path, or undefined. */
  getByPath(path: string): Track | undefined {
    const r = this.#byPath.get(path);
    return r && trackFromRow(r);
  }

  /** Size, mtime and state of the track at `path`. */
  statByPath(path: string): TrackStat | undefined {
    return this.#statByPath.get(path);
  }

  /** Size, mtime and state of every track of a folder: what an unchanged-library rescan compares against. */
  statsOfFolder(folderId: number): TrackStat[] {
    return this.#statsOfFolder.all(folderId);
  }

  /** Size, mtime and state of every track whose path lies inside directory `dir`. */
  statsUnder(dir: string, sep: string): TrackStat[] {
    const [lo, hi] = pathRange(dir, sep);
    return this.#statsUnder.all(lo, hi);
  }

  /** Missing tracks with this fingerprint, most recently vanished first: candidates for a move. */
  missingByFingerprint(fingerprint: string): { id: number; path: string }[] {
    return this.#missingByFingerprint.all(fingerprint);
  }

  /** Present tracks with this fingerprint at another path than `exceptPath`: copies, or moves not yet noticed. */
  presentByFingerprint(fingerprint: string, exceptPath: string): { id: number; path: string }[] {
    return this.#presentByFingerprint.all(fingerprint, exceptPath);
  }

  /** Marks a track missing (keeps an earlier `missing_since`). */
  markMissing(id: number, now: number): void {
    this.#markMissing.run(now, id);
  }

  /** Marks every present track of a folder missing (the folder was removed from the library). */
  markFolderMissing(folderId: number, now: number): number {
    return this.#markFolderMissing.run(now, folderId).changes;
  }

  /** The file is back at the same path with the same size and mtime: clear `missing_since`. */
  clearMissing(id: number, folderId: number, sizeBytes: number, mtimeMs: number): void {
    this.#clearMissing.run(folderId, sizeBytes, Math.trunc(mtimeMs), id);
  }

  /** Deletes tracks missing since before `before` (and, by cascade, their captions and windows). */
  purgeMissingBefore(before: number): number {
    return this.#purgeBefore.run(before).changes;
  }

  /** Re-parents every track under `dir` to `folderId` (a parent folder was added). */
  setFolderUnder(folderId: number, dir: string, sep: string): void {
    const [lo, hi] = pathRange(dir, sep);
    this.#setFolderUnder.run(folderId, lo, hi);
  }

  /** Tracks that belong to no folder (their folder was removed). */
  orphans(): { id: number; path: string }[] {
    return this.#foldersOfOrphans.all();
  }

  /** Tracks ordered by album artist, album, disc and track number. */
  list(opts: ListTracksOptions = {}): Track[] {
    const state = opts.state === 'missing' ? 1 : opts.state === 'all' ? 2 : 0;
    return this.#list
      .all({ folder: opts.folderId ?? null, state, limit: opts.limit ?? 100, offset: opts.offset ?? 0 })
      .map(trackFromRow);
  }

  /** How many tracks are present and how many missing. */
  count(): { present: number; missing: number } {
    return this.#count.get() ?? { present: 0, missing: 0 };
  }
}

/**
 * The half-open string range [dir + sep, dir + next(sep)) holding every path inside `dir`; it lets SQLite use
 * the path index instead of LIKE (which cannot, with case-sensitive paths).
 */
export function pathRange(dir: string, sep: string): [string, string] {
  const base = dir.endsWith(sep) ? dir.slice(0, -1) : dir;
  return [base + sep, base + String.fromCharCode(sep.charCodeAt(0) + 1)];
}
