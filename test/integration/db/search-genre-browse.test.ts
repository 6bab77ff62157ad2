/**
 * @file Browsing by genre (a genre filter and no words; [Note: Browsing a genre] in main/db/search.ts) returns
 * exactly the tracks, in exactly the order, of the plain filter query it replaced: single- and multi-genre
 * tracks, rows stored before genres were kept as a list, other letter case, genre names that contain the
 * filter, missing tracks, year and caption filters, pages at an offset.
 */
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/db/open';
import { SearchRepo, type SearchQuery } from '../../../main/db/search';
import { BROWSE_ORDER_OF, TracksRepo } from '../../../main/db/tracks';
import { metaOf } from '../../helpers/musiccaps';

let db: Database.Database;

beforeAll(() => {
  db = openDatabase(':memory:');
  const tracks = new TracksRepo(db);
  const genreSets = [['Rock'], ['rock'], ['Rockabilly'], ['Rock', 'Pop'], ['Pop', 'ROCK'], ['Pop'], ['Hard Rock'], [], ['Jazz', 'Blues', 'Rock']];
  const artists = ['Zed', 'able', 'Mo', null, 'Able'];
  let n = 0;
  db.transaction(() => {
    for (let i = 0; i < 400; i++) {
      const genres = genreSets[i % genreSets.length]!;
      const id = tracks.insert(
        { path: `/m/${i % 7}/take-${i}.wav`, folderId: null, sizeBytes: i, mtimeMs: 0, fingerprint: `f${n++}` },
        metaOf({ genres, artist: artists[i % artists.length]!, album: i % 3 ? `Album ${i % 4}` : null, trackNo: (i * 7) % 11, year: 1965 + (i % 30) }),
        0,
      );
      if (i % 4 === 0) db.prepare("INSERT INTO captions (track_id, start_ms, length_ms, model_id, text, created_at) VALUES (?, 0, 1000, 'm', 'x', 0)").run(id);
    }
    // Rows written before genres were a list: genre column only.
    db.prepare("UPDATE tracks SET genres_json = NULL WHERE id % 13 = 0").run();
    db.prepare('UPDATE tracks SET missing_since = 1 WHERE id % 17 = 0').run();
  })();
});
afterAll(() => db.close());

/** The plain query: every present track that passes the filters, sorted in browse order. */
function reference(q: SearchQuery): number[] {
  return db
    .prepare<[{ genre: string; yf: number | null; yt: number | null; cap: number }], number>(
      `SELECT t.id FROM tracks t WHERE t.missing_since IS NULL
         AND (EXISTS (SELECT 1 FROM json_each(t.genres_json) g WHERE g.value = @genre COLLATE NOCASE)
              OR (t.genres_json IS NULL AND t.genre = @genre COLLATE NOCASE))
         AND (@yf IS NULL OR t.year >= @yf) AND (@yt IS NULL OR t.year <= @yt)
         AND (@cap = 0 OR EXISTS (SELECT 1 FROM captions c WHERE c.track_id = t.id))
       ORDER BY ${BROWSE_ORDER_OF('t.')}`,
    )
    .pluck()
    .all({ genre: q.genre!, yf: q.yearFrom ?? null, yt: q.yearTo ?? null, cap: q.captioned ? 1 : 0 });
}

describe('browsing a genre', () => {
  it('returns the tracks and order of the plain filter query, page by page', () => {
    const search = new SearchRepo(db);
    const queries: SearchQuery[] = [
      { text: '', genre: 'rock' },
      { text: '', genre: 'ROCK', yearFrom: 1970, yearTo: 1979 },
      { text: '', genre: 'pop', captioned: true },
      { text: '', genre: 'Blues' },
      { text: '', genre: 'hard rock' },
      { text: '', genre: 'rock; pop' },
      { text: '', genre: 'classical' },
    ];
    let nonEmpty = 0;
    for (const q of queries) {
      const want = reference(q);
      if (want.length) nonEmpty++;
      for (const page of [{ limit: 1000, offset: 0 }, { limit: 7, offset: 0 }, { limit: 7, offset: 20 }]) {
        const got = search.search({ ...q, ...page }).map((h) => h.id);
        expect(got, `${JSON.stringify(q)} ${page.offset}`).toEqual(want.slice(page.offset, page.offset + page.limit));
      }
    }
    expect(nonEmpty).toBeGreaterThan(4);
    // Multi-genre and pre-list rows are among the rock tracks (the union's second arm and legacy rows matter).
    const rock = new Set(reference({ text: '', genre: 'rock' }));
    const multi = db.prepare("SELECT id FROM tracks WHERE instr(genre, ';') > 0 AND genres_json IS NOT NULL AND missing_since IS NULL").pluck().all() as number[];
    expect(multi.some((id) => rock.has(id))).toBe(true);
  });

  it('walks the genre indexes instead of sorting the genre', () => {
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN SELECT 1 FROM tracks t WHERE t.genre = 'rock' COLLATE NOCASE AND instr(t.genre, ';') = 0 AND t.missing_since IS NULL ORDER BY ${BROWSE_ORDER_OF('t.')}`)
      .all()
      .map((r) => (r as { detail: string }).detail)
      .join('\n');
    expect(plan).toContain('tracks_present_genre_browse');
    expect(plan).not.toContain('TEMP B-TREE');
  });
});
