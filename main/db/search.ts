/**
 * @file Full-text search over tags and captions (FTS5, bm25 with column weights) with tag filters. Main
 * process, CLI and tests. User text never reaches FTS5's query language unescaped; see [Note: FTS query text].
 */
import type Database from 'better-sqlite3';
import { BROWSE_KEYS_OF, BROWSE_ORDER_OF } from './tracks';
import { captionSnippet } from './snippet';
import { Bm25Scorer, docsizeTokens, docsizeTokensHex, foldRow, foldText, foldedRowMatches, indexedPrefix, phraseExpr, tokenize, isAscii, type FoldedRow, type Phrase, type RowText } from './bm25';

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
// for as-you-type prefix search unless the text ends with a space or a closing quote; a last word of one
// character is left out until a second is typed (as a prefix it would match almost every track).

const TOKEN = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * Turns user text into a safe FTS5 MATCH expression, or null when it has no searchable token.
 * Exported for tests and for other features (captions search) that build their own MATCH.
 */
export function toFtsQuery(text: string, opts: { prefix?: boolean } = {}): string | null {
  const phrases = toPhraseTokens(text, opts);
  if (!phrases.length) return null;
  return phrases.map((p) => `"${p.tokens.join(' ')}"${p.prefix ? '*' : ''}`).join(' ');
}

/** The phrases {@link toFtsQuery} quotes: the user's tokens as typed, the last one a prefix when open. */
function toPhraseTokens(text: string, opts: { prefix?: boolean }): { tokens: string[]; prefix: boolean }[] {
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
  return phrases.map((tokens, i) => ({ tokens, prefix: endsOpen && i === phrases.length - 1 }));
}

/** The phrases of `text` as the bm25 scorer sees them (folded tokens), restricted to `columns`. */
function toPhrases(text: string, opts: { prefix?: boolean }, columns: readonly number[] | null): Phrase[] {
  return toPhraseTokens(text, opts).map((p) => ({
    tokens: p.tokens.flatMap((t) => tokenize(foldText(t))),
    prefix: p.prefix,
    columns,
  }));
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

/**
 * The genre filter on the track whose id is `id`: one of its genres (genres_json's values, or its genre tag
 * when it has no list) is @genre, ignoring case. track_genres (migration 0120) holds exactly those as `listed`
 * rows, so this is one lookup in its primary key instead of parsing the track's JSON, and needs no tracks row
 * (see [Note: Walking without the tracks table]). The library table's filter reads the same table.
 */
const GENRE_OF = (id: string): string => `EXISTS (SELECT 1 FROM track_genres tg WHERE tg.genre = @genre AND tg.track_id = ${id} AND tg.listed = 1)`;

/** The has-caption filter on the track whose id is `id`. */
const CAPTIONED_OF = (id: string): string => `EXISTS (SELECT 1 FROM captions cap WHERE cap.track_id = ${id})`;

const FILTERS = `
  t.missing_since IS NULL
  AND (@genre IS NULL OR ${GENRE_OF('t.id')})
  AND (@artist IS NULL OR t.artist LIKE @artist ESCAPE '\\' OR t.album_artist LIKE @artist ESCAPE '\\'
       OR t.artists_json LIKE @artist ESCAPE '\\')
  AND (@year_from IS NULL OR t.year >= @year_from)
  AND (@year_to IS NULL OR t.year <= @year_to)
  AND (@captioned = 0 OR ${CAPTIONED_OF('t.id')})`;

const HIT_COLUMNS = `t.id, t.path, t.title, t.artist, t.album, t.genre, t.year, t.duration_ms,
  ${CAPTIONED_OF('t.id')} AS has_caption`;

/** Options of {@link SearchRepo}. */
export interface SearchRepoOptions {
  /** Most matches ranked by bm25 when a query matches more; see [Note: Bounded ranking]. Default 500. */
  readonly rankWindow?: number;
  /**
   * Most missing tracks whose ids a search keeps in memory to walk without the tracks table; above it every
   * walk joins the table. See [Note: Walking without the tracks table]. Default 20,000.
   */
  readonly missingInMemory?: number;
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

// [Note: Walking without the tracks table]
// A walk joins the tracks table only to test the filters and that the track is present. A query without
// filters, or with only genre and has-caption filters (lookups in track_genres and captions by track id),
// walks FTS5's own tables alone (a third fewer b-tree lookups and no tracks row decoded per candidate)
// and skips missing tracks by id, from a set read through the partial index tracks_missing and kept until the
// database changes. A library with more missing tracks than `missingInMemory` (an unplugged drive of a big
// library) joins the table as before. Rows the set drops are made up in the same statement (it reads as many
// more rows as there are missing tracks, up to a window) or the next. Either way the window holds the newest
// `window` present matches, the same rows the join gives.

const TAG_COLUMNS = '{title artist album genre tags}';

/** Prepared search statements. Create one per connection. */
export class SearchRepo {
  readonly #newest: Database.Statement<[WalkBind], string>;
  readonly #newestTags: Database.Statement<[WalkBind], string>;
  readonly #newestLean: Database.Statement<[WalkBind], string>;
  readonly #newestTagsLean: Database.Statement<[WalkBind], string>;
  readonly #candidateById: Database.Statement<[number], unknown[]>;
  readonly #missingIds: Database.Statement<[number], number>;
  readonly #yearBounds: Database.Statement<[], [number | null, number | null]>;
  #missing: { stamp: string; ids: ReadonlySet<number> | null } = { stamp: '', ids: null };
  readonly #snippets: Database.Statement<[{ match: string; ids: string; lo: number; hi: number }], { id: number; snippet: string | null }>;
  readonly #hitsByIds: Database.Statement<[{ ids: string }], Omit<HitRow, 'score' | 'snippet'> & { caption: string | null }>;
  readonly #browse: Database.Statement<[Bind], HitRow>;
  readonly #browseGenre: Database.Statement<[Bind], HitRow>;
  readonly #browseMatching: Database.Statement<[Bind], HitRow>;
  readonly #scorer: Bm25Scorer;
  readonly #window: number;
  readonly #missingMax: number;

  constructor(db: Database.Database, opts: SearchRepoOptions = {}) {
    this.#window = Math.max(1, opts.rankWindow ?? 500);
    this.#missingMax = Math.max(0, opts.missingInMemory ?? 20_000);
    this.#scorer = new Bm25Scorer(db, FTS_COLUMN_WEIGHTS);
    // The newest `window` matches that pass the filters, each as one text (see [Note: One text per candidate]):
    // one rowid-descending doclist walk, joined to FTS5's content table (c0…c5 are the columns in order; a plain
    // rowid lookup, cheaper than reading the columns through the FTS5 cursor) and docsize table (see
    // [Note: Token counts from docsize]).
    const walk = (fts: string, alias: string, caption: boolean, tracks: boolean): Database.Statement<[WalkBind], string> =>
      db.prepare<[WalkBind], string>(`
        SELECT ${candidateText(`${alias}.rowid`, caption)}
        FROM ${fts} ${alias} ${tracks ? `JOIN tracks t ON t.id = ${alias}.rowid` : ''}
          JOIN tracks_fts_content c ON c.id = ${alias}.rowid JOIN tracks_fts_docsize d ON d.id = ${alias}.rowid
        WHERE ${fts} MATCH @match AND ${alias}.rowid < CAST(@before AS INTEGER)
          AND ${tracks ? FILTERS : `(@genre IS NULL OR ${GENRE_OF(`${alias}.rowid`)}) AND (@captioned = 0 OR ${CAPTIONED_OF(`${alias}.rowid`)})`}
        ORDER BY ${alias}.rowid DESC LIMIT @window`).pluck();
    this.#newest = walk('tracks_fts', 'f', true, true);
    // The same over tracks_tags_fts, for the tag pass (whose MATCH names tag columns only; see 0110). Its
    // phrases never look at the caption and the token count comes from docsize, so the caption (the long
    // column) is left out; the page's hits get theirs from #hitsByIds.
    this.#newestTags = walk('tracks_tags_fts', 'g', false, true);
    // Both without the tracks table, for a query without filters but genre and has-caption; see
    // [Note: Walking without the tracks table].
    this.#newestLean = walk('tracks_fts', 'f', true, false);
    this.#newestTagsLean = walk('tracks_tags_fts', 'g', false, false);
    this.#candidateById = db.prepare<[number], unknown[]>(
      'SELECT c.id, c.c0, c.c1, c.c2, c.c3, c.c4, c.c5, d.sz FROM tracks_fts_content c JOIN tracks_fts_docsize d ON d.id = c.id WHERE c.id = ?',
    ).raw();
    this.#missingIds = db.prepare<[number], number>('SELECT id FROM tracks WHERE missing_since IS NOT NULL LIMIT ?').pluck();
    // Two subqueries: each is one lookup at an end of tracks_year (min and max in one SELECT scan the index).
    this.#yearBounds = db.prepare<[], [number | null, number | null]>('SELECT (SELECT min(year) FROM tracks), (SELECT max(year) FROM tracks)').raw();
    // [Note: Two-step search] Rank first (ids and scores only), then fetch the page's columns and caption
    // snippets. snippet() re-tokenizes a caption, too costly for every match; and a `MATCH … AND rowid = ?`
    // lookup per hit would walk the query's doclists from the start every time, so snippets are fetched per
    // cluster of nearby rowids (see #snippetsFor).
    // CAST: FTS5 ignores a rowid constraint whose bound value is not an INTEGER (a JS number may be bound as
    // REAL) and would silently return other rows.
    this.#snippets = db.prepare(`
      SELECT rowid AS id, snippet(tracks_fts, 5, '[', ']', '…', 16) AS snippet
      FROM tracks_fts
      WHERE tracks_fts MATCH @match AND rowid BETWEEN CAST(@lo AS INTEGER) AND CAST(@hi AS INTEGER)
        AND +rowid IN (SELECT value FROM json_each(@ids)) -- unary +: a filter, not one lookup per id
    `);
    // The page's hits with their indexed caption (for snippets: the walks hand over folded text).
    this.#hitsByIds = db.prepare(`SELECT ${HIT_COLUMNS}, (SELECT c5 FROM tracks_fts_content WHERE id = t.id) AS caption
      FROM tracks t WHERE t.id IN (SELECT value FROM json_each(@ids))`);
    this.#browseMatching = db.prepare(`
      SELECT ${HIT_COLUMNS}, 0.0 AS score, NULL AS snippet
      FROM tracks t
      WHERE t.id IN (SELECT rowid FROM tracks_fts WHERE tracks_fts MATCH @match) AND ${FILTERS}
      ORDER BY ${BROWSE_ORDER_OF('t.')}
      LIMIT @limit OFFSET @offset`);
    // [Note: Browsing a genre] A genre filter without words: single-genre tracks whose genre column is the
    // genre, merged with multi-genre tracks (whose genre column holds "A; B") in browse order. Each arm walks
    // its index of 0130 in that order and keeps the rows that pass FILTERS (which decide the genre exactly),
    // so SQLite merges two ordered walks and stops at the page instead of sorting every track of the genre.
    // The arms are disjoint (a genre column with ';' or without), and their union is every row FILTERS keeps:
    // a track with one genre has it in its genre column.
    // The browse keys as result columns (k0…), each with its collation, for the compound's ORDER BY.
    const browseKeys = BROWSE_KEYS_OF('t.');
    const keys = browseKeys.map((k, i) => `${k} AS k${i}`).join(', ');
    this.#browseGenre = db.prepare(`
      SELECT ${HIT_COLUMNS}, 0.0 AS score, NULL AS snippet, ${keys}
      FROM tracks t WHERE t.genre = @genre COLLATE NOCASE AND instr(t.genre, ';') = 0 AND ${FILTERS}
      UNION ALL
      SELECT ${HIT_COLUMNS}, 0.0 AS score, NULL AS snippet, ${keys}
      FROM tracks t WHERE instr(t.genre, ';') > 0 AND ${FILTERS}
      ORDER BY ${browseKeys.map((_, i) => `k${i}`).join(', ')}
      LIMIT @limit OFFSET @offset`);
    this.#browse = db.prepare(`
      SELECT ${HIT_COLUMNS}, 0.0 AS score, NULL AS snippet
      FROM tracks t
      WHERE ${FILTERS}
      ORDER BY ${BROWSE_ORDER_OF('t.')}
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
    const textOpts = q.prefix === undefined ? {} : { prefix: q.prefix };
    const textMatch = toFtsQuery(q.text, textOpts);
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
    // The same phrases, in the same order, for the bm25 scorer (a ranked statement's phrases are all of its MATCH).
    const filterPhrases = [
      ...(genreMatch ? toPhrases(q.genre ?? '', { prefix: false }, [COL.genre]) : []),
      ...(artistMatch ? toPhrases(q.artist ?? '', { prefix: true }, [COL.artist, COL.tags]) : []),
    ];
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
      if (bind.genre !== null) return this.#browseGenre.all(bind).map((r) => toHit(r));
      return (filterMatch.length ? this.#browseMatching.all({ ...bind, match: filterMatch.join(' AND ') }) : this.#browse.all(bind)).map((r) => toHit(r));
    }
    const textPhrases = toPhrases(q.text, textOpts, null);
    const years = this.#yearWords(q.yearFrom, q.yearTo);
    const all = rankQuery(match, [...textPhrases, ...filterPhrases], years);
    const ranked = this.#rank(bind, {
      all,
      tags: rankQuery(
        [`${TAG_COLUMNS} : (${textMatch})`, ...filterMatch].join(' AND '),
        [...toPhrases(q.text, textOpts, TAG_COLUMN_INDEXES), ...filterPhrases],
        years,
      ),
    });
    if (!ranked.length) return [];
    const ids = JSON.stringify(ranked.map((r) => r.id));
    const rows = new Map(this.#hitsByIds.all({ ids }).map((r) => [r.id, r]));
    // Snippets are cut from the page's captions (see [Note: Snippets from the fetched text]); a non-ASCII
    // caption gets FTS5's, which with a long prefix marks the indexed prefix's words ([Note: Long prefixes]).
    const snippets = new Map(ranked.map((r) => {
      const caption = rows.get(r.id)?.caption ?? null;
      return [r.id, caption === null ? null : captionSnippet(caption, textPhrases, COL.caption)];
    }));
    const unicode = ranked.flatMap((r) => (snippets.get(r.id) === undefined ? [r.id] : []));
    if (unicode.length) for (const [id, snippet] of this.#snippetsFor(all.walk, unicode)) snippets.set(id, snippet);
    return ranked.flatMap((r) => {
      const row = rows.get(r.id);
      return row ? [toHit(row, r.score, snippets.get(r.id) ?? null)] : [];
    });
  }

  #rank(bind: Bind, q: { all: RankQuery; tags: RankQuery }): Scored[] {
    // Pages within the window come from one ranking (no repeats while scrolling); deeper pages widen it.
    const window = Math.max(this.#window, bind.offset + bind.limit);
    const want = bind.offset + bind.limit;
    // The tag pass first: tag matches are matches, so a full window of them means bounded mode, and when the
    // page lies within the tag pass's ranking the newest matches cannot change it (they come after it).
    const tagRows = this.#walk('tags', bind, q.tags, window);
    const first = tagRows.length ? this.#order(tagRows, q.tags.phrases).slice(0, want) : [];
    if (tagRows.length === window && first.length >= want) return first.slice(bind.offset, want);
    const newest = this.#walk('all', bind, q.all, window);
    // Fewer matches than the window: all of them, ranked exactly.
    if (newest.length < window) return this.#order(newest, q.all.phrases).slice(bind.offset, want);
    // Bounded mode: tag matches first, then the newest window of all matches. Both passes keep enough rows
    // for the requested page and are merged without duplicates.
    const seen = new Set(first.map((r) => r.id));
    const rest = this.#order(newest, q.all.phrases).slice(0, want).filter((r) => !seen.has(r.id));
    return [...first, ...rest].slice(bind.offset, want);
  }

  /**
   * The walk's clause for a year filter of at most YEAR_WORDS_MAX years, or null (see
   * [Note: Year ranges through the index]).
   */
  #yearWords(from: number | undefined, to: number | undefined): string | null {
    if (from === undefined && to === undefined) return null;
    let lo = from;
    let hi = to;
    if (lo === undefined || hi === undefined) {
      const [min, max] = this.#yearBounds.get()!;
      if (min === null || max === null) return null;
      lo ??= min;
      hi ??= max;
    }
    lo = Math.max(Math.ceil(lo), 1);
    hi = Math.floor(hi);
    if (hi < lo || hi - lo + 1 > YEAR_WORDS_MAX) return null;
    const words = Array.from({ length: hi - lo + 1 }, (_, i) => `"${lo + i}"`);
    return `tags : (${words.join(' OR ')})`;
  }

  /**
   * The ids of missing tracks when there are at most `missingInMemory` of them (else null), cached until the
   * database changes. See [Note: Walking without the tracks table].
   */
  #missingTracks(): ReadonlySet<number> | null {
    const stamp = this.#scorer.version();
    if (stamp !== this.#missing.stamp) {
      const ids = this.#missingIds.all(this.#missingMax + 1);
      this.#missing = { stamp, ids: ids.length > this.#missingMax ? null : new Set(ids) };
    }
    return this.#missing.ids;
  }

  /**
   * The newest `window` rows matching `q` (and the filters), each with its text. Rows are read in batches and
   * kept while they pass the checks the statement cannot make: the real phrases when `q` has a prefix longer
   * than the indexed ones (see [Note: Long prefixes]), and presence when the walk skips the tracks table (see
   * [Note: Walking without the tracks table]).
   */
  #walk(which: 'all' | 'tags', bind: Bind, q: RankQuery, window: number): FoldedRow[] {
    // The genre and has-caption filters need no tracks row: the lean walks test them by track id.
    const filtered = bind.artist !== null || bind.year_from !== null || bind.year_to !== null;
    const missing = filtered ? null : this.#missingTracks();
    const stmt = missing === null ? (which === 'all' ? this.#newest : this.#newestTags) : which === 'all' ? this.#newestLean : this.#newestTagsLean;
    const out: FoldedRow[] = [];
    let before = Number.MAX_SAFE_INTEGER;
    // Rows the checks may drop are read at once, with a margin: a second statement costs more than a few dozen
    // rows (FTS5 starts its doclist walk over).
    let size = window + (q.checkText ? Math.ceil(window / 10) + 16 : 0) + Math.min(missing?.size ?? 0, window);
    let seen = 0;
    for (;;) {
      const batch = stmt.all({ ...bind, match: q.walk, window: size, before });
      seen += batch.length;
      let last = before;
      for (const text of batch) {
        const r = this.#candidate(text);
        last = r.id;
        if (missing?.has(r.id)) continue;
        if (q.checkText && !foldedRowMatches(q.phrases, r.folded, r.ascii)) continue;
        out.push(r);
        if (out.length === window) return out;
      }
      if (batch.length < size) return out;
      before = last;
      // The next batch is sized by the share of rows kept so far, plus a margin, rather than another whole
      // window: a typed "piano" keeps nearly every row that "pian" matches and usually lacks only a few.
      const kept = Math.max(out.length, 1) / seen;
      size = Math.min(window, Math.ceil(((window - out.length) / kept) * 1.25) + 16);
    }
  }

  /**
   * A candidate from its one text ({@link candidateText}); a row whose text holds the separator itself is read
   * again column by column.
   */
  #candidate(row: string): FoldedRow {
    const ascii = isAscii(row);
    // Lower case is the whole fold for ASCII text; other text is folded column by column below.
    const parts = row.toLowerCase().split(SEP);
    if (parts.length === 8) {
      const folded: (string | null)[] = new Array<string | null>(6);
      for (let c = 0; c < 6; c++) {
        const t = parts[c + 1]!;
        folded[c] = t === '' ? null : ascii ? t : foldText(t);
      }
      return { id: Number(parts[0]), folded, ascii, tokens: docsizeTokensHex(parts[7]!) };
    }
    const r = this.#candidateById.get(Number(parts[0]))!;
    return { id: r[0] as number, ...foldRow(r.slice(1, 7) as RowText), tokens: r[7] ? docsizeTokens(r[7] as Buffer) : 0 };
  }

  /** Candidates by bm25, best first, ties by id. */
  #order(rows: readonly FoldedRow[], phrases: readonly Phrase[]): Scored[] {
    if (!rows.length) return [];
    const scores = this.#scorer.scoreFolded(phrases, rows);
    return rows.map((r, i) => ({ id: r.id, score: scores[i]! })).sort((a, b) => a.score - b.score || a.id - b.id);
  }

  /**
   * Caption snippets of `ids` that matched in the caption. One statement per cluster of nearby rowids: a
   * rowid range bounds the doclist walk, and the hits of a page are mostly recent (the rank window) plus a few
   * older tag matches, each of which then costs a short walk rather than stretching one range over the library.
   */
  #snippetsFor(match: string, ids: readonly number[]): Map<number, string | null> {
    const out = new Map<number, string | null>();
    const sorted = [...ids].sort((a, b) => a - b);
    let start = 0;
    for (let i = 1; i <= sorted.length; i++) {
      if (i < sorted.length && sorted[i]! - sorted[i - 1]! <= SNIPPET_GAP) continue;
      const part = sorted.slice(start, i);
      // A snippet without a marked word means the caption did not match (computed once per row, not twice
      // as a CASE around snippet() in SQL would).
      for (const r of this.#snippets.all({ match, ids: JSON.stringify(part), lo: part[0]!, hi: part.at(-1)! })) {
        out.set(r.id, r.snippet?.includes('[') ? r.snippet : null);
      }
      start = i;
    }
    return out;
  }
}

/** Rowids further apart than this are looked up for snippets in separate ranges. */
const SNIPPET_GAP = 2000;

/** Column indexes in tracks_fts. */
const COL = { title: 0, artist: 1, album: 2, genre: 3, tags: 4, caption: 5 } as const;
const TAG_COLUMN_INDEXES = [COL.title, COL.artist, COL.album, COL.genre, COL.tags];

interface RankQuery {
  readonly match: string;
  /**
   * The MATCH a candidate walk uses: `match`, or with long prefixes cut to indexed ones; and the year clause
   * (see [Note: Year ranges through the index]).
   */
  readonly walk: string;
  /** Whether the walk's rows must be checked against `phrases` (long prefixes were cut). */
  readonly checkText: boolean;
  readonly phrases: readonly Phrase[];
}

/**
 * A RankQuery for `match`, whose phrases (all ANDed) are `phrases`; `years`, a clause only the walk adds (it
 * narrows the rows walked, never the rows kept: the SQL filters decide those).
 */
function rankQuery(match: string, phrases: readonly Phrase[], years: string | null): RankQuery {
  const cut = phrases.map(indexedPrefix);
  const checkText = cut.some((p, i) => p !== phrases[i]);
  const walk = checkText ? cut.map((p) => `(${phraseExpr(p)})`).join(' AND ') : match;
  return { match, walk: years ? `${walk} AND ${years}` : walk, checkText, phrases };
}

// [Note: Year ranges through the index]
// A year filter is tested on the tracks row of each text match the walk visits, newest first, until a window
// of matches passes: "piano" from 1995 in a library spread over 50 years visits 50 matches per match kept, 32 ms
// at 1,000,000 tracks. Every track's year is also a word of its `tags` column (the FTS triggers append it), so
// a range of a few years is added to the walk's MATCH as `tags : ("1995" OR …)` and FTS5 intersects doclists
// instead: 1.6 ms. It only narrows what is walked: a year word in a comment ("remastered 1995") lets a row
// through to the SQL filter, which still decides on the year column, so the rows kept and their order are the
// same (test/integration/db/search-walks.test.ts). Wide ranges are left to the filter: an OR of many years'
// doclists costs more than the rows it saves (30 of 50 years measured 20 % slower); the cut-off is
// YEAR_WORDS_MAX years. An open range is closed with the library's first or last year (an index lookup).
const YEAR_WORDS_MAX = 10;

type WalkBind = Bind & { window: number; before: number };

// [Note: One text per candidate]
// A walk returns up to 500 rows. Handing SQLite's values to JavaScript one by one (six strings and a docsize
// Buffer per row) cost three times the walk itself (2 ms against 0.4 ms for "drums" at 1,000,000 tracks): a
// Buffer per row is a heavy object. So a candidate comes back as one string, its id, columns and docsize (as
// hex) joined by SEP, and is split here. SEP (the ASCII unit separator) does not occur in tags written by any
// tagger we know, but nothing forbids it: a row that does not split into 8 parts is read again by id.
const SEP = '\x1f';

/** The SQL of a candidate's one text; columns are c.* (content) and d.sz (docsize). */
function candidateText(id: string, caption: boolean): string {
  const cols = ['c.c0', 'c.c1', 'c.c2', 'c.c3', 'c.c4', caption ? 'c.c5' : "''"].map((c) => `ifnull(${c}, '')`);
  return `concat_ws(char(${SEP.charCodeAt(0)}), ${id}, ${cols.join(', ')}, hex(d.sz))`;
}

interface Scored {
  readonly id: number;
  readonly score: number;
}

/** A hit from its row; `score` and `snippet` override the row's (a ranked hit's come from the ranking). */
function toHit(r: Omit<HitRow, 'score' | 'snippet'> & Partial<Pick<HitRow, 'score' | 'snippet'>>, score = r.score ?? 0, snippet = r.snippet ?? null): SearchHit {
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
    score,
    snippet,
  };
}
