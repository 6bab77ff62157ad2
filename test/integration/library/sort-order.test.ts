/**
 * @file Sort order of the library: tagged tracks by artist, album, disc and track; untagged ones after them in
 * the natural order of their file names (not in the order they were scanned); album order is album, disc,
 * track. Checked for the CLI's list (TracksRepo.list), search browsing and the Library table, with the query
 * plans still served by indexes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrackTableRepo } from '../../../main/app/track-table-repo';
import { openDatabase } from '../../../main/db/open';
import { naturalSortKey } from '../../../main/db/natural-key';
import { LibraryService } from '../../../main/library/library-service';
import { makeAudio, makeWav, tempDir } from '../../helpers/library-audio';

let tmp: ReturnType<typeof tempDir>;
let db: Database.Database;
let lib: LibraryService;
let music: string;

const base = (p: string): string => p.split('/').at(-1)!;

beforeAll(async () => {
  tmp = tempDir('musilingo-sort-');
  music = join(tmp.dir, 'music');
  mkdirSync(join(music, 'takes'), { recursive: true });
  mkdirSync(join(music, 'album'), { recursive: true });
  // File names in the opposite order of disc and track, so a path order would be wrong.
  const album = { artist: 'Ann', album: 'Rivers' };
  await Promise.all([
    makeAudio(join(music, 'album', 'a.flac'), 'flac', { ...album, title: 'Last', disc: '2', track: '3' }, { freqHz: 300 }),
    makeAudio(join(music, 'album', 'b.flac'), 'flac', { ...album, title: 'Middle', disc: '2', track: '1' }, { freqHz: 310 }),
    makeAudio(join(music, 'album', 'c.flac'), 'flac', { ...album, title: 'Second', disc: '1', track: '10' }, { freqHz: 320 }),
    makeAudio(join(music, 'album', 'd.flac'), 'flac', { ...album, title: 'First', disc: '1', track: '9' }, { freqHz: 330 }),
  ]);
  db = openDatabase(':memory:');
  lib = new LibraryService(db, { progressIntervalMs: 0 });
  // Untagged takes scanned out of order: take-0005 and take-10 get lower ids than take-0004 and take-9.
  writeFileSync(join(music, 'takes', 'take-0005.wav'), makeWav({ freqHz: 500 }));
  writeFileSync(join(music, 'takes', 'take-10.wav'), makeWav({ freqHz: 510 }));
  await lib.scan(music);
  writeFileSync(join(music, 'takes', 'take-0004.wav'), makeWav({ freqHz: 520 }));
  writeFileSync(join(music, 'takes', 'take-9.wav'), makeWav({ freqHz: 530 }));
  await lib.scan(music);
}, 60_000);
afterAll(() => {
  db?.close();
  tmp?.cleanup();
});

const TAKES = ['take-0004.wav', 'take-0005.wav', 'take-9.wav', 'take-10.wav'];
const ALBUM = ['d.flac', 'c.flac', 'b.flac', 'a.flac']; // 1/9, 1/10, 2/1, 2/3

describe('sort order', () => {
  it('natural sort keys', () => {
    const sorted = ['take-10.wav', 'Take-9.wav', 'take-0005.wav', 'take-0004.wav'].sort((a, b) => (naturalSortKey(a) < naturalSortKey(b) ? -1 : 1));
    expect(sorted).toEqual(['take-0004.wav', 'take-0005.wav', 'Take-9.wav', 'take-10.wav']);
    expect(naturalSortKey('/m/a/z.wav') < naturalSortKey('/m/a b/a.wav')).toBe(true); // a folder before a longer name
  });

  it('list: tagged by artist, album, disc, track; untagged after them in natural order', () => {
    expect(lib.tracks.list().map((t) => base(t.path))).toEqual([...ALBUM, ...TAKES]);
  });

  it('search browsing uses the same order', () => {
    expect(lib.search.search({ text: '', limit: 50 }).map((t) => base(t.path))).toEqual([...ALBUM, ...TAKES]);
  });

  it('Library table: title, artist and album sorts put untagged rows last, naturally ordered; album by disc and track', () => {
    const table = new TrackTableRepo(db);
    const page = (sort: 'title' | 'artist' | 'album', direction: 'asc' | 'desc' = 'asc'): string[] =>
      table.page({ text: '', sort, direction, offset: 0, limit: 50, genre: '', captioned: null }).rows.map((r) => base(r.path));
    expect(page('album')).toEqual([...ALBUM, ...TAKES]);
    expect(page('artist')).toEqual([...ALBUM, ...TAKES]);
    expect(page('title')).toEqual(['d.flac', 'a.flac', 'b.flac', 'c.flac', ...TAKES]); // First, Last, Middle, Second
    expect(page('album', 'desc')).toEqual([...ALBUM, ...TAKES].reverse());
  });

  it('the table and browse orders are served by indexes (no sort of the whole table)', () => {
    const plans = [
      "SELECT t.id FROM tracks t WHERE t.missing_since IS NULL ORDER BY (t.album IS NULL), t.album COLLATE NOCASE, t.disc_no, t.track_no, t.name_key, t.id LIMIT 10",
      "SELECT t.id FROM tracks t WHERE t.missing_since IS NULL ORDER BY (t.title IS NULL) DESC, t.title COLLATE NOCASE DESC, t.name_key DESC, t.id DESC LIMIT 10",
      "SELECT * FROM tracks ORDER BY (coalesce(album_artist, artist) IS NULL), coalesce(album_artist, artist) COLLATE NOCASE, album COLLATE NOCASE, disc_no, track_no, name_key LIMIT 10",
    ].map((sql) => db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((r) => (r as { detail: string }).detail).join('; '));
    for (const p of plans) expect(p).not.toMatch(/TEMP B-TREE/);
  });
});
