/**
 * @file The library table's read model on real SQLite: total counts, every sort order with unknown tags last,
 * stable paging, genre and caption filters, full-text search with relevance, the caption column (user edits
 * win) and the caption state from pending jobs. Also the settings repository (migration 0050).
 */
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TrackQuery } from '../../../preload/contract';
import { createSettingsStore, DEFAULT_WINDOW_STATE } from '../../../main/app/settings';
import { TrackTableRepo } from '../../../main/app/track-table-repo';
import { upsertModelCaption, upsertUserCaption } from '../../../main/db/captions';
import { enqueueJob } from '../../../main/db/jobs';
import { openDatabase } from '../../../main/db/open';

let db: Database.Database;

function addTrack(t: { title: string | null; artist?: string; genre?: string; genres?: string[]; year?: number; durationMs?: number; missing?: boolean }): number {
  const r = db
    .prepare(
      `INSERT INTO tracks (path, size_bytes, mtime_ms, fingerprint, title, artist, genre, genres_json, year, duration_ms, added_at, updated_at, missing_since)
       VALUES (@path, 1, 1, @path, @title, @artist, @genre, @genres, @year, @dur, 1, 1, @missing) RETURNING id`,
    )
    .get({
      path: `/m/${Math.random().toString(36).slice(2)}/${t.title ?? 'untitled'}.mp3`,
      title: t.title,
      artist: t.artist ?? null,
      genre: t.genre ?? null,
      genres: t.genres ? JSON.stringify(t.genres) : null,
      year: t.year ?? null,
      dur: t.durationMs ?? null,
      missing: t.missing ? 5 : null,
    }) as { id: number };
  return r.id;
}

const q = (over: Partial<TrackQuery> = {}): TrackQuery => ({ text: '', sort: 'title', direction: 'asc', offset: 0, limit: 100, genre: '', captioned: null, ...over });

beforeEach(() => {
  db = openDatabase(':memory:');
});
afterEach(() => db.close());

describe('TrackTableRepo', () => {
  it('sorts by any column (unknown values first ascending, last descending), ties by id', () => {
    const a = addTrack({ title: 'beta', artist: 'Zed', year: 1999 });
    const b = addTrack({ title: 'Alpha', artist: 'amy', year: null as unknown as number });
    const c = addTrack({ title: 'gamma', artist: 'Amy', year: 2001 });
    addTrack({ title: 'gone', missing: true });
    const repo = new TrackTableRepo(db);
    expect(repo.page(q()).rows.map((r) => r.id)).toEqual([b, a, c]);
    expect(repo.page(q({ direction: 'desc' })).rows.map((r) => r.id)).toEqual([c, a, b]);
    expect(repo.page(q({ sort: 'artist' })).rows.map((r) => r.id)).toEqual([b, c, a]);
    expect(repo.page(q({ sort: 'year' })).rows.map((r) => r.id)).toEqual([b, a, c]);
    expect(repo.page(q({ sort: 'year', direction: 'desc' })).rows.map((r) => r.id)).toEqual([c, a, b]);
    expect(repo.page(q()).total).toBe(3);
  });

  it('pages without gaps or overlaps and reports the total', () => {
    for (let i = 0; i < 25; i++) addTrack({ title: `Song ${String(i).padStart(2, '0')}` });
    const repo = new TrackTableRepo(db);
    const pages = [0, 10, 20].map((offset) => repo.page(q({ offset, limit: 10 })));
    expect(pages.map((p) => p.total)).toEqual([25, 25, 25]);
    const titles = pages.flatMap((p) => p.rows.map((r) => r.title));
    expect(titles).toHaveLength(25);
    expect(new Set(titles).size).toBe(25);
    expect(titles[24]).toBe('Song 24');
  });

  it('filters by any of a track\'s genres and by caption presence; search narrows and ranks', () => {
    const rock = addTrack({ title: 'Loud Road', genre: 'Rock; Blues', genres: ['Rock', 'Blues'] });
    const jazz = addTrack({ title: 'Blue Night', genre: 'Jazz', genres: ['Jazz'] });
    const plain = addTrack({ title: 'Untagged' });
    upsertModelCaption(db, { trackId: jazz, startMs: 0, lengthMs: 30000, modelId: 'm', adapterId: '', text: 'a slow saxophone over soft piano' });
    const repo = new TrackTableRepo(db);
    expect(repo.page(q({ genre: 'blues' })).rows.map((r) => r.id)).toEqual([rock]);
    expect(repo.page(q({ captioned: true })).rows.map((r) => r.id)).toEqual([jazz]);
    expect(repo.page(q({ captioned: false })).rows.map((r) => r.id).sort()).toEqual([rock, plain].sort());
    const hits = repo.page(q({ text: 'piano', sort: 'relevance' }));
    expect(hits).toMatchObject({ total: 1, rows: [{ id: jazz, caption: 'a slow saxophone over soft piano', captionState: 'done' }] });
    expect(repo.page(q({ text: 'blu' })).rows.map((r) => r.id).sort()).toEqual([rock, jazz].sort());
    expect(repo.page(q({ text: '"' })).total).toBe(0);
    expect(repo.genres()).toEqual(['Blues', 'Jazz', 'Rock']);
  });

  it('shows the user\'s edit over the model caption, and pending caption jobs as queued or running', () => {
    const t = addTrack({ title: 'Edited' });
    const u = addTrack({ title: 'Waiting' });
    upsertModelCaption(db, { trackId: t, startMs: 0, lengthMs: 30000, modelId: 'm', adapterId: '', text: 'model words' });
    upsertUserCaption(db, { trackId: t, startMs: 0, lengthMs: 30000, modelId: 'm', adapterId: '', text: 'my own words' });
    const job = enqueueJob(db, { kind: 'caption-one', payload: { trackId: u }, dedupeKey: `caption:${u}:m::default` });
    const repo = new TrackTableRepo(db);
    const rows = repo.page(q()).rows;
    expect(rows.find((r) => r.id === t)).toMatchObject({ caption: 'my own words', captionState: 'done' });
    expect(rows.find((r) => r.id === u)).toMatchObject({ caption: '', captionState: 'queued' });
    db.prepare("UPDATE jobs SET state = 'running' WHERE id = ?").run(job.id);
    expect(repo.captionState(u, false)).toBe('running');
    db.prepare("UPDATE jobs SET state = 'done' WHERE id = ?").run(job.id);
    expect(repo.captionState(u, false)).toBe('none');
    // A job for track 1 must not be mistaken for track 10's (the key range is exact).
    expect(repo.captionState(Number(`${u}0`), false)).toBe('none');
    expect(repo.rowsByIds([u, 999, t]).map((r) => r.id)).toEqual([u, t]);
  });

  it('uses the file name when a track has no title', () => {
    addTrack({ title: null });
    expect(new TrackTableRepo(db).page(q()).rows[0]?.title).toBe('untitled.mp3');
  });
});

describe('settings store', () => {
  it('keeps the theme, the window state and the active model, and falls back on bad stored values', () => {
    const s = createSettingsStore(db);
    expect(s.get()).toEqual({ theme: 'system' });
    expect(s.update({ theme: 'dark' })).toEqual({ theme: 'dark' });
    expect(createSettingsStore(db).get()).toEqual({ theme: 'dark' });
    expect(s.getWindowState()).toEqual(DEFAULT_WINDOW_STATE);
    s.setWindowState({ x: 10, y: 20, width: 900, height: 700, isMaximized: true });
    expect(s.getWindowState()).toEqual({ x: 10, y: 20, width: 900, height: 700, isMaximized: true });
    expect(() => s.setWindowState({ x: 0, y: 0, width: 5, height: 5, isMaximized: false })).toThrow();
    db.prepare("UPDATE app_settings SET value = '{not json' WHERE key = 'window'").run();
    expect(s.getWindowState()).toEqual(DEFAULT_WINDOW_STATE);
    db.prepare(`UPDATE app_settings SET value = '{"theme":"neon"}' WHERE key = 'settings'`).run();
    expect(s.get()).toEqual({ theme: 'system' });
    expect(s.getActiveModel()).toBeNull();
    s.setActiveModel('musilingo-long');
    expect(s.getActiveModel()).toBe('musilingo-long');
    s.setActiveModel(null);
    expect(s.getActiveModel()).toBeNull();
  });
});
