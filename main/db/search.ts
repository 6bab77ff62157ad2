/**
 * @file Full-text search over tags and captions (FTS5, bm25 with column weights) with tag filters. Main
 * process, CLI and tests. User text never reaches FTS5's query language unescaped; see [Note: FTS query text].
 */
import type Database from 'better-sqlite3';

/** A search request. Every filter is optional; `text` may be empty to browse by filters alone. */
export interface SearchQuery {
  readonly text: string;
  /** Exact genre (case-insensitive), matched against every genre of a track. */
  readonly genre?: string;
  /** Part of an artist or album-artist name (case-insensitive). */
  readonly artist?: string;
  readonly yearFrom?: number;
  readonly yearTo?: number;
  /** Only tracks that have at least one caption. */
  readonly captioned?: boolean;
  /** Treat the last word as a prefix (as-you-type search). Default true. */
  readonly prefix?: boolean;
  /** Default 50, at most 1000. */
  readonly limit?: number;
  readonly offset?: number;
}

/** One hit. `score` is bm25 (lower is better; 0 when browsing without text). */
export interface SearchHit {
  readonly id: number;
  readonly path: string;
  readonly title: string | null;
  readonly artist: string | null;
  readonly album: string | null;
  readonly genre: string | null;
  readonly year: number | null;
  readonly durationMs: number | null;
  readonly hasCaption: boolean;
  readonly score: number;
  /** The matching part of the caption, hits wrapped in [ ], or null when the caption did not match. */
  readonly snippet: string | null;
}

/**
 * Column weights for bm25, in tracks_fts column order (title, artist, album, genre, tags, caption): a word in
 * the title says more about a track than the same word somewhere in a long caption.
 */
export const FTS_COLUMN_WEIGHTS = [10, 6, 4, 4, 2, 1] as const;

// [Note: FTS query text]
// FTS5 has its own query language (AND/OR/NOT/NEAR, quotes, column filters `title:`, `*`, `^`, parentheses).
// User text must never be passed through: "rock-n-roll" would be a syntax error (or a column filter), and
// "AND" would be an operator. We split the text the way the unicode61 tokenizer does (runs of letters, digits
// and marks), keep the user's double-quoted phrases and hyphen/apostrophe-joined words together as phrases
// ("lo-fi" → "lo fi", which matches the tokens lo and fi adjacent, like the indexed text), quote every token
// (a quoted token is never an operator), and join them with spaces (implicit AND). The last token gets `*`
// for as-you-type prefix search unless the text ends with a space or a closing quote.

const TOKEN = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * Turns user text into a safe FTS5 MATCH expression, or null when it has no searchable token.
 * Exported for tests and for other features (captions search) that build their own MATCH.
 */
export function toFtsQuery(text: string, opts: { prefix?: boolean } = {}): string | null {
  const prefix = opts.prefix ?? true;
  const phrases: string[][] = [];
  // Split into "quoted phrases" and bare chunks (whitespace-separated).
  const parts = text.match(/"[^"]*"?|[^\s"]+/g) ?? [];
  for (const part of parts) {
    const tokens = part.match(TOKEN);
    if (tokens && tokens.length) phrases.push(tokens);
  }
  if (!phrases.length) return null;
  const endsOpen = prefix && /[\p{L}\p{N}\p{M}]$/u.test(text);
  return phrases
    .map((tokens, i) => {
      const quoted = `"${tokens.join(' ')}"`;
      return endsOpen && i === phrases.length - 1 ? `${quoted}*` : quoted;
    })
    .join(' ');
}

/** Escapes `%`, `_` and `\` for a LIKE pattern with ESCAPE '\'. */
function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

interface HitRow {
  id: number;
  path: string;
  title: string | null;
  artist: string | null;
  album: string | null;
  genre: string | null;
  year: number | null;
  duration_ms: number | null;
  has_caption: number;
  score: number;
  snippet: string | null;
}

interface Bind {
  match: string | null;
  genre: string | null;
  artist: string | null;
  year_from: number | null;
  year_to: number | null;
  captioned: number;
  limit: number;
  offset: number;
}

const FILTERS = `
  t.missing_since IS NULL
  AND (@genre IS NULL OR EXISTS (SELECT 1 FROM json_each(t.genres_json) g WHERE g.value = @genre COLLATE NOCASE)
       OR (t.genres_json IS NULL AND t.genre = @genre COLLATE NOCASE))
  AND (@artist IS NULL OR t.artist LIKE @artist ESCAPE '\\' OR t.album_artist LIKE @artist ESCAPE '\\'
       OR t.artists_json LIKE @artist ESCAPE '\\')
  AND (@year_from IS NULL OR t.year >= @year_from)
  AND (@year_to IS NULL OR t.year <= @year_to)
  AND (@captioned = 0 OR EXISTS (SELECT 1 FROM captions c WHERE c.track_id = t.id))`;

const HIT_COLUMNS = `t.id, t.path, t.title, t.artist, t.album, t.genre, t.year, t.duration_ms,
  EXISTS (SELECT 1 FROM captions c WHERE c.track_id = t.id) AS has_caption`;

/** Prepared search statements. Create one per connection. */
export class SearchRepo {
  readonly #ranked: Database.Statement<[Bind], { id: number; score: number }>;
  readonly #hitById: Database.Statement<[{ id: number; match: string }], Omit<HitRow, 'score'>>;
  readonly #browse: Database.Statement<[Bind], HitRow>;

  constructor(db: Database.Database) {
    const w = FTS_COLUMN_WEIGHTS.join(', ');
    // [Note: Two-step search] Rank first (ids and scores only), then fetch columns and the caption snippet
    // for the page of hits. snippet() re-tokenizes the caption, so computing it for every match before the
    // sort would cost as much as the search itself.
    this.#ranked = db.prepare(`
      SELECT t.id, bm25(tracks_fts, ${w}) AS score
      FROM tracks_fts JOIN tracks t ON t.id = tracks_fts.rowid
      WHERE tracks_fts MATCH @match AND ${FILTERS}
      ORDER BY score, t.id LIMIT @limit OFFSET @offset`);
    this.#hitById = db.prepare(`
      SELECT ${HIT_COLUMNS},
        CASE WHEN instr(snippet(tracks_fts, 5, '[', ']', '…', 16), '[') > 0
             THEN snippet(tracks_fts, 5, '[', ']', '…', 16) END AS snippet
      FROM tracks_fts JOIN tracks t ON t.id = tracks_fts.rowid
      WHERE tracks_fts MATCH @match AND tracks_fts.rowid = CAST(@id AS INTEGER)`);
    // The CAST matters: FTS5 ignores a rowid constraint whose bound value is not an INTEGER (a JS number may be
    // bound as REAL), and the query would silently return the first match instead.
    this.#browse = db.prepare(`
      SELECT ${HIT_COLUMNS}, 0.0 AS score, NULL AS snippet
      FROM tracks t
      WHERE ${FILTERS}
      ORDER BY coalesce(t.album_artist, t.artist) COLLATE NOCASE, t.album COLLATE NOCASE, t.disc_no, t.track_no, t.path
      LIMIT @limit OFFSET @offset`);
  }

  /**
   * Searches present tracks: ranked by bm25 when `text` has a searchable word, else every track that passes
   * the filters, by artist and album. Throws on an invalid year range.
   */
  search(q: SearchQuery): SearchHit[] {
    if (q.yearFrom !== undefined && q.yearTo !== undefined && q.yearFrom > q.yearTo) {
      throw new Error(`Invalid year range ${q.yearFrom}-${q.yearTo}: the first year must not be after the second`);
    }
    const match = toFtsQuery(q.text, q.prefix === undefined ? {} : { prefix: q.prefix });
    const bind: Bind = {
      match,
      genre: q.genre?.trim() || null,
      artist: q.artist?.trim() ? `%${likeEscape(q.artist.trim())}%` : null,
      year_from: q.yearFrom ?? null,
      year_to: q.yearTo ?? null,
      captioned: q.captioned ? 1 : 0,
      limit: Math.max(1, Math.min(q.limit ?? 50, 1000)),
      offset: Math.max(0, q.offset ?? 0),
    };
    if (match === null) return this.#browse.all(bind).map(toHit);
    const ranked = this.#ranked.all(bind);
    const hits: SearchHit[] = [];
    for (const r of ranked) {
      const row = this.#hitById.get({ id: r.id, match });
      if (row) hits.push(toHit({ ...row, score: r.score }));
    }
    return hits;
  }
}

function toHit(r: HitRow): SearchHit {
  return {
    id: r.id,
    path: r.path,
    title: r.title,
    artist: r.artist,
    album: r.album,
    genre: r.genre,
    year: r.year,
    durationMs: r.duration_ms,
    hasCaption: r.has_caption === 1,
    score: r.score,
    snippet: r.snippet,
  };
}
