/**
 * @file How search reads its candidates (main/db/search.ts): walks without the tracks table that skip missing
 * tracks (and test genre and has-caption by id), year ranges walked through the index, candidates handed over as one text, and snippets cut in JS from
 * captions with non-ASCII punctuation.
 * Each is compared with the FTS5 ranking it replaces (test/helpers/fts5-search.ts), which joins the tracks table
 * and asks FTS5 for every snippet.
 */
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/db/open';
import { SearchRepo, toFtsQuery, type SearchHit, type SearchQuery } from '../../../main/db/search';
import { captionSnippet } from '../../../main/db/snippet';
import { TracksRepo, type TrackMeta } from '../../../main/db/tracks';
import { Fts5SearchRepo } from '../../helpers/fts5-search';
import { insertMusicCaps, metaOf, readMusicCaps } from '../../helpers/musiccaps';

const SAMPLE = join(import.meta.dirname, '..', '..', 'fixtures', 'musiccaps-sample.csv');

/** Captions whose only non-ASCII characters separate tokens (quotes, dashes, an ellipsis, an emoji). */
const PUNCTUATED = [
  'The song’s piano is soft — a “quiet” ballad… with strings and a choir 🎹 far away.',
  '“Loud drums” open it: the piano answers — then the guitar’s riff. It ends with a fade…',
  'A lo‑fi piano loop – hip-hop drums, vinyl crackle ‘and’ rain; relaxing.',
];

let db: Database.Database;
let tracks: TracksRepo;
const ids: number[] = [];

beforeAll(() => {
  db = openDatabase(':memory:');
  tracks = new TracksRepo(db);
  ids.push(
    ...insertMusicCaps(db, readMusicCaps(SAMPLE), {
      meta: (r, i) => ({ title: i % 9 === 0 ? 'Piano Dreams' : `Clip ${r.ytid}`, artist: `Artist ${i % 7}`, album: `Album ${i % 11}`, genres: ['Jazz'], genre: 'Jazz', year: 1980 + (i % 40) }),
      // Every 7th caption of the last copy is one with non-ASCII punctuation.
      caption: (r, i, copy) => (copy === 2 && i % 7 === 0 ? PUNCTUATED[(i / 7) % PUNCTUATED.length]! : r.caption),
    }),
  );
});
afterAll(() => db.close());

/** A track named `name` (its path /m/<name>.wav) with the tags `meta` and no caption. */
function addTrack(name: string, meta: Partial<TrackMeta>): number {
  return tracks.insert({ path: `/m/${name}.wav`, folderId: null, sizeBytes: 1, mtimeMs: 0, fingerprint: name }, metaOf(meta), 0);
}

/** Deletes tracks a test added. */
function removeTracks(trackIds: readonly number[]): void {
  const del = db.prepare('DELETE FROM tracks WHERE id = ?');
  for (const id of trackIds) del.run(id);
}

const QUERIES: SearchQuery[] = [
  { text: 'piano', prefix: false },
  { text: 'piano' }, // a long prefix: walked by "pian", rows checked
  { text: 'sad piano', prefix: false },
  { text: 'drums', prefix: false },
  { text: 'gui' },
  { text: 'hip-hop', prefix: false },
  { text: 'the', prefix: false },
];

/** The pages of `ours` against those of `reference` for every query, window and page; returns the hits seen. */
function expectSamePages(
  ours: (window: number) => { search(q: SearchQuery): SearchHit[] },
  reference: (window: number) => { search(q: SearchQuery): SearchHit[] },
  queries: readonly SearchQuery[] = QUERIES,
): number[] {
  const seen: number[] = [];
  for (const rankWindow of [5, 40, 500]) {
    const search = ours(rankWindow);
    const anchor = reference(rankWindow);
    for (const q of queries) {
      for (const page of [{ limit: 20, offset: 0 }, { limit: 10, offset: 10 }]) {
        const got = search.search({ ...q, ...page });
        const want = anchor.search({ ...q, ...page });
        expect(got.map((h) => h.id), `${JSON.stringify(q)} window ${rankWindow} offset ${page.offset}`).toEqual(want.map((h) => h.id));
        got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 9));
        seen.push(...got.map((h) => h.id));
      }
    }
  }
  return seen;
}

describe('search walks', () => {
  it('leaves missing tracks out without the tracks table, with the same pages as a walk that joins it', () => {
    // The newest matches of every query, and some older ones, go missing.
    const gone = [...ids.slice(-40).filter((_, i) => i % 3 === 0), ids[5]!, ids[300]!];
    for (const id of gone) tracks.markMissing(id, 1);
    try {
      // The walk that joins the tracks table (more missing tracks than kept in memory) is the reference: it is
      // how every search walked before. (The FTS5 anchor counts its window over missing tracks too.)
      const joined = (rankWindow: number): SearchRepo => new SearchRepo(db, { rankWindow, missingInMemory: 0 });
      const seen = new Set(expectSamePages((rankWindow) => new SearchRepo(db, { rankWindow }), joined));
      expect(seen.size).toBeGreaterThan(50);
      for (const id of gone) expect(seen.has(id), `missing track ${id}`).toBe(false);
      // With nothing missing, both agree with the FTS5 anchor.
      db.prepare('UPDATE tracks SET missing_since = NULL').run();
      expectSamePages((rankWindow) => new SearchRepo(db, { rankWindow }), (rankWindow) => new Fts5SearchRepo(db, { rankWindow }));
    } finally {
      db.prepare('UPDATE tracks SET missing_since = NULL').run();
    }
  });

  it('tests genre and has-caption by track id in the walks without the tracks table, with the same pages as the walk that joins it', () => {
    // The newest tracks match every query by their tags: some have no caption, some other genres (a genre tag
    // of "Jazz" beside a genre list without it is not Jazz); some tracks go missing.
    const kinds: { genre: string | null; genres: string[]; captioned: boolean }[] = [
      ...Array.from({ length: 10 }, () => ({ genre: 'Jazz', genres: ['Jazz'], captioned: false })),
      ...Array.from({ length: 5 }, () => ({ genre: 'Rock', genres: ['Rock'], captioned: true })),
      ...Array.from({ length: 5 }, () => ({ genre: 'Blues; Jazz', genres: ['Blues', 'Jazz'], captioned: true })),
      ...Array.from({ length: 5 }, () => ({ genre: 'Jazz', genres: ['Rock'], captioned: true })),
      ...Array.from({ length: 5 }, () => ({ genre: null, genres: [], captioned: true })),
    ];
    const addCaption = db.prepare("INSERT INTO captions (track_id, start_ms, length_ms, model_id, text, created_at) VALUES (?, 0, 10000, 'test', 'a calm recording', 0)");
    const decoys = kinds.map((k, i) => {
      const id = addTrack(`decoy-${i}`, { title: i % 2 ? 'The sad piano and drums' : 'The guitar of hip-hop', genre: k.genre, genres: k.genres });
      if (k.captioned) addCaption.run(id);
      return id;
    });
    const gone = [ids.at(-3)!, ids.at(-10)!, ids[7]!, decoys[4]!, decoys[16]!];
    for (const id of gone) tracks.markMissing(id, 1);
    try {
      const groups = {
        captioned: QUERIES.map((q) => ({ ...q, captioned: true })),
        jazz: QUERIES.map((q) => ({ ...q, genre: 'jazz' })),
        rockCaptioned: QUERIES.map((q) => ({ ...q, genre: 'ROCK', captioned: true })),
      };
      const queries = Object.values(groups).flat();
      const joined = (rankWindow: number): SearchRepo => new SearchRepo(db, { rankWindow, missingInMemory: 0 });
      const lean = (rankWindow: number): SearchRepo => new SearchRepo(db, { rankWindow });
      const seen = (qs: SearchQuery[]): Set<number> => new Set(expectSamePages(lean, joined, qs));
      const decoysIn = (found: Set<number>): number[] => decoys.flatMap((id, i) => (found.has(id) ? [i] : []));
      const byKind = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
      const captioned = seen(groups.captioned);
      expect(captioned.size).toBeGreaterThan(50);
      expect(decoysIn(captioned).filter((i) => i < 10 || i === 16)).toEqual([]); // no caption, or missing
      const jazz = seen(groups.jazz);
      // Tagged "Jazz" but listed as Rock (20–24): the index says Jazz, the filter says no.
      expect(decoysIn(jazz).every((i) => i < 10 || (i >= 15 && i < 20))).toBe(true);
      expect(decoysIn(jazz)).toEqual(expect.arrayContaining([1, 15, 17]));
      const rock = seen(groups.rockCaptioned);
      // (The "Jazz"-tagged tracks listed as Rock are not found: the genre column, which the MATCH reads, says Jazz.)
      expect(decoysIn(rock).sort((a, b) => a - b)).toEqual(byKind(10, 15));
      for (const found of [captioned, jazz, rock]) for (const id of gone) expect(found.has(id), `missing track ${id}`).toBe(false);
      // With nothing missing, the FTS5 anchor (which reads genres_json) agrees too.
      db.prepare('UPDATE tracks SET missing_since = NULL').run();
      expectSamePages((rankWindow) => new SearchRepo(db, { rankWindow }), (rankWindow) => new Fts5SearchRepo(db, { rankWindow }), queries);
    } finally {
      db.prepare('UPDATE tracks SET missing_since = NULL').run();
      removeTracks(decoys);
    }
  });

  it('sees a track go missing and come back between two searches on the same connection', () => {
    const search = new SearchRepo(db, { rankWindow: 40 });
    const newest = search.search({ text: 'the', prefix: false, limit: 1000 }).map((h) => h.id);
    const victim = newest[0]!;
    tracks.markMissing(victim, 1);
    expect(search.search({ text: 'the', prefix: false, limit: 1000 }).map((h) => h.id)).not.toContain(victim);
    db.prepare('UPDATE tracks SET missing_since = NULL WHERE id = ?').run(victim);
    expect(search.search({ text: 'the', prefix: false, limit: 1000 }).map((h) => h.id)).toContain(victim);
  });

  it('reads a row whose tags hold the separator of the one-text candidates again, and scores it as FTS5 does', () => {
    const id = addTrack('sep', { title: 'Piano\u001fNight', artist: 'Unit\u001fSeparator', genre: 'Jazz', genres: ['Jazz'] });
    try {
      const match = toFtsQuery('piano night', { prefix: false })!;
      const want = db
        .prepare<[string], { id: number; score: number }>(
          'SELECT rowid AS id, bm25(tracks_fts, 10, 6, 4, 4, 2, 1) AS score FROM tracks_fts WHERE tracks_fts MATCH ? ORDER BY score, rowid',
        )
        .all(match);
      const got = new SearchRepo(db).search({ text: 'piano night', prefix: false, limit: 100 });
      expect(got.map((h) => h.id)).toEqual(want.map((r) => r.id));
      expect(got[0]!.id).toBe(id);
      expect(got[0]!.score).toBeCloseTo(want[0]!.score, 9);
      expect(got[0]!.title).toBe('Piano\u001fNight');
    } finally {
      removeTracks([id]);
    }
  });

  it('walks a narrow year range through the index and keeps the same pages as the year filter alone', () => {
    // Tracks whose tags hold a year word the range covers while their year lies outside it (or is unknown): the
    // walk's year clause lets them through, the year filter must still leave them out.
    const decoys = [
      { title: 'Piano remaster', comment: 'remastered 1995', year: 2001 },
      { title: 'Piano outtake', comment: '1996 session', year: null },
      { title: 'Drums 1997', comment: null, year: 1961 },
      { title: 'Piano live', comment: null, year: 1995 },
    ].map((d, i) => addTrack(`year-${i}`, { title: d.title, comment: d.comment, year: d.year, genre: 'Jazz', genres: ['Jazz'] }));
    try {
      const ranges: Pick<SearchQuery, 'yearFrom' | 'yearTo'>[] = [
        { yearFrom: 1995, yearTo: 1995 },
        { yearFrom: 1993, yearTo: 1997 },
        { yearFrom: 1990, yearTo: 1999 }, // ten years: the most walked through the index
        { yearFrom: 1985, yearTo: 2004 }, // wider: left to the filter
        { yearFrom: 2015 }, // open: closed with the library's last year
        { yearTo: 1984 },
        { yearFrom: 1995.5, yearTo: 1995.7 }, // no whole year inside
        { yearFrom: 2090 },
      ];
      let kept = 0;
      for (const rankWindow of [5, 40, 500]) {
        const search = new SearchRepo(db, { rankWindow });
        const anchor = new Fts5SearchRepo(db, { rankWindow });
        for (const range of ranges) {
          for (const q of [...QUERIES, { text: 'piano', genre: 'jazz', prefix: false }, { text: 'vocal', artist: 'artist 3' }]) {
            for (const page of [{ limit: 20, offset: 0 }, { limit: 10, offset: 10 }]) {
              const query = { ...q, ...range, ...page };
              const got = search.search(query);
              const want = anchor.search(query);
              expect(got.map((h) => h.id), `${JSON.stringify(query)} window ${rankWindow}`).toEqual(want.map((h) => h.id));
              got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 9));
              for (const h of got) {
                expect(h.year, JSON.stringify(query)).not.toBeNull();
                expect(h.year!).toBeGreaterThanOrEqual(range.yearFrom ?? -Infinity);
                expect(h.year!).toBeLessThanOrEqual(range.yearTo ?? Infinity);
              }
              kept += got.length;
            }
          }
        }
      }
      expect(kept).toBeGreaterThan(500);
      // The decoy with a matching year is found; the others are not, though their tags hold a year in range.
      const piano1995 = new SearchRepo(db).search({ text: 'piano', prefix: false, yearFrom: 1995, yearTo: 1995, limit: 1000 }).map((h) => h.id);
      expect(piano1995).toContain(decoys[3]);
      expect(piano1995).not.toContain(decoys[0]);
      expect(new SearchRepo(db).search({ text: 'piano', prefix: false, yearFrom: 1993, yearTo: 1997, limit: 1000 }).map((h) => h.id)).not.toContain(decoys[1]);
      expect(new SearchRepo(db).search({ text: 'drums', prefix: false, yearFrom: 1990, yearTo: 1999, limit: 1000 }).map((h) => h.id)).not.toContain(decoys[2]);
    } finally {
      removeTracks(decoys);
    }
  });

  it('cuts snippets of captions with non-ASCII punctuation in JS, the same as FTS5 snippet()', () => {
    const word = (w: string): { tokens: string[]; prefix: boolean; columns: null } => ({ tokens: [w], prefix: false, columns: null });
    for (const caption of PUNCTUATED) expect(captionSnippet(caption, [word('piano')], 5), caption).not.toBeUndefined();
    const search = new SearchRepo(db, { rankWindow: 10_000 });
    const anchor = new Fts5SearchRepo(db, { rankWindow: 10_000 });
    let punctuated = 0;
    for (const text of ['piano', 'drums', 'guitar', 'quiet ballad', 'riff', 'lo fi', 'song', 'rain', 'choir far']) {
      const got = search.search({ text, prefix: false, limit: 1000 });
      const want = anchor.search({ text, prefix: false, limit: 1000 });
      expect(got.map((h) => h.id), text).toEqual(want.map((h) => h.id));
      expect(got.map((h) => h.snippet), text).toEqual(want.map((h) => h.snippet));
      punctuated += got.filter((h) => h.snippet !== null && /[’“”—–…‘🎹‑]/u.test(h.snippet)).length;
    }
    expect(punctuated).toBeGreaterThan(10);
  });
});
