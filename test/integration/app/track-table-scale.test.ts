/**
 * @file The library table at 1,000,000 tracks (migration 0120, main/app/track-table-repo.ts): the unfiltered
 * total comes from the trigger-kept count and the genre filter from track_genres, not from a walk of every
 * track (EXPLAIN QUERY PLAN of the statements a page runs), and both answer exactly what the old queries
 * answered: the total through adds, deletes, missing and found tracks; the genre filter on the genre tag or
 * any genres_json value, case-insensitively, after tag edits and deletes.
 */
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TrackQuery } from '../../../preload/contract';
import { DEEP_OFFSET } from '../../../main/app/track-order-cache';
import { TrackTableRepo } from '../../../main/app/track-table-repo';
import { openDatabase } from '../../../main/db/open';

let db: Database.Database;
let n = 0;

function addTrack(t: { title: string; genre?: string | null; genres?: unknown[]; missing?: boolean }): number {
  n++;
  return (
    db
      .prepare(
        `INSERT INTO tracks (path, size_bytes, mtime_ms, fingerprint, title, genre, genres_json, added_at, updated_at, missing_since)
         VALUES (@path, 1, 1, @path, @title, @genre, @genres, 1, 1, @missing) RETURNING id`,
      )
      .get({ path: `/added/${n}.mp3`, title: t.title, genre: t.genre ?? null, genres: t.genres ? JSON.stringify(t.genres) : null, missing: t.missing ? 5 : null }) as {
      id: number;
    }
  ).id;
}

const q = (over: Partial<TrackQuery> = {}): TrackQuery => ({ text: '', sort: 'title', direction: 'asc', offset: 0, limit: 100, genre: '', captioned: null, ...over });
const count = (): number => (db.prepare('SELECT count(*) AS n FROM tracks WHERE missing_since IS NULL').get() as { n: number }).n;
/** The old genre filter, as a reference: the genre tag or any genres_json value, ignoring case. */
const oldGenre = (genre: string): number[] =>
  (
    db
      .prepare(
        `SELECT t.id FROM tracks t WHERE t.missing_since IS NULL AND (t.genre = @genre COLLATE NOCASE
           OR EXISTS (SELECT 1 FROM json_each(t.genres_json) g WHERE g.value = @genre COLLATE NOCASE)) ORDER BY t.title`,
      )
      .all({ genre }) as { id: number }[]
  ).map((r) => r.id);

/** The SQL of every statement `fn` prepares on `db` (the repo prepares its statements lazily or in its constructor). */
function preparedBy(fn: () => void): string[] {
  const seen: string[] = [];
  const prepare = db.prepare.bind(db);
  const spy = (sql: string): Database.Statement => {
    seen.push(sql);
    return prepare(sql);
  };
  (db as unknown as { prepare: typeof spy }).prepare = spy;
  try {
    fn();
  } finally {
    (db as unknown as { prepare: typeof prepare }).prepare = prepare;
  }
  return seen;
}

function planOf(sql: string, bind: Record<string, unknown>): string[] {
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(bind) as { detail: string }[]).map((r) => r.detail);
}

beforeEach(() => {
  db = openDatabase(':memory:');
});
afterEach(() => db.close());

describe('library table at scale', () => {
  it('keeps the unfiltered total through adds, deletes, missing and found tracks without counting the table', () => {
    const ids = Array.from({ length: 6 }, (_, i) => addTrack({ title: `t${i}` }));
    addTrack({ title: 'gone', missing: true });
    let repo!: TrackTableRepo;
    const sqls = preparedBy(() => {
      repo = new TrackTableRepo(db);
      repo.page(q());
    });
    const check = (): void => expect(repo.page(q()).total).toBe(count());
    check();
    expect(repo.page(q()).total).toBe(6);
    db.prepare('DELETE FROM tracks WHERE id = ?').run(ids[0]);
    check();
    db.prepare('UPDATE tracks SET missing_since = 9 WHERE id IN (?, ?)').run(ids[1], ids[2]);
    check();
    db.prepare('UPDATE tracks SET missing_since = 10 WHERE id = ?').run(ids[1]); // missing stays missing
    check();
    db.prepare('UPDATE tracks SET missing_since = NULL WHERE id = ?').run(ids[2]); // found again
    check();
    db.prepare('DELETE FROM tracks WHERE missing_since IS NOT NULL').run();
    check();
    expect(repo.page(q()).total).toBe(4);

    // The total the table shows for every page is one row of library_counts, not a walk of tracks.
    const totals = sqls.filter((s) => /count|library_counts/i.test(s) && !/@match|@genre/.test(s));
    expect(totals.length).toBeGreaterThan(0);
    for (const s of totals) {
      const plan = planOf(s, {}).join(' | ');
      expect(plan).not.toMatch(/SCAN (t|tracks)\b/);
      expect(plan).toMatch(/library_counts/);
    }
  });

  it('filters by the genre tag or any genre in genres_json, ignoring case, through the track_genres index', () => {
    const a = addTrack({ title: 'a', genre: 'Jazz' });
    const b = addTrack({ title: 'b', genre: 'Rock', genres: ['Rock', 'jazz'] });
    const c = addTrack({ title: 'c', genre: null, genres: ['JAZZ', 'Jazz', 7] }); // duplicate and non-text values
    addTrack({ title: 'd', genre: 'Rock' });
    addTrack({ title: 'e', genre: 'Jazz', missing: true });
    addTrack({ title: 'f', genres: [42] });
    let repo!: TrackTableRepo;
    const sqls = preparedBy(() => {
      repo = new TrackTableRepo(db);
      repo.page(q({ genre: 'jazz' }));
    });
    const ids = (genre: string): number[] => repo.page(q({ genre })).rows.map((r) => r.id);
    expect(ids('jazz')).toEqual([a, b, c]);
    expect(ids('jazz')).toEqual(oldGenre('jazz'));
    expect(repo.page(q({ genre: 'JAZZ' })).total).toBe(3);
    expect(ids('42')).toEqual([]); // only text values are genres, as before
    expect(ids('42')).toEqual(oldGenre('42'));

    // Tag edits and deletes keep it in step (triggers of 0120).
    db.prepare("UPDATE tracks SET genre = 'Blues', genres_json = NULL WHERE id = ?").run(a);
    db.prepare('UPDATE tracks SET genres_json = ? WHERE id = ?').run(JSON.stringify(['Rock']), b);
    expect(ids('jazz')).toEqual([c]);
    expect(ids('blues')).toEqual([a]);
    expect(ids('rock')).toEqual(oldGenre('rock'));
    db.prepare('DELETE FROM tracks WHERE id = ?').run(c);
    expect(repo.page(q({ genre: 'jazz' }))).toMatchObject({ total: 0, rows: [] });
    expect(db.prepare('SELECT count(*) AS n FROM track_genres WHERE track_id = ?').get(c)).toEqual({ n: 0 });

    // Counting and paging a genre look the genre up in track_genres; no statement parses every track's JSON.
    const genreSqls = sqls.filter((s) => s.includes('@genre'));
    expect(genreSqls.length).toBeGreaterThan(0);
    for (const s of genreSqls) {
      const plan = planOf(s, { genre: 'jazz', captioned: null, match: null, limit: 100, offset: 0 }).join(' | ');
      expect(plan).toMatch(/SEARCH tg USING (COVERING INDEX|PRIMARY KEY)[^|]*genre=/);
      expect(plan).not.toMatch(/json_each|VIRTUAL TABLE INDEX 1:/);
    }
  });

  it('serves deep pages from the cached order while no track changed, and the same rows as the OFFSET query', () => {
    const total = 2 * DEEP_OFFSET + 1200;
    db.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO tracks (path, size_bytes, mtime_ms, fingerprint, title, genre, added_at, updated_at)
       SELECT '/m/' || i || '.mp3', 1, 1, 'fp' || i, CASE WHEN i % 50 = 0 THEN NULL ELSE 'Song ' || ((i * 7919) % 1000) END,
              CASE i % 2 WHEN 0 THEN 'Jazz' ELSE 'Rock' END, 1, 1 FROM n`,
    ).run(total);
    let repo!: TrackTableRepo;
    const deep = q({ offset: DEEP_OFFSET + 100, limit: 200 });
    const sqls = preparedBy(() => {
      repo = new TrackTableRepo(db);
      repo.ids(q());
    });
    const offsetQuery = repo.ids(deep); // the first deep request after a change runs the OFFSET query
    expect(offsetQuery).toHaveLength(200);
    const wholeOrder = preparedBy(() => expect(repo.ids(deep)).toEqual(offsetQuery)); // unchanged: the order is built
    expect(wholeOrder.some((s) => !/LIMIT/.test(s))).toBe(true);
    expect(preparedBy(() => expect(repo.ids(deep)).toEqual(offsetQuery))).toEqual([]); // and then reused
    expect(sqls.every((s) => /LIMIT/.test(s) || !/ORDER BY/.test(s))).toBe(true);

    // A write to tracks (any connection: the version is in the database) makes the order stale at once.
    const reference = (page: TrackQuery): number[] => new TrackTableRepo(db).ids(page); // a first request: OFFSET
    const moved = offsetQuery[0]!;
    db.prepare("UPDATE tracks SET title = 'zzz last' WHERE id = ?").run(moved);
    const afterEdit = repo.ids(deep);
    expect(afterEdit).not.toEqual(offsetQuery);
    expect(afterEdit).toEqual(reference(deep));
    expect(repo.ids(deep)).toEqual(afterEdit); // rebuilt from the new data
    expect(repo.ids(deep)).toEqual(afterEdit);

    // Descending and genre-filtered deep pages agree with their OFFSET query too.
    for (const over of [{ direction: 'desc' as const }, { genre: 'jazz', offset: DEEP_OFFSET / 2 - 50 }, { genre: 'jazz', offset: DEEP_OFFSET + 10 }]) {
      const page = q({ ...deep, ...over });
      const want = reference(page);
      expect(want.length).toBeGreaterThan(0);
      for (let i = 0; i < 3; i++) expect(repo.ids(page)).toEqual(want);
    }
    expect(repo.page(q({ offset: DEEP_OFFSET + 550 })).rows.map((r) => r.id)).toEqual(repo.ids(q({ offset: DEEP_OFFSET + 550 })));

    // A genre's pages take their total from its cached order: still exact, and current after a change.
    const jazzCount = (): number => oldGenre('jazz').length;
    for (let i = 0; i < 3; i++) expect(repo.page(q({ genre: 'Jazz' })).total).toBe(jazzCount());
    addTrack({ title: 'new jazz', genre: 'JAZZ' });
    for (let i = 0; i < 3; i++) expect(repo.page(q({ genre: 'Jazz' })).total).toBe(jazzCount());
    expect(repo.page(q({ genre: 'Jazz', offset: jazzCount() - 1 })).rows).toHaveLength(1);
  });

  it('lists the genre menu as before (list values, or the tag without a list) without reading every track', () => {
    addTrack({ title: 'a', genre: 'Rock; Blues', genres: ['Rock', 'Blues'] });
    addTrack({ title: 'b', genre: 'Jazz' });
    addTrack({ title: 'c', genre: 'Folk', genres: ['folk'] }); // the tag is the list value, in other case
    addTrack({ title: 'd', genre: 'Ambient', missing: true });
    addTrack({ title: 'e', genres: ['Zydeco', 3] });
    const old = (): string[] =>
      (
        db
          .prepare(
            `SELECT DISTINCT genre FROM (
               SELECT g.value AS genre FROM tracks t, json_each(t.genres_json) g WHERE t.missing_since IS NULL
               UNION ALL SELECT t.genre FROM tracks t WHERE t.genres_json IS NULL AND t.genre IS NOT NULL AND t.missing_since IS NULL)
             WHERE genre <> '' AND typeof(genre) = 'text' ORDER BY genre COLLATE NOCASE`,
          )
          .all() as { genre: string }[]
      ).map((r) => r.genre);
    let repo!: TrackTableRepo;
    const sqls = preparedBy(() => (repo = new TrackTableRepo(db)));
    expect(repo.genres()).toEqual(['Blues', 'folk', 'Jazz', 'Rock', 'Zydeco']);
    expect(repo.genres()).toEqual(old());
    db.prepare("UPDATE tracks SET missing_since = NULL WHERE title = 'd'").run();
    db.prepare("UPDATE tracks SET genres_json = NULL, genre = 'Jazz' WHERE title = 'e'").run();
    expect(repo.genres()).toEqual(old());
    expect(repo.genres()).toEqual(['Ambient', 'Blues', 'folk', 'Jazz', 'Rock']);

    const menu = sqls.find((s) => s.includes('WITH RECURSIVE'))!;
    const plan = planOf(menu, {}).join(' | ');
    expect(plan).not.toMatch(/SCAN (t|tracks)\b|json_each/);
  });
});
