/**
 * @file The JS bm25 scorer against FTS5's own bm25(): the same scores and order on real MusicCaps captions
 * (exact mode, bounded mode, filters), its tokenizer against FTS5's token counts, and its estimate of a common
 * phrase's row count.
 */
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bm25Scorer, countTokens, foldText, tokenize } from '../../../main/db/bm25';
import { openDatabase } from '../../../main/db/open';
import { SearchRepo, toFtsQuery, type SearchQuery } from '../../../main/db/search';
import { Fts5SearchRepo } from '../../helpers/fts5-search';
import { insertMusicCaps, readMusicCaps } from '../../helpers/musiccaps';

const SAMPLE = join(import.meta.dirname, '..', '..', 'fixtures', 'musiccaps-sample.csv');
const GENRES = ['Zeta', 'Theta', 'Kappa', 'Sigma', 'Omega'];

let db: Database.Database;

beforeAll(() => {
  db = openDatabase(':memory:');
  const titles = ['Piano Dreams', 'Guitar Night', 'Drums of Fire', 'Sad Piano Ballad', 'Café Ünïcode ça', "Rock'n'Roll 日本語"];
  insertMusicCaps(db, readMusicCaps(SAMPLE), {
    meta: (r, i) => ({
      title: i % 9 === 0 ? titles[(i / 9) % titles.length]! : `Clip ${r.ytid}`,
      artist: `Artist ${i % 7}`,
      album: i % 5 === 0 ? 'Piano Album' : `Album ${i % 11}`,
      genres: [GENRES[i % 5]!],
      genre: GENRES[i % 5]!,
      year: 1980 + (i % 40),
    }),
  });
});
afterAll(() => db.close());

/** FTS5's ranking of every match, as SQL computes it with the app's column weights spelled out. */
function fts5Ranking(match: string): { id: number; score: number }[] {
  return db
    .prepare<[string], { id: number; score: number }>(
      `SELECT t.id, bm25(tracks_fts, 10, 6, 4, 4, 2, 1) AS score FROM tracks_fts JOIN tracks t ON t.id = tracks_fts.rowid
       WHERE tracks_fts MATCH ? AND t.missing_since IS NULL ORDER BY score, t.id`,
    )
    .all(match);
}

const QUERIES: SearchQuery[] = [
  { text: 'piano', prefix: false },
  { text: 'sad piano', prefix: false },
  { text: 'female vocal', prefix: false },
  { text: 'low quality recording', prefix: false },
  { text: 'gui' },
  { text: 'sad pi' },
  { text: '"acoustic guitar"', prefix: false },
  { text: 'hip-hop', prefix: false },
  { text: 'café', prefix: false },
  { text: 'unicode ca' },
  { text: 'rock n roll', prefix: false },
  { text: 'drums fire', prefix: false },
  // Prefixes longer than the indexed ones (walked by their first 4 characters, then checked).
  { text: 'piano' },
  { text: 'female voca' },
  { text: 'recordi' },
  { text: 'instrumen' },
];

describe('bm25 scorer', () => {
  it('counts tokens per column exactly as FTS5 does (its docsize records)', () => {
    const rows = db.prepare('SELECT c.c0, c.c1, c.c2, c.c3, c.c4, c.c5, d.sz FROM tracks_fts_content c JOIN tracks_fts_docsize d ON d.id = c.id').raw().all() as unknown[][];
    expect(rows.length).toBe(600);
    for (const r of rows) {
      const sizes = [...(r[6] as Buffer)]; // every column here has fewer than 128 tokens: one byte each
      for (let c = 0; c < 6; c++) {
        const folded = foldText((r[c] as string | null) ?? '');
        expect(tokenize(folded).length, String(r[c])).toBe(sizes[c]);
        expect(countTokens(folded), String(r[c])).toBe(sizes[c]);
      }
    }
  });

  it('scores every match exactly as FTS5 bm25() with the column weights, in the same order', () => {
    const search = new SearchRepo(db, { rankWindow: 10_000 });
    for (const q of QUERIES) {
      const match = toFtsQuery(q.text, q.prefix === undefined ? {} : { prefix: q.prefix })!;
      const want = fts5Ranking(match);
      expect(want.length, q.text).toBeGreaterThan(0);
      const got = search.search({ ...q, limit: 1000 });
      expect(got.map((h) => h.id), q.text).toEqual(want.map((r) => r.id));
      got.forEach((h, i) => expect(h.score, `${q.text} #${i}`).toBeCloseTo(want[i]!.score, 9));
    }
  });

  it('gives a title match a better score than the same words in a caption (column weights)', () => {
    const hits = new SearchRepo(db).search({ text: 'sad piano ballad', prefix: false, limit: 100 });
    expect(hits[0]!.title).toBe('Sad Piano Ballad');
    const titled = hits.filter((h) => h.title === 'Sad Piano Ballad');
    const others = hits.filter((h) => h.title !== 'Sad Piano Ballad');
    expect(Math.max(...titled.map((h) => h.score))).toBeLessThan(Math.min(...others.map((h) => h.score)));
  });

  it('returns the same pages as FTS5 ranking in bounded mode and with filters', () => {
    for (const rankWindow of [5, 40, 500]) {
      const ours = new SearchRepo(db, { rankWindow });
      const anchor = new Fts5SearchRepo(db, { rankWindow });
      const filtered: SearchQuery[] = [
        { text: 'piano', genre: 'theta', prefix: false },
        { text: 'guitar', yearFrom: 1990, yearTo: 2005, prefix: false },
        { text: 'vocal', artist: 'artist 3' },
        { text: 'the', captioned: true, prefix: false },
        { text: 'piano', genre: 'kappa', artist: 'artist', prefix: false },
      ];
      for (const q of [...QUERIES, ...filtered]) {
        for (const page of [{ limit: 20, offset: 0 }, { limit: 10, offset: 10 }]) {
          const got = ours.search({ ...q, ...page });
          const want = anchor.search({ ...q, ...page });
          expect(got.map((h) => h.id), `${JSON.stringify(q)} ${rankWindow} ${page.offset}`).toEqual(want.map((h) => h.id));
          // A prefix longer than the indexed ones picks its snippet by the indexed prefix (documented).
          const longPrefix = /[\p{L}\p{N}]{5,}$/u.test(q.text) && q.prefix !== false;
          if (!longPrefix) expect(got.map((h) => h.snippet)).toEqual(want.map((h) => h.snippet));
          got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 9));
        }
      }
    }
  });

  it('estimates a common phrase from the density of its newest matches, exact below the sample size', () => {
    const count = (m: string): number => db.prepare('SELECT count(*) FROM tracks_fts WHERE tracks_fts MATCH ?').pluck().get(m) as number;
    // A word in a third to a half of the rows: its IDF is positive and sensitive to the count.
    const word = ['guitar', 'music', 'song', 'male', 'drums', 'vocal'].find((w) => count(`"${w}"`) > 150 && count(`"${w}"`) < 280)!;
    expect(word).toBeDefined();
    const exactN = count(`"${word}"`);
    const idfOf = (n: number, rows: number): number => Math.log((rows - n + 0.5) / (n + 0.5));
    const rows = new Map([[1, ['x', null, null, null, null, word]]]);
    const phrase = { tokens: [word], prefix: false, columns: null };
    const exact = new Bm25Scorer(db, [1, 1, 1, 1, 1, 1], { dfSample: exactN + 1 }).score([phrase], rows).get(1)!;
    const sampled = new Bm25Scorer(db, [1, 1, 1, 1, 1, 1], { dfSample: Math.floor(exactN / 2) }).score([phrase], rows).get(1)!;
    // Exact: the score is the IDF from the true count times the row's term part; estimated: within 15 % of it.
    expect(idfOf(exactN, 600)).toBeGreaterThan(0);
    expect(Math.abs(sampled / exact - 1)).toBeLessThan(0.15);
    expect(sampled).not.toBe(exact);
  });
});
