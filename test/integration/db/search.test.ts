/**
 * @file FTS5 search over real MusicCaps captions: hit sets checked against an independent word matcher,
 * column-weighted ranking, prefix matching, filters, and user text that looks like FTS syntax.
 */
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/db/open';
import { SearchRepo } from '../../../main/db/search';
import { TracksRepo } from '../../../main/db/tracks';
import { metaOf, readMusicCaps, type CaptionRow } from '../../helpers/musiccaps';

const SAMPLE = join(import.meta.dirname, '..', '..', 'fixtures', 'musiccaps-sample.csv');
// Genre names that never occur in captions, so the caption oracle stays exact.
const GENRES = ['Zeta', 'Theta', 'Kappa', 'Sigma', 'Omega'];

let db: Database.Database;
let search: SearchRepo;
let rows: CaptionRow[];
const idOf = new Map<number, number>(); // row index → track id
let titled: number;

/** Row indexes whose caption matches `re` (the independent oracle). */
function rowsWhere(re: RegExp): number[] {
  return rows.flatMap((r, i) => (re.test(r.caption) ? [idOf.get(i)!] : [])).sort((a, b) => a - b);
}

function ids(text: string, extra: Partial<Parameters<SearchRepo['search']>[0]> = {}): number[] {
  return search.search({ text, limit: 1000, ...extra }).map((h) => h.id);
}

beforeAll(() => {
  rows = readMusicCaps(SAMPLE);
  db = openDatabase(':memory:');
  const tracks = new TracksRepo(db);
  const caption = db.prepare("INSERT INTO captions (track_id, start_ms, length_ms, model_id, text, created_at) VALUES (?, 0, 10000, 'musiccaps', ?, 0)");
  db.transaction(() => {
    rows.forEach((r, i) => {
      const id = tracks.insert(
        { path: `/m/${r.ytid}.wav`, folderId: null, sizeBytes: 1000 + i, mtimeMs: 0, fingerprint: `fp${i}` },
        metaOf({ title: `Clip ${r.ytid}`, artist: `Artist ${i % 7}`, genres: [GENRES[i % 5]!], genre: GENRES[i % 5]!, year: 1980 + (i % 40) }),
        0,
      );
      idOf.set(i, id);
      caption.run(id, r.caption);
    });
    titled = tracks.insert(
      { path: '/m/titled.wav', folderId: null, sizeBytes: 1, mtimeMs: 0, fingerprint: 'fpt' },
      metaOf({ title: 'Piano Dreams', artist: 'Nobody' }),
      0,
    );
  })();
  search = new SearchRepo(db);
});
afterAll(() => db.close());

describe('search over MusicCaps captions', () => {
  it('uses the sample', () => {
    expect(rows.length).toBe(200);
    expect(rowsWhere(/\bpiano\b/i).length).toBeGreaterThan(10);
  });

  it('finds exactly the captions containing a word (plus the titled track), title match first', () => {
    const hits = search.search({ text: 'piano', prefix: false, limit: 1000 });
    expect(hits[0]!.id).toBe(titled);
    expect(hits.slice(1).map((h) => h.id).sort((a, b) => a - b)).toEqual(rowsWhere(/\bpiano\b/i));
    for (let i = 1; i < hits.length; i++) expect(hits[i]!.score).toBeGreaterThanOrEqual(hits[i - 1]!.score);
    expect(hits[1]!.snippet).toMatch(/\[piano\]/i);
    expect(hits[0]!.snippet).toBeNull();
  });

  it('matches the last word as a prefix while typing', () => {
    expect(ids('pian').sort((a, b) => a - b)).toEqual([...rowsWhere(/\bpian/i), titled].sort((a, b) => a - b));
    expect(ids('pian', { prefix: false })).toEqual([]);
    expect(ids('pian ')).toEqual([]); // a finished word is not a prefix
  });

  it('requires every word, and keeps hyphenated and quoted words together', () => {
    expect(ids('female vocal').sort((a, b) => a - b)).toEqual(rowsWhere(/(?=.*\bfemale\b)(?=.*\bvocal)/is));
    const hipHop = ids('hip-hop').sort((a, b) => a - b);
    expect(hipHop.length).toBeGreaterThan(0);
    expect(hipHop).toEqual(rowsWhere(/\bhip[^\p{L}\p{N}]+hop/iu));
    expect(ids('"acoustic guitar"', { prefix: false }).sort((a, b) => a - b)).toEqual(rowsWhere(/\bacoustic[^\p{L}\p{N}]+guitar\b/iu));
  });

  it('treats FTS operators and syntax in user text as plain words', () => {
    expect(ids('and', { prefix: false }).sort((a, b) => a - b)).toEqual(rowsWhere(/\band\b/i));
    expect(ids('piano OR drums', { prefix: false }).sort((a, b) => a - b)).toEqual(rowsWhere(/(?=.*\bpiano\b)(?=.*\bor\b)(?=.*\bdrums\b)/is));
    for (const text of ['"', "'", '-', '*', '^', 'NOT', 'NEAR(piano', 'title:piano', 'piano"guitar', '(', ')', 'a AND', '🎹', '  ', 'Ünïcode', "rock'n'roll", 'c++ -x']) {
      expect(() => search.search({ text }), text).not.toThrow();
    }
    expect(ids('title:piano', { prefix: false }).sort((a, b) => a - b)).toEqual(rowsWhere(/\btitle\W+piano\b/i));
  });

  it('filters by genre, artist, year range and caption presence, alone or with text', () => {
    const jazz = search.search({ text: '', genre: 'theta', limit: 1000 });
    expect(jazz.length).toBe(40);
    expect(jazz.every((h) => h.genre === 'Theta')).toBe(true);
    const ninetiesPiano = search.search({ text: 'piano', yearFrom: 1990, yearTo: 1999, prefix: false, limit: 1000 });
    expect(ninetiesPiano.length).toBeGreaterThan(0);
    expect(ninetiesPiano.every((h) => h.year !== null && h.year >= 1990 && h.year <= 1999)).toBe(true);
    expect(ninetiesPiano.length).toBe(rowsWhere(/\bpiano\b/i).filter((id) => {
      const y = db.prepare('SELECT year FROM tracks WHERE id = ?').pluck().get(id) as number;
      return y >= 1990 && y <= 1999;
    }).length);
    expect(search.search({ text: '', artist: 'artist 3', limit: 1000 }).every((h) => h.artist === 'Artist 3')).toBe(true);
    const genreOf = db.prepare('SELECT genre FROM tracks WHERE id = ?').pluck();
    const artistOf = db.prepare('SELECT artist FROM tracks WHERE id = ?').pluck();
    expect(ids('piano', { genre: 'THETA', prefix: false }).sort((a, b) => a - b)).toEqual(
      rowsWhere(/\bpiano\b/i).filter((id) => genreOf.get(id) === 'Theta'),
    );
    expect(ids('piano', { artist: 'artist 4', prefix: false }).sort((a, b) => a - b)).toEqual(
      rowsWhere(/\bpiano\b/i).filter((id) => artistOf.get(id) === 'Artist 4'),
    );
    expect(ids('piano', { genre: 'Thet', prefix: false })).toEqual([]); // a genre filter is exact
    expect(ids('piano', { captioned: true, prefix: false })).not.toContain(titled);
    expect(() => search.search({ text: '', yearFrom: 2000, yearTo: 1990 })).toThrow(/first year must not be after/);
  });

  it('ranks tag matches first and the newest matches by bm25 when a query matches more than the rank window', () => {
    const bounded = new SearchRepo(db, { rankWindow: 30 });
    const all = rowsWhere(/\bthe\b/i);
    expect(all.length).toBeGreaterThan(60);
    const pages = [0, 10, 20].map((offset) => bounded.search({ text: 'the', prefix: false, limit: 10, offset }));
    const got = pages.flat().map((h) => h.id);
    expect(got.length).toBe(30);
    expect(new Set(got).size).toBe(30); // pages inside the window never repeat a hit
    // Exactly the 30 newest matches, ranked by bm25 (ascending scores).
    expect([...got].sort((a, b) => a - b)).toEqual(all.slice(-30));
    const scores = pages.flat().map((h) => h.score);
    expect(scores).toEqual([...scores].sort((a, b) => a - b));
    // A title match is found however old it is: rename the oldest captioned track.
    const oldest = idOf.get(0)!;
    db.prepare("UPDATE tracks SET title = 'Piano Oldest' WHERE id = ?").run(oldest);
    const piano = new SearchRepo(db, { rankWindow: 3 }).search({ text: 'piano', prefix: false, limit: 3 }).map((h) => h.id);
    expect(piano.slice(0, 2).sort((a, b) => a - b)).toEqual([oldest, titled].sort((a, b) => a - b));
    db.prepare('UPDATE tracks SET title = ? WHERE id = ?').run(`Clip ${rows[0]!.ytid}`, oldest);
  });

  it('waits for a second character before matching a prefix', () => {
    expect(search.search({ text: 'p', limit: 1000 }).length).toBe(201); // no text: every track, by artist
    expect(ids('piano d').sort((a, b) => a - b)).toEqual(ids('piano', { prefix: false }).sort((a, b) => a - b));
  });

  it('hides missing tracks and sees caption edits at once', () => {
    const target = idOf.get(0)!;
    db.prepare('UPDATE tracks SET missing_since = 1 WHERE id = ?').run(target);
    expect(ids('', { limit: 1000 })).not.toContain(target);
    db.prepare('UPDATE tracks SET missing_since = NULL WHERE id = ?').run(target);
    db.prepare("UPDATE captions SET text = 'zxqv marimba' WHERE track_id = ?").run(target);
    expect(ids('zxqv')).toEqual([target]);
  });
});
