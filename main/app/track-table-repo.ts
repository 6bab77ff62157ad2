/**
 * @file Read model of the library table (main process, E2E bridge): one sorted, filtered window of tracks with
 * its total count, each row's newest caption and caption-job state. A repository (all SQL here, statements
 * prepared once per connection); the IPC handlers only call it.
 */
import type Database from 'better-sqlite3';
import type { CaptionState, TrackPage, TrackQuery, TrackRow, TrackSortKey } from '../../preload/contract';
import { FTS_COLUMN_WEIGHTS, toFtsQuery } from '../db/search';
import { DEEP_OFFSET, TrackOrderCache } from './track-order-cache';

// [Note: The table's own read model]
// The search repository (main/db/search.ts) answers "best hits for these words". The table needs more: an
// exact total for the scrollbar, any sort order the user clicks, a window at any offset, and the caption text
// and state per row. Two steps, as in search.ts: first the window's ids (ORDER BY … LIMIT/OFFSET over the
// partial NOCASE indexes of 0051, so no sort of the whole table: the rowid that ends every index is the tie-break),
// then the columns and the newest caption for just those ids. Unknown values (NULL) sort as SQLite sorts
// them — first when ascending, last when descending — because forcing them last in both directions would
// defeat the indexes (bench/library-table.ts measures the difference). With search text, rows are first
// narrowed by FTS5 and sorted by bm25 ('relevance') or a column. The caption state of a page is looked up for
// just that page's ids through the pending-jobs dedupe index ('caption:<track>:…', see 0040).

// [Note: Untagged rows and album order] Title, artist and album sorts put rows without that tag after the
// tagged ones and order them by the natural order of their paths (name_key, 0054), and album order is album,
// disc, track: each list matches a partial index of 0054, so the note above still holds for them.
const ORDER: Record<TrackSortKey, readonly string[]> = {
  relevance: ['(t.title IS NULL)', 't.title COLLATE NOCASE', 't.name_key'],
  title: ['(t.title IS NULL)', 't.title COLLATE NOCASE', 't.name_key'],
  artist: ['(t.artist IS NULL)', 't.artist COLLATE NOCASE', 't.album COLLATE NOCASE', 't.disc_no', 't.track_no', 't.name_key'],
  album: ['(t.album IS NULL)', 't.album COLLATE NOCASE', 't.disc_no', 't.track_no', 't.name_key'],
  genre: ['t.genre COLLATE NOCASE'],
  year: ['t.year'],
  durationMs: ['t.duration_ms'],
  addedAt: ['t.added_at'],
};

// [Note: Table filters at 1,000,000 tracks] The genre filter reads track_genres (0120: each track's genres,
// indexed by genre) instead of parsing every track's genres_json; when a genre is chosen the query is driven
// from that index (FROM_GENRE), so counting or paging one genre reads that genre's tracks, not the library.
// The unfiltered total is the trigger-kept count of 0120, not a count(*) walk of the table.
const GENRE = `(@genre IS NULL OR t.id IN (SELECT tg.track_id FROM track_genres tg WHERE tg.genre = @genre))`;
const CAPTIONED = `(@captioned IS NULL OR EXISTS (SELECT 1 FROM captions c WHERE c.track_id = t.id) = @captioned)`;
const FILTERS = `t.missing_since IS NULL AND ${GENRE} AND ${CAPTIONED}`;
const FROM_GENRE = `track_genres tg JOIN tracks t ON t.id = tg.track_id WHERE tg.genre = @genre AND t.missing_since IS NULL AND ${CAPTIONED}`;

const COLUMNS = `t.id, t.title, t.artist, t.album, t.genre, t.year, t.duration_ms AS durationMs, t.duration_estimated AS durationEstimated, t.path,
  t.track_no AS trackNo, t.disc_no AS discNo,
  coalesce((SELECT c.text FROM captions c WHERE c.track_id = t.id
            ORDER BY (c.source = 'user') DESC, c.created_at DESC, c.id DESC LIMIT 1), '') AS caption`;

interface Bind {
  match: string | null;
  genre: string | null;
  captioned: number | null;
  limit: number;
  offset: number;
}

interface RawRow {
  id: number;
  title: string | null;
  artist: string | null;
  album: string | null;
  genre: string | null;
  year: number | null;
  durationMs: number | null;
  durationEstimated: number;
  path: string;
  trackNo: number | null;
  discNo: number | null;
  caption: string;
}

function basename(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** Prepared statements for the library table. Create one per connection. */
export class TrackTableRepo {
  readonly #count: Database.Statement<[Bind], { n: number }>;
  readonly #countMatch: Database.Statement<[Bind], { n: number }>;
  readonly #countGenre: Database.Statement<[Bind], { n: number }>;
  readonly #pages = new Map<string, Database.Statement<[Bind], { id: number }>>();
  readonly #pendingCaption: Database.Statement<[string, string], { state: string }>;
  readonly #genres: Database.Statement<[], { genre: string }>;
  readonly #byIds: Database.Statement<[string], RawRow>;
  readonly #countAll: Database.Statement<[], { n: number }>;
  readonly #tracksVersion: Database.Statement<[], { n: number }>;
  readonly #orders = new TrackOrderCache();
  readonly #db: Database.Database;

  readonly #useOrderCache: boolean;

  /** `deepOrderCache: false` pages every window with its OFFSET query (bench/library-table.ts compares). */
  constructor(db: Database.Database, opts: { deepOrderCache?: boolean } = {}) {
    this.#db = db;
    this.#useOrderCache = opts.deepOrderCache ?? true;
    this.#count = db.prepare(`SELECT count(*) AS n FROM tracks t WHERE ${FILTERS} AND @match IS NULL`);
    this.#countGenre = db.prepare(`SELECT count(*) AS n FROM ${FROM_GENRE} AND @match IS NULL`);
    this.#countMatch = db.prepare(
      `SELECT count(*) AS n FROM tracks_fts JOIN tracks t ON t.id = tracks_fts.rowid WHERE tracks_fts MATCH @match AND ${FILTERS}`,
    );
    this.#pendingCaption = db.prepare(
      `SELECT state FROM jobs WHERE dedupe_key >= ? AND dedupe_key < ? AND dedupe_key IS NOT NULL
         AND state IN ('queued', 'running', 'paused') ORDER BY state = 'running' DESC LIMIT 1`,
    );
    this.#byIds = db.prepare(`SELECT ${COLUMNS} FROM tracks t WHERE t.id IN (SELECT value FROM json_each(?))`);
    // Unfiltered total without scanning the table: the count kept by 0120's triggers.
    this.#countAll = db.prepare("SELECT n FROM library_counts WHERE what = 'present'");
    this.#tracksVersion = db.prepare("SELECT n FROM library_counts WHERE what = 'tracks-version'");
    // The genre menu: each distinct genre of track_genres (NOCASE: one entry per spelling group), found by
    // jumping from one genre to the next in its index rather than reading every track's genres, kept when a
    // present track lists it.
    this.#genres = db.prepare(`
      WITH RECURSIVE g(genre) AS (
        SELECT (SELECT genre FROM track_genres ORDER BY genre LIMIT 1)
        UNION ALL
        SELECT (SELECT genre FROM track_genres WHERE genre > g.genre ORDER BY genre LIMIT 1) FROM g WHERE g.genre IS NOT NULL)
      SELECT genre FROM g WHERE genre IS NOT NULL AND EXISTS (
        SELECT 1 FROM track_genres tg JOIN tracks t ON t.id = tg.track_id
        WHERE tg.genre = g.genre AND tg.listed = 1 AND t.missing_since IS NULL)
      ORDER BY genre COLLATE NOCASE LIMIT 1000`);
  }

  /** The ids of a window (`whole`: of every row, for the deep-scroll order cache) in the table's order. */
  #idsStatement(sort: TrackSortKey, direction: 'asc' | 'desc', hasMatch: boolean, hasGenre: boolean, whole = false): Database.Statement<[Bind], { id: number }> {
    const key = `${sort}:${direction}:${hasMatch}:${hasGenre}:${whole}`;
    let stmt = this.#pages.get(key);
    if (!stmt) {
      const dir = direction === 'asc' ? 'ASC' : 'DESC';
      const order =
        hasMatch && sort === 'relevance'
          ? `bm25(tracks_fts, ${FTS_COLUMN_WEIGHTS.join(', ')}) ${dir}, t.id`
          : `${ORDER[sort].map((e) => `${e} ${dir}`).join(', ')}, t.id ${dir}`;
      const from = hasMatch
        ? `tracks_fts JOIN tracks t ON t.id = tracks_fts.rowid WHERE tracks_fts MATCH @match AND ${FILTERS}`
        : hasGenre
          ? `${FROM_GENRE} AND @match IS NULL`
          : `tracks t WHERE ${FILTERS} AND @match IS NULL`;
      stmt = this.#db.prepare(`SELECT t.id FROM ${from} ORDER BY ${order}${whole ? '' : ' LIMIT @limit OFFSET @offset'}`);
      this.#pages.set(key, stmt);
    }
    return stmt;
  }

  /**
   * The caption state of one track: a pending caption job wins, else whether a caption is stored. (Failed jobs
   * are listed on the Jobs page; finding the last one per row would need a scan of the whole jobs table.)
   */
  captionState(trackId: number, hasCaption: boolean): CaptionState {
    const pending = this.#pendingCaption.get(`caption:${trackId}:`, `caption:${trackId};`);
    if (pending) return pending.state === 'running' ? 'running' : 'queued';
    return hasCaption ? 'done' : 'none';
  }

  /** One window of the table for `q`, with the total number of matching tracks. */
  page(q: TrackQuery): TrackPage {
    const bind = this.#bind(q);
    if (!bind) return { total: 0, offset: q.offset, rows: [] };
    const { match } = bind;
    const order = this.#cachedOrder(q, bind);
    const isUnfiltered = match === null && bind.genre === null && bind.captioned === null;
    const total = isUnfiltered
      ? (this.#countAll.get()?.n ?? 0)
      : order
        ? order.length // a genre's order is its every row: no count of the genre again
        : ((match !== null ? this.#countMatch.get(bind) : bind.genre !== null ? this.#countGenre.get(bind) : this.#count.get(bind))?.n ?? 0);
    return { total, offset: q.offset, rows: this.rowsByIds(this.#windowIds(q, bind, order)) };
  }

  /** The ids of the window `q` asks for, in table order (multi-select ranges, Select all). */
  ids(q: TrackQuery): number[] {
    const bind = this.#bind(q);
    return bind ? this.#windowIds(q, bind) : [];
  }

  /** The statement parameters of `q`; null when its text has no searchable word (nothing can match). */
  #bind(q: TrackQuery): Bind | null {
    const match = q.text.trim() ? toFtsQuery(q.text) : null;
    if (q.text.trim() && match === null) return null;
    return {
      match,
      genre: q.genre.trim() || null,
      captioned: q.captioned === null ? null : q.captioned ? 1 : 0,
      limit: q.limit,
      offset: q.offset,
    };
  }

  /**
   * The cached row order for `q` ([Note: Deep pages at 1,000,000 tracks]), or null when it queries instead:
   * deep pages of the plain listing, and every page of a genre (whose total, a count of the genre's rows,
   * costs as much as reading its order once). Search results and the caption filter (which captions change)
   * always query.
   */
  #cachedOrder(q: TrackQuery, bind: Bind): Int32Array | null {
    if (!this.#useOrderCache || bind.match !== null || bind.captioned !== null) return null;
    const hasGenre = bind.genre !== null;
    if (!hasGenre && bind.offset < DEEP_OFFSET) return null;
    const version = this.#tracksVersion.get()?.n ?? 0;
    return this.#orders.order(`${q.sort}:${q.direction}:${bind.genre ?? ''}`, version, () =>
      Int32Array.from(this.#idsStatement(q.sort, q.direction, false, hasGenre, true).pluck().all(bind) as unknown as number[]),
    );
  }

  #windowIds(q: TrackQuery, bind: Bind, order = this.#cachedOrder(q, bind)): number[] {
    if (order) return Array.from(order.subarray(bind.offset, bind.offset + bind.limit));
    return this.#idsStatement(q.sort, q.direction, bind.match !== null, bind.genre !== null).all(bind).map((r) => r.id);
  }

  /** Rows for the given ids, in that order; ids not in the library are skipped. */
  rowsByIds(ids: readonly number[]): TrackRow[] {
    if (ids.length === 0) return [];
    const byId = new Map(this.#byIds.all(JSON.stringify(ids)).map((r) => [r.id, r]));
    return ids.flatMap((id) => {
      const r = byId.get(id);
      return r ? [toTrackRow(r, this.captionState(r.id, r.caption !== ''))] : [];
    });
  }

  /** Every genre in the library (each of a track's genres), for the filter menu. */
  genres(): string[] {
    return this.#genres.all().map((r) => r.genre);
  }
}

/** Maps a raw row to the contract's shape: unknown tags become '' and a missing title becomes the file name. */
function toTrackRow(r: RawRow, captionState: CaptionState): TrackRow {
  return {
    id: r.id,
    title: r.title ?? basename(r.path),
    artist: r.artist ?? '',
    album: r.album ?? '',
    genre: r.genre ?? '',
    year: r.year,
    durationMs: r.durationMs,
    durationEstimated: r.durationEstimated === 1,
    path: r.path,
    trackNo: r.trackNo,
    discNo: r.discNo,
    caption: r.caption,
    captionState,
  };
}
