/**
 * @file Track ids are never handed out twice (migration 0052: AUTOINCREMENT), and the rebuild keeps every id,
 * child row, index and search trigger of an existing library.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../../main/db/migrate';
import { MIGRATIONS } from '../../../main/db/migrations';

function addTrack(db: Database.Database, path: string, title: string): number {
  return db
    .prepare<[string, string], { id: number }>(
      `INSERT INTO tracks (path, size_bytes, mtime_ms, fingerprint, title, added_at, updated_at)
       VALUES (?, 1, 0, 'f', ?, 0, 0) RETURNING id`,
    )
    .get(path, title)!.id;
}

describe('track ids', () => {
  it('a purged track’s id is never given to a new file', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    migrate(db, MIGRATIONS);
    const ids = ['/m/a.flac', '/m/b.flac', '/m/c.flac'].map((p) => addTrack(db, p, 'x'));
    db.prepare('DELETE FROM tracks WHERE id IN (?, ?)').run(ids[1], ids[2]);
    const next = addTrack(db, '/m/d.flac', 'new');
    expect(next).toBe(ids[2]! + 1);
    db.close();
  });

  it('upgrading an existing library keeps ids, captions, windows, questions and search', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    migrate(db, MIGRATIONS, 51);
    db.exec(`INSERT INTO folders (id, path, added_at) VALUES (1, '/m', 0);
             INSERT INTO tracks (id, folder_id, path, size_bytes, mtime_ms, fingerprint, title, artist, added_at, updated_at)
             VALUES (7, 1, '/m/a.flac', 1, 0, 'f', 'Blue Morning', 'Someone', 0, 0),
                    (42, 1, '/m/b.flac', 1, 0, 'g', 'Red Night', 'Other', 0, 0);
             INSERT INTO captions (track_id, start_ms, length_ms, model_id, text, created_at)
             VALUES (7, 0, 30000, 'm', 'a calm piano piece', 0);
             INSERT INTO windows (track_id, model_id, start_ms, length_ms, rows, dim, embedding, created_at)
             VALUES (42, 'm', 0, 5000, 1, 1, x'00000000', 0);
             INSERT INTO qa_messages (track_id, thread_id, role, text, created_at) VALUES (42, 't', 'user', 'why?', 0);`);
    const indexesBefore = db.prepare("SELECT name, sql FROM sqlite_schema WHERE tbl_name = 'tracks' AND type IN ('index', 'trigger') ORDER BY name").all();
    migrate(db, MIGRATIONS, 52);
    expect(db.prepare("SELECT name, sql FROM sqlite_schema WHERE tbl_name = 'tracks' AND type IN ('index', 'trigger') ORDER BY name").all()).toEqual(indexesBefore);
    migrate(db, MIGRATIONS);
    expect(db.prepare('SELECT id FROM tracks ORDER BY id').pluck().all()).toEqual([7, 42]);
    expect(db.prepare('SELECT count(*) FROM captions WHERE track_id = 7').pluck().get()).toBe(1);
    expect(db.prepare('SELECT count(*) FROM windows WHERE track_id = 42').pluck().get()).toBe(1);
    expect(db.prepare('SELECT count(*) FROM qa_messages WHERE track_id = 42').pluck().get()).toBe(1);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    const q = db.prepare('SELECT rowid FROM tracks_fts WHERE tracks_fts MATCH ?').pluck();
    expect(q.all('"pian"*')).toEqual([7]);
    db.prepare("UPDATE tracks SET title = 'Green Evening' WHERE id = 7").run();
    expect(q.all('"green"')).toEqual([7]);
    // Children still cascade from the rebuilt table.
    db.prepare('DELETE FROM tracks WHERE id = 42').run();
    expect(db.prepare('SELECT count(*) FROM windows').pluck().get()).toBe(0);
    expect(addTrack(db, '/m/c.flac', 'new')).toBe(43);
    expect(q.all('"new"')).toEqual([43]);
    db.close();
  });
});
