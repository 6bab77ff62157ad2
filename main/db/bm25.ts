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

/** The FTS5 expression matching exactly the rows that contain phrase `p` (in its columns). */
export function phraseExpr(p: Phrase): string {
  const q = `"${p.tokens.map((t) => t.replace(/"/g, '""')).join(' ')}"${p.prefix ? '*' : ''}`;
  return p.columns ? `{${p.columns.map((c) => FTS_COLUMNS[c]).join(' ')}} : ${q}` : q;
}

/**
 * A candidate row: its stored text per tracks_fts column (null when empty, undefined when not fetched because
 * no phrase can match in that column) and FTS5's own token count per column (the docsize record).
 */
export interface RowText {
  readonly cols: readonly (string | null | undefined)[];
  readonly sizes: Buffer;
}

interface Stats {
  rows: number;
  avgdl: number;
  maxRowid: number;
  minRowid: number;
}

/** Scores candidate rows of tracks_fts by bm25. One per connection. */
export class Bm25Scorer {
  readonly #db: Database.Database;
  readonly #weights: readonly number[];
  readonly #nth: Database.Statement<[string, number], number>;
  readonly #count: Database.Statement<[string], number>;
  readonly #averages: Database.Statement<[], Buffer | undefined>;
  readonly #bounds: Database.Statement<[], { lo: number | null; hi: number | null }>;
  readonly #changes: Database.Statement<[], number>;
  #stamp = '';
  #stats: Stats | null = null;
  readonly #df = new Map<string, number>();

  readonly #dfSample: number;

  constructor(db: Database.Database, weights: readonly number[], opts: { dfSample?: number } = {}) {
    this.#db = db;
    this.#dfSample = Math.max(1, opts.dfSample ?? DF_SAMPLE);
    this.#weights = weights;
    this.#nth = db.prepare<[string, number], number>(
      'SELECT rowid FROM tracks_fts WHERE tracks_fts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ? - 1').pluck();
    this.#count = db.prepare<[string], number>('SELECT count(*) FROM tracks_fts WHERE tracks_fts MATCH ?').pluck();
    // The averages record (id 1 of the FTS5 data table): row count, then total tokens per column (varints).
    this.#averages = db.prepare<[], Buffer | undefined>('SELECT block FROM tracks_fts_data WHERE id = 1').pluck();
    // From the docsize table (a rowid table): min/max over the FTS5 table itself would scan it.
    this.#bounds = db.prepare('SELECT min(id) AS lo, max(id) AS hi FROM tracks_fts_docsize');
    this.#changes = db.prepare<[], number>('SELECT total_changes()').pluck();
  }

  /** Drops cached counts when any connection has written since they were taken. */
  #fresh(): Stats {
    const stamp = `${String(this.#db.pragma('data_version', { simple: true }))}:${this.#changes.get()}`;
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
  #docCount(p: Phrase, st: Stats): number {
    const expr = phraseExpr(p);
    const cached = this.#df.get(expr);
    if (cached !== undefined) return cached;
    const sample = this.#dfSample;
    const nth = this.#nth.get(expr, sample);
    let n: number;
    if (nth === undefined) n = this.#count.get(expr) ?? 0;
    else {
      // The newest `sample` matches span this many rowids; the phrase fills the whole range as densely.
      const span = Math.max(1, st.maxRowid - nth + 1);
      const all = Math.max(span, st.maxRowid - st.minRowid + 1);
      n = Math.min(st.rows, Math.max(sample, Math.round((sample * all) / span)));
    }
    if (this.#df.size > 256) this.#df.clear();
    this.#df.set(expr, n);
    return n;
  }

  /**
   * bm25 of each row for the phrases (lower is better, as FTS5 returns it). `rows` maps rowid → the row's
   * text per column. The phrases must be the query's, in order; rows need not contain them.
   */
  score(phrases: readonly Phrase[], rows: ReadonlyMap<number, RowText>): Map<number, number> {
    const st = this.#fresh();
    const idf = phrases.map((p) => {
      const n = this.#docCount(p, st);
      const v = Math.log((st.rows - n + 0.5) / (n + 0.5));
      return v <= 0 ? 1e-6 : v;
    });
    const out = new Map<number, number>();
    const freq = new Float64Array(phrases.length);
    for (const [id, row] of rows) {
      freq.fill(0);
      const D = readVarints(row.sizes).reduce((a, b) => a + b, 0);
      for (let c = 0; c < FTS_COLUMNS.length; c++) {
        const text = row.cols[c];
        if (!text) continue;
        const folded = foldText(text);
        let toks: string[] | null = null;
        const w = c < this.#weights.length ? this.#weights[c]! : 1;
        for (let i = 0; i < phrases.length; i++) {
          const p = phrases[i]!;
          if (p.columns && !p.columns.includes(c)) continue;
          // Most columns of a candidate lack most phrases: a substring test skips tokenizing them.
          if (!folded.includes(p.tokens[0] ?? '')) continue;
          toks ??= tokenize(folded);
          const hits = countPhrase(toks, p);
          if (hits) freq[i]! += w * hits;
        }
      }
      let score = 0;
      for (let i = 0; i < phrases.length; i++) {
        const f = freq[i]!;
        score += idf[i]! * ((f * (K1 + 1.0)) / (f + K1 * (1 - B + (B * D) / st.avgdl)));
      }
      out.set(id, -1.0 * score);
    }
    return out;
  }
}

/** SQLite/FTS5 varints (big-endian 7-bit groups, the 9th byte whole), read until the buffer ends. */
function readVarints(b: Buffer): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < b.length) {
    let v = 0;
    let k = 0;
    for (; k < 8 && i < b.length; k++) {
      const byte = b[i++]!;
      v = v * 128 + (byte & 0x7f);
      if (!(byte & 0x80)) break;
    }
    if (k === 8 && i < b.length) v = v * 256 + b[i++]!;
    out.push(v);
  }
  return out;
}
