/**
 * @file Reference for the search tests and bench: search as it ranked before main/db/bm25.ts, with FTS5's bm25()
 * in SQL (whose IDF pass walks every row holding a query phrase, so its cost grows with the library). Kept
 * verbatim otherwise, as the anchor the new ranking is compared with (same top hits, time per query).
 */
import type Database from 'better-sqlite3';
import type { SearchHit, SearchQuery } from '../../main/db/search';

/**
 * Column weights for bm25, in tracks_fts column order (title, artist, album, genre, tags, caption): a word in
 * the title says more about a track than the same word somewhere in a long caption.
 */
const FTS_COLUMN_WEIGHTS = [10, 6, 4, 4, 2, 1] as const;

// [Note: FTS query text]
// FTS5 has its own query language (AND/OR/NOT/NEAR, quotes, column filters `title:`, `*`, `^`, parentheses).
// User text must never be passed through: "rock-n-roll" would be a syntax error (or a column filter), and
// "AND" would be an operator. We split the text the way the unicode61 tokenizer does (runs of letters, digits
// and marks), keep the user's double-quoted phrases and hyphen/apostrophe-joined words together as phrases
// ("lo-fi" → "lo fi", which matches the tokens lo and fi adjacent, like the indexed text), quote every token
// (a quoted token is never an operator), and join them with spaces (implicit AND). The last token gets `*`
// for as-you-type prefix search unless the text ends with a space or a closing quote; a last word of one
// character is left out until a second is typed (as a prefix it would match almost every track).

const TOKEN = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * Turns user text into a safe FTS5 MATCH expression, or null when it has no searchable token.
 * Exported for tests and for other features (captions search) that build their own MATCH.
 */
function toFtsQuery(text: string, opts: { prefix?: boolean } = {}): string | null {
  const prefix = opts.prefix ?? true;
  const phrases: string[][] = [];
  // Split into "quoted phrases" and bare chunks (whitespace-separated).
  const parts = text.match(/"[^"]*"?|[^\s"]+/g) ?? [];
  for (const part of parts) {
    const tokens = part.match(TOKEN);
    if (tokens && tokens.length) phrases.push(tokens);
  }
  let endsOpen = prefix && /[\p{L}\p{N}\p{M}]$/u.test(text);
  // A single typed character as a prefix matches nearly everything and tells us nothing: wait for the second.
  // The words before it are complete, so none of them becomes a prefix.
  const last = phrases.at(-1);
  if (endsOpen && last && last.length === 1 && [...last[0]!].length === 1) {
    phrases.pop();
    endsOpen = false;
  }
  if (!phrases.length) return null;
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

/** Options of {@link SearchRepo}. */
export interface SearchRepoOptions {
  /** Most matches ranked by bm25 when a query matches more; see [Note: Bounded ranking]. Default 500. */
  readonly rankWindow?: number;
}

// [Note: Bounded ranking]
// bm25 has to be computed for every matching row before the best 50 are known, at roughly a microsecond per
// row. A selective query ("sad piano ballad") matches a few hundred tracks and is ranked exactly. An
// unselective one ("drums", "gui…" while typing) can match half of a 100,000-track library, and ranking all of
// it would take tens of milliseconds per keystroke. So when a query matches more than `rankWindow` tracks:
// 1. Tracks whose tags (title, artist, album, genre, other tags) match are ranked first, as bm25 with the
//    same column weights would almost always put them first anyway; this pass is bounded the same way.
// 2. Then the newest `rankWindow` matching tracks (highest rowids: a cheap rowid-descending doclist walk finds
//    the cut-off) are ranked by bm25 over all columns.
// Results are then "the best of the strongest and the most recent matches", which for a query that matches
// tens of thousands of tracks is as useful as an exact order, and a keystroke stays within a few milliseconds.

const TAG_COLUMNS = '{title artist album genre tags}';

/** Prepared search statements. Create one per connection. */
export class Fts5SearchRepo {
  readonly #cutoff: Database.Statement<[Bind & { window: number }], { id: number }>;
  readonly #cutoffUnfiltered: Database.Statement<[{ match: string; window: number }], { id: number }>;
  readonly #ranked: Database.Statement<[Bind & { cut: number }], { id: number; score: number }>;
  readonly #snippets: Database.Statement<[{ match: string; ids: string; lo: number; hi: number }], { id: number; snippet: string | null }>;
  readonly #hitsByIds: Database.Statement<[{ ids: string }], Omit<HitRow, 'score' | 'snippet'>>;
  readonly #browse: Database.Statement<[Bind], HitRow>;
  readonly #browseMatching: Database.Statement<[Bind], HitRow>;
  readonly #window: number;

  constructor(db: Database.Database, opts: SearchRepoOptions = {}) {
    this.#window = Math.max(1, opts.rankWindow ?? 500);
    const w = FTS_COLUMN_WEIGHTS.join(', ');
    // The rowid of the window-th newest match (that passes the filters), or nothing when there are fewer.
    this.#cutoff = db.prepare(`
      SELECT t.id FROM tracks_fts JOIN tracks t ON t.id = tracks_fts.rowid
      WHERE tracks_fts MATCH @match AND ${FILTERS}
      ORDER BY tracks_fts.rowid DESC LIMIT 1 OFFSET @window - 1`);
    // Without filters the cut-off needs no join: a doclist walk from the newest rowid.
    this.#cutoffUnfiltered = db.prepare(`
      SELECT rowid AS id FROM tracks_fts WHERE tracks_fts MATCH @match ORDER BY rowid DESC LIMIT 1 OFFSET @window - 1`);
    // [Note: Two-step search] Rank first (ids and scores only), then fetch the page's columns and caption
    // snippets in one pass each. snippet() re-tokenizes a caption, too costly for every match; and a
    // `MATCH … AND rowid = ?` lookup per hit would walk the query's doclists from the start every time.
    // CAST: FTS5 ignores a rowid constraint whose bound value is not an INTEGER (a JS number may be bound as
    // REAL) and would silently return other rows.
    this.#ranked = db.prepare(`
      SELECT t.id, bm25(tracks_fts, ${w}) AS score
      FROM tracks_fts JOIN tracks t ON t.id = tracks_fts.rowid
      WHERE tracks_fts MATCH @match AND tracks_fts.rowid >= CAST(@cut AS INTEGER) AND ${FILTERS}
      ORDER BY score, t.id LIMIT @limit OFFSET @offset`);
    this.#snippets = db.prepare(`
      SELECT rowid AS id,
        CASE WHEN instr(snippet(tracks_fts, 5, '[', ']', '…', 16), '[') > 0
             THEN snippet(tracks_fts, 5, '[', ']', '…', 16) END AS snippet
      FROM tracks_fts
      WHERE tracks_fts MATCH @match AND rowid BETWEEN CAST(@lo AS INTEGER) AND CAST(@hi AS INTEGER)
        AND +rowid IN (SELECT value FROM json_each(@ids)) -- unary +: a filter, not one lookup per id
    `);
    this.#hitsByIds = db.prepare(`SELECT ${HIT_COLUMNS} FROM tracks t WHERE t.id IN (SELECT value FROM json_each(@ids))`);
    this.#browseMatching = db.prepare(`
      SELECT ${HIT_COLUMNS}, 0.0 AS score, NULL AS snippet
      FROM tracks t
      WHERE t.id IN (SELECT rowid FROM tracks_fts WHERE tracks_fts MATCH @match) AND ${FILTERS}
      ORDER BY coalesce(t.album_artist, t.artist) COLLATE NOCASE, t.album COLLATE NOCASE, t.disc_no, t.track_no, t.path
      LIMIT @limit OFFSET @offset`);
    this.#browse = db.prepare(`
      SELECT ${HIT_COLUMNS}, 0.0 AS score, NULL AS snippet
      FROM tracks t
      WHERE ${FILTERS}
      ORDER BY coalesce(t.album_artist, t.artist) COLLATE NOCASE, t.album COLLATE NOCASE, t.disc_no, t.track_no, t.path
      LIMIT @limit OFFSET @offset`);
  }

  /**
   * Searches present tracks: ranked by bm25 when `text` has a searchable word (see [Note: Bounded ranking]),
   * else every track that passes the filters, by artist and album. Throws on an invalid year range.
   */
  search(q: SearchQuery): SearchHit[] {
    if (q.yearFrom !== undefined && q.yearTo !== undefined && q.yearFrom > q.yearTo) {
      throw new Error(`Invalid year range ${q.yearFrom}-${q.yearTo}: the first year must not be after the second`);
    }
    const textMatch = toFtsQuery(q.text, q.prefix === undefined ? {} : { prefix: q.prefix });
    // [Note: Filters through the index] Genre and artist filters are also added to the MATCH as column
    // filters, so FTS5 intersects doclists instead of the filter being tested on every text match (a genre
    // held by 1 track in 12 would otherwise make a query walk 12 times the rows). The SQL filters below still
    // apply, so the semantics stay exact: the genre equals one of the track's genres; the artist filter's
    // words match words (the last as a prefix) of an artist or album artist and the text is a substring.
    const genreMatch = q.genre?.trim() ? toFtsQuery(q.genre, { prefix: false }) : null;
    const artistMatch = q.artist?.trim() ? toFtsQuery(q.artist, { prefix: true }) : null;
    const filterMatch = [genreMatch && `genre : (${genreMatch})`, artistMatch && `{artist tags} : (${artistMatch})`].filter(
      (x): x is string => !!x,
    );
    const match = textMatch === null ? null : [`(${textMatch})`, ...filterMatch].join(' AND ');
    const limit = Math.max(1, Math.min(q.limit ?? 50, 1000));
    const offset = Math.max(0, q.offset ?? 0);
    const bind: Bind = {
      match,
      genre: q.genre?.trim() || null,
      artist: q.artist?.trim() ? `%${likeEscape(q.artist.trim())}%` : null,
      year_from: q.yearFrom ?? null,
      year_to: q.yearTo ?? null,
      captioned: q.captioned ? 1 : 0,
      limit,
      offset,
    };
    if (match === null) {
      return (filterMatch.length ? this.#browseMatching.all({ ...bind, match: filterMatch.join(' AND ') }) : this.#browse.all(bind)).map(toHit);
    }
    const ranked = this.#rank(bind, match, [`${TAG_COLUMNS} : (${textMatch})`, ...filterMatch].join(' AND '));
    if (!ranked.length) return [];
    const ids = JSON.stringify(ranked.map((r) => r.id));
    const rows = new Map(this.#hitsByIds.all({ ids }).map((r) => [r.id, r]));
    const lo = Math.min(...ranked.map((r) => r.id));
    const hi = Math.max(...ranked.map((r) => r.id));
    const snippets = new Map(this.#snippets.all({ match, ids, lo, hi }).map((r) => [r.id, r.snippet]));
    return ranked.flatMap((r) => {
      const row = rows.get(r.id);
      return row ? [toHit({ ...row, score: r.score, snippet: snippets.get(r.id) ?? null })] : [];
    });
  }

  #rank(bind: Bind, match: string, tagMatch: string): { id: number; score: number }[] {
    // Pages within the window come from one ranking (no repeats while scrolling); deeper pages widen it.
    const window = Math.max(this.#window, bind.offset + bind.limit);
    const filtered = bind.genre !== null || bind.artist !== null || bind.year_from !== null || bind.year_to !== null || bind.captioned === 1;
    const cutoff = (m: string): { id: number } | undefined =>
      filtered ? this.#cutoff.get({ ...bind, match: m, window }) : this.#cutoffUnfiltered.get({ match: m, window });
    const cut = cutoff(match);
    if (!cut) return this.#ranked.all({ ...bind, cut: 0 }); // few matches: exact ranking
    // Bounded mode: tag matches first, then the newest window of all matches. Both passes fetch enough rows
    // for the requested page and are merged without duplicates.
    const want = { ...bind, limit: bind.offset + bind.limit, offset: 0 };
    const tagCut = cutoff(tagMatch);
    const first = this.#ranked.all({ ...want, match: tagMatch, cut: tagCut?.id ?? 0 });
    const seen = new Set(first.map((r) => r.id));
    const rest = this.#ranked.all({ ...want, cut: cut.id }).filter((r) => !seen.has(r.id));
    return [...first, ...rest].slice(bind.offset, bind.offset + bind.limit);
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
