/**
 * @file Search details no other test pinned down: the bm25 column weights decide the order (a title match beats
 * a caption that repeats the word), and the artist filter takes `%`, `_` and `\` literally (LIKE escaping).
 */
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TrackTableRepo } from '../../../main/app/track-table-repo';
import { openDatabase } from '../../../main/db/open';
import { FTS_COLUMN_WEIGHTS, SearchRepo } from '../../../main/db/search';
import { TracksRepo } from '../../../main/db/tracks';
import { metaOf } from '../../helpers/musiccaps';

let db: Database.Database;
let tracks: TracksRepo;
let n = 0;

function add(meta: Parameters<typeof metaOf>[0], caption?: string): number {
  n++;
  const id = tracks.insert({ path: `/m/${n}.wav`, folderId: null, sizeBytes: n, mtimeMs: 0, fingerprint: `f${n}` }, metaOf(meta), 0);
  if (caption !== undefined) {
    db.prepare("INSERT INTO captions (track_id, start_ms, length_ms, model_id, text, created_at) VALUES (?, 0, 10000, 'm', ?, 0)").run(id, caption);
  }
  return id;
}

beforeEach(() => {
  db = openDatabase(':memory:');
  tracks = new TracksRepo(db);
});
afterEach(() => db.close());

describe('bm25 column weights', () => {
  it('rank a title match above a caption that repeats the word', () => {
    const inCaption = add({ title: 'Evening' }, 'zephyr zephyr zephyr');
    const inTitle = add({ title: 'Zephyr of the long evening road home' }, 'a calm piano piece with strings and a slow build');
    expect(FTS_COLUMN_WEIGHTS[0]).toBeGreaterThan(FTS_COLUMN_WEIGHTS[5]);
    // The case depends on the weights: with every column weighted the same, the caption wins.
    const equal = db.prepare("SELECT rowid FROM tracks_fts WHERE tracks_fts MATCH '\"zephyr\"' ORDER BY bm25(tracks_fts, 1, 1, 1, 1, 1, 1)").pluck().all();
    expect(equal).toEqual([inCaption, inTitle]);
    expect(new SearchRepo(db).search({ text: 'zephyr', prefix: false }).map((h) => h.id)).toEqual([inTitle, inCaption]);
    const table = new TrackTableRepo(db);
    const page = table.page({ text: 'zephyr', sort: 'relevance', direction: 'asc', offset: 0, limit: 10, genre: '', captioned: null });
    expect(page.rows.map((r) => r.id)).toEqual([inTitle, inCaption]);
  });
});

describe('artist filter', () => {
  it('takes %, _ and \\ literally', () => {
    const percent = add({ title: 'a', artist: '100% Pure' });
    add({ title: 'b', artist: '100 Pure Hits' });
    const underscore = add({ title: 'c', artist: 'A_B Band' });
    add({ title: 'd', artist: 'A B Band' });
    const backslash = add({ title: 'e', artist: 'Back\\Slash' });
    add({ title: 'f', artist: 'Back Slash' });
    const search = new SearchRepo(db);
    const artist = (a: string): number[] => search.search({ text: '', artist: a, limit: 100 }).map((h) => h.id);
    expect(artist('100%')).toEqual([percent]);
    expect(artist('a_b')).toEqual([underscore]);
    expect(artist('back\\slash')).toEqual([backslash]);
  });
});
