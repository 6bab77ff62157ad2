/**
 * @file bm25 over `tracks_fts`, computed here for a bounded set of candidate rows instead of by FTS5's bm25()
 * (see [Note: bm25 without the document-frequency walk]). Main process, CLI and tests.
 */
import type Database from 'better-sqlite3';

/** One FTS5 phrase of a query: folded tokens, the last a prefix when `prefix`; `columns` null means all. */
export interface Phrase {
  readonly tokens: readonly string[];
  readonly prefix: boolean;
  /** Column indexes (tracks_fts order) the phrase is restricted to, or null for every column. */
  readonly columns: readonly number[] | null;
}

/** tracks_fts columns, in order. */
export const FTS_COLUMNS = ['title', 'artist', 'album', 'genre', 'tags', 'caption'] as const;
/** The first TAG_COLUMN_COUNT columns are the tag columns, which tracks_tags_fts indexes on their own. */
export const TAG_COLUMN_COUNT = 5;

// [Note: bm25 without the document-frequency walk]
// FTS5's bm25() computes each phrase's IDF on its first row by walking the phrase's whole doclist (every row
// that contains it), and does so again in every statement. At 1,000,000 tracks a common word ("drums", "low")
// is in 100,000+ rows, so ranking 500 candidates cost 5–30 ms per statement however few rows were ranked.
// Here the same formula (FTS5's fts5Bm25Function: k1 = 1.2, b = 0.75, IDF = ln((N − n + 0.5) / (n + 0.5))
// floored at 1e-6, per-column weights on phrase hits, D = the row's tokens over all columns, avgdl from the
// index's totals) is computed in JS over the candidates' stored text, tokenized like unicode61
// remove_diacritics 2. A phrase's row count n is exact when it is at most DF_SAMPLE rows (a bounded walk
// from the newest match); above that it is estimated from how densely its newest DF_SAMPLE matches fill the
// rowid range they span, which changes IDF by a few percent at most on a library whose matches are spread
// evenly, and ranking only depends on the relative IDF of a query's phrases. Counts are cached until the
// database changes.

const K1 = 1.2;
const B = 0.75;
/** Matches counted exactly before a phrase's row count is estimated from their density (default). */
export const DF_SAMPLE = 4096;

/** Folds text as unicode61 remove_diacritics 2 does: lower case, combining marks removed. */
export function foldText(s: string): string {
  const lower = s.toLowerCase();
  // eslint-disable-next-line no-control-regex
  return /[^\u0000-\u007f]/.test(lower) ? lower.normalize('NFD').replace(/\p{Mn}/gu, '').normalize('NFC') : lower;
}

const TOKEN_RUN = /[\p{L}\p{N}\p{M}\p{Co}]+/gu;

/** Splits folded text into tokens (runs of letters, digits, marks and private-use characters). */
export function tokenize(folded: string): string[] {
  // ASCII fast path: a character loop is several times quicker than a Unicode regex over a caption.
  // eslint-disable-next-line no-control-regex
  if (/[^\u0000-\u007f]/.test(folded)) return folded.match(TOKEN_RUN) ?? [];
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= folded.length; i++) {
    const c = i < folded.length ? folded.charCodeAt(i) : 32;
    const isTok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90);
    if (isTok) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      out.push(folded.slice(start, i));
      start = -1;
    }
  }
  return out;
}

/** The number of tokens {@link tokenize} would return, without making them. */
export function countTokens(folded: string): number {
  // eslint-disable-next-line no-control-regex
  if (/[^\u0000-\u007f]/.test(folded)) return tokenize(folded).length;
  let n = 0;
  let inTok = false;
  for (let i = 0; i < folded.length; i++) {
    const isTok = isTokenCode(folded.charCodeAt(i));
    if (isTok && !inTok) n++;
    inTok = isTok;
  }
  return n;
}

/** Instances of `p` in a token list (every start position, overlapping ones included, as FTS5 counts them). */
export function countPhrase(tokens: readonly string[], p: Phrase): number {
  const n = p.tokens.length;
  if (n === 0) return 0;
  let hits = 0;
  for (let i = 0; i + n <= tokens.length; i++) {
    let ok = true;
    for (let j = 0; j < n && ok; j++) {
      const want = p.tokens[j]!;
      const got = tokens[i + j]!;
      ok = p.prefix && j === n - 1 ? got.startsWith(want) : got === want;
    }
    if (ok) hits++;
  }
  return hits;
}

/** Whether an ASCII code is part of a token (a letter or digit), as unicode61 splits ASCII text. */
export function isTokenCode(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90);
}

/**
 * {@link countPhrase} over folded ASCII text without splitting it: finds the first token with indexOf and
 * checks token boundaries and the following tokens in place (a caption is scanned without allocating).
 */
export function countPhraseAscii(text: string, p: Phrase): number {
  const n = p.tokens.length;
  const first = p.tokens[0];
  if (!first) return 0;
  let hits = 0;
  for (let at = text.indexOf(first); at >= 0; at = text.indexOf(first, at + 1)) {
    if (at > 0 && isTokenCode(text.charCodeAt(at - 1))) continue; // inside a token
    let pos = at + first.length;
    if (!(p.prefix && n === 1) && pos < text.length && isTokenCode(text.charCodeAt(pos))) continue;
    let ok = true;
    for (let j = 1; j < n && ok; j++) {
      while (pos < text.length && !isTokenCode(text.charCodeAt(pos))) pos++;
      const tok = p.tokens[j]!;
      if (!text.startsWith(tok, pos)) ok = false;
      else {
        pos += tok.length;
        if (!(p.prefix && j === n - 1) && pos < text.length && isTokenCode(text.charCodeAt(pos))) ok = false;
      }
    }
    if (ok) hits++;
  }
  return hits;
}

// [Note: Long prefixes]
// tracks_fts has prefix indexes for 2 to 4 characters. A longer prefix ("piano"* while typing, "vocal"*) makes
// FTS5 merge the doclists of every term that starts with it, over the whole index, before the first row comes
// out: 15–35 ms at 1,000,000 tracks however few rows are wanted. So a candidate walk matches such a phrase by
// its first 4 characters (an indexed prefix: a superset of the rows) and the rows are then checked against the
// real phrase in their text ({@link rowMatches}); a phrase's row count is estimated from the 4-character
// prefix's when that is above the exact-count sample.

/** Longest prefix (in characters) that tracks_fts and tracks_tags_fts index; see [Note: Long prefixes]. */
export const INDEXED_PREFIX = 4;

/** `p` with a prefix longer than the indexed ones cut to an indexed one, or `p` itself. */
export function indexedPrefix(p: Phrase): Phrase {
  const last = p.tokens.at(-1);
  if (!p.prefix || last === undefined || [...last].length <= INDEXED_PREFIX) return p;
  return { ...p, tokens: [...p.tokens.slice(0, -1), [...last].slice(0, INDEXED_PREFIX).join('')] };
}

/** Whether every phrase has a hit in its columns of the row (the row matches the AND of the phrases). */
export function rowMatches(phrases: readonly Phrase[], row: RowText): boolean {
  const { folded, ascii } = foldRow(row);
  return foldedRowMatches(phrases, folded, ascii);
}

/** A row's columns folded by {@link foldText}, and whether they are all ASCII (as {@link FoldedRow} holds them). */
export function foldRow(row: RowText): { folded: RowText; ascii: boolean } {
  const folded = row.map((t) => (t ? foldText(t) : null));
  return { folded, ascii: folded.every((t) => !t || isAscii(t)) };
}

/** {@link rowMatches} of a row whose text is folded already; `ascii` as in {@link FoldedRow}. */
export function foldedRowMatches(phrases: readonly Phrase[], folded: RowText, ascii: boolean): boolean {
  return phrases.every((p) =>
    folded.some((text, c) => {
      if (!text || (p.columns && !p.columns.includes(c))) return false;
      return (ascii ? countPhraseAscii(text, p) : countPhrase(tokenize(text), p)) > 0;
    }),
  );
}

/** The FTS5 expression matching exactly the rows that contain phrase `p` (in its columns). */
export function phraseExpr(p: Phrase): string {
  const q = `"${p.tokens.map((t) => t.replace(/"/g, '""')).join(' ')}"${p.prefix ? '*' : ''}`;
  return p.columns ? `{${p.columns.map((c) => FTS_COLUMNS[c]).join(' ')}} : ${q}` : q;
}

/** A candidate row's stored text, one string (or null) per tracks_fts column. */
export type RowText = readonly (string | null)[];

interface Stats {
  rows: number;
  avgdl: number;
  maxRowid: number;
  minRowid: number;
}

/** Scores candidate rows of tracks_fts by bm25. One per connection. */
export class Bm25Scorer {
  readonly #weights: readonly number[];
  readonly #nth: Database.Statement<[string, number], number>;
  readonly #count: Database.Statement<[string], number>;
  readonly #nthTags: Database.Statement<[string, number], number>;
  readonly #countTags: Database.Statement<[string], number>;
  readonly #averages: Database.Statement<[], Buffer | undefined>;
  readonly #bounds: Database.Statement<[], { lo: number | null; hi: number | null }>;
  readonly #changes: Database.Statement<[], number>;
  readonly #dataVersion: Database.Statement<[], number>;
  #stamp = '';
  #stats: Stats | null = null;
  readonly #df = new Map<string, number>();

  readonly #dfSample: number;

  constructor(db: Database.Database, weights: readonly number[], opts: { dfSample?: number } = {}) {
    this.#dfSample = Math.max(1, opts.dfSample ?? DF_SAMPLE);
    this.#weights = weights;
    // A phrase restricted to tag columns is counted in tracks_tags_fts (0110), whose doclists hold tag hits
    // only: the same rows, without walking every caption that contains the word.
    const nth = (table: string): Database.Statement<[string, number], number> =>
      db.prepare<[string, number], number>(`SELECT rowid FROM ${table} WHERE ${table} MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ? - 1`).pluck();
    const count = (table: string): Database.Statement<[string], number> =>
      db.prepare<[string], number>(`SELECT count(*) FROM ${table} WHERE ${table} MATCH ?`).pluck();
    this.#nth = nth('tracks_fts');
    this.#count = count('tracks_fts');
    this.#nthTags = nth('tracks_tags_fts');
    this.#countTags = count('tracks_tags_fts');
    // The averages record (id 1 of the FTS5 data table): row count, then total tokens per column (varints).
    this.#averages = db.prepare<[], Buffer | undefined>('SELECT block FROM tracks_fts_data WHERE id = 1').pluck();
    // From the docsize table (a rowid table): min/max over the FTS5 table itself would scan it. Two subqueries:
    // SQLite answers a lone min() or max() of a rowid from the b-tree edge, but min() and max() in one SELECT
    // scan the table (41 ms at 1M tracks, paid by the first search after every write).
    this.#bounds = db.prepare('SELECT (SELECT min(id) FROM tracks_fts_docsize) AS lo, (SELECT max(id) FROM tracks_fts_docsize) AS hi');
    this.#changes = db.prepare<[], number>('SELECT total_changes()').pluck();
    // Prepared once: db.pragma() prepares its statement on every call, once per keystroke here.
    this.#dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  /**
   * A value that changes whenever any connection has written to the database since the last call that
   * returned the same value (PRAGMA data_version sees other connections' commits, total_changes() this one's).
   */
  version(): string {
    return `${this.#dataVersion.get()}:${this.#changes.get()}`;
  }

  /** Drops cached counts when any connection has written since they were taken. */
  #fresh(): Stats {
    const stamp = this.version();
    if (stamp !== this.#stamp || !this.#stats) {
      this.#stamp = stamp;
      this.#df.clear();
      const block = this.#averages.get();
      const vals = block ? readVarints(block) : [];
      const rows = Math.max(1, vals[0] ?? 0);
      const tokens = vals.slice(1).reduce((a, b) => a + b, 0);
      const b = this.#bounds.get() ?? { lo: null, hi: null };
      this.#stats = { rows, avgdl: tokens / rows, minRowid: b.lo ?? 0, maxRowid: b.hi ?? 0 };
    }
    return this.#stats;
  }

  /** Rows containing `p` (exact up to DF_SAMPLE, estimated above it; see the Note). */
  #docCount(phrase: Phrase, st: Stats): number {
    const key = phraseExpr(phrase);
    const cached = this.#df.get(key);
    if (cached !== undefined) return cached;
    // The walk uses an indexed prefix (see [Note: Long prefixes]); when that matches at most `sample` rows,
    // the real phrase is counted exactly (merging its terms' doclists is then as cheap), else estimated.
    const expr = phraseExpr(indexedPrefix(phrase));
    const sample = this.#dfSample;
    const tagsOnly = phrase.columns !== null && phrase.columns.every((c) => c < TAG_COLUMN_COUNT);
    const nth = (tagsOnly ? this.#nthTags : this.#nth).get(expr, sample);
    let n: number;
    if (nth === undefined) n = (tagsOnly ? this.#countTags : this.#count).get(key) ?? 0;
    else {
      // The newest `sample` matches span this many rowids; the phrase fills the whole range as densely.
      const span = Math.max(1, st.maxRowid - nth + 1);
      const all = Math.max(span, st.maxRowid - st.minRowid + 1);
      n = Math.min(st.rows, Math.max(sample, Math.round((sample * all) / span)));
    }
    if (this.#df.size > 256) this.#df.clear();
    this.#df.set(key, n);
    return n;
  }

  /**
   * bm25 of each row for the phrases (lower is better, as FTS5 returns it). `rows` maps rowid → the row's
   * text per column. The phrases must be the query's, in order; rows need not contain them. `sizes` maps
   * rowid → the row's token count from FTS5's docsize record ({@link docsizeTokens}); a row without one has its
   * tokens counted here (see [Note: Token counts from docsize]).
   */
  score(phrases: readonly Phrase[], rows: ReadonlyMap<number, RowText>, sizes?: ReadonlyMap<number, number>): Map<number, number> {
    const folded = [...rows].map(([id, row]): FoldedRow => {
      const f = foldRow(row);
      return { id, ...f, tokens: sizes?.get(id) ?? f.folded.reduce((n, t) => n + (t ? countTokens(t) : 0), 0) };
    });
    const scores = this.scoreFolded(phrases, folded);
    return new Map(folded.map((r, i) => [r.id, scores[i]!]));
  }

  /** {@link score} of rows whose text is folded already and whose token counts are known, in their order. */
  scoreFolded(phrases: readonly Phrase[], rows: readonly FoldedRow[]): Float64Array {
    const st = this.#fresh();
    const idf = phrases.map((p) => {
      const n = this.#docCount(p, st);
      const v = Math.log((st.rows - n + 0.5) / (n + 0.5));
      return v <= 0 ? 1e-6 : v;
    });
    const out = new Float64Array(rows.length);
    const freq = new Float64Array(phrases.length);
    // The columns each phrase may match in: the others are not read.
    const cols = phrases.map((p) => (p.columns ?? FTS_COLUMNS.map((_, c) => c)).filter((c) => c < FTS_COLUMNS.length));
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      freq.fill(0);
      // Non-ASCII text (rare) is split into tokens once per column; ASCII text is searched in place.
      const toks = row.ascii ? null : row.folded.map((t) => (t ? tokenize(t) : null));
      for (let i = 0; i < phrases.length; i++) {
        const p = phrases[i]!;
        for (const c of cols[i]!) {
          const text = row.folded[c];
          if (!text) continue;
          const hits = toks ? countPhrase(toks[c]!, p) : countPhraseAscii(text, p);
          if (hits) freq[i]! += (c < this.#weights.length ? this.#weights[c]! : 1) * hits;
        }
      }
      const D = row.tokens; // the row's tokens over all columns, as FTS5's docsize record counts them
      let score = 0;
      for (let i = 0; i < phrases.length; i++) {
        const f = freq[i]!;
        score += idf[i]! * ((f * (K1 + 1.0)) / (f + K1 * (1 - B + (B * D) / st.avgdl)));
      }
      out[r] = -1.0 * score;
    }
    return out;
  }
}

/** A candidate row for {@link Bm25Scorer.scoreFolded}: its text folded by {@link foldText}, and its tokens. */
export interface FoldedRow {
  readonly id: number;
  readonly folded: RowText;
  /** Whether every column is ASCII (then phrases are searched in the text without splitting it). */
  readonly ascii: boolean;
  /** The row's tokens over all columns (FTS5's docsize record). */
  readonly tokens: number;
}

/**
 * Whether `s` is all ASCII: its UTF-8 form is as long as it is (any other character takes two bytes or more,
 * a pair of surrogates four). Native code counts the bytes several times faster than a regular expression
 * scans a caption, and search asks once per candidate row.
 */
export function isAscii(s: string): boolean {
  return Buffer.byteLength(s, 'utf8') === s.length;
}

// [Note: Token counts from docsize]
// bm25 needs each candidate's length in tokens. Counting them in JS means a character loop over every column
// of every candidate (about 1 ms for 500 captions at 1,000,000 tracks, half of a keystroke's budget), while
// FTS5 already keeps the counts per row in its docsize table: joining it to the candidate walk costs a tenth
// of that, and it is by definition the number FTS5's bm25() uses. Phrase hits are still found in the text
// (folded by the engine's toLowerCase, searched with indexOf), which native string code does quickly.

/** A row's token count over all columns, from its FTS5 docsize record (one varint per column). */
export function docsizeTokens(sz: Buffer): number {
  let n = 0;
  for (const v of readVarints(sz)) n += v;
  return n;
}

/** {@link docsizeTokens} of the record given as hex (SQL's hex()). */
export function docsizeTokensHex(hex: string): number {
  let n = 0;
  for (const v of varintsOf(hex.length >> 1, (i) => hexDigit(hex.charCodeAt(2 * i)) * 16 + hexDigit(hex.charCodeAt(2 * i + 1)))) n += v;
  return n;
}

/** The value of a hex digit's character code, either case. */
function hexDigit(c: number): number {
  return c <= 57 ? c - 48 : (c | 0x20) - 87;
}

/** SQLite/FTS5 varints (big-endian 7-bit groups, the 9th byte whole), read until the bytes end. */
export function readVarints(b: Uint8Array): number[] {
  return varintsOf(b.length, (i) => b[i]!);
}

/** {@link readVarints} of `length` bytes that `byteAt` gives (a Buffer's, or a hex string's). */
function varintsOf(length: number, byteAt: (i: number) => number): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < length) {
    let v = 0;
    let k = 0;
    for (; k < 8 && i < length; k++) {
      const byte = byteAt(i++);
      v = v * 128 + (byte & 0x7f);
      if (!(byte & 0x80)) break;
    }
    if (k === 8 && i < length) v = v * 256 + byteAt(i++);
    out.push(v);
  }
  return out;
}
