/**
 * @file Migrations (STYLE B6): every migration applies on :memory:, the schema after each one matches its
 * committed snapshot (so a released migration cannot change silently), a newer database is refused untouched,
 * a failing migration leaves the database as it was, and better-sqlite3 loads under plain Node (ABI guard).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DbFromFutureError, migrate, migrationsFromFiles } from '../../../main/db/migrate';
import { MIGRATIONS } from '../../../main/db/migrations';
import { openDatabase } from '../../../main/db/open';

/** The schema as SQL text, in a stable order, for snapshots. */
function schemaOf(db: Database.Database): string {
  const rows = db
    .prepare<[], { type: string; name: string; sql: string | null }>(
      "SELECT type, name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    )
    .all();
  return `${rows.map((r) => `-- ${r.type} ${r.name}\n${r.sql ?? '(internal)'};`).join('\n\n')}\n`;
}

describe('ABI guard', () => {
  it('better-sqlite3 opens :memory: under plain Node with FTS5 and JSON', () => {
    const db = new Database(':memory:');
    expect(db.prepare('SELECT 1 + 1 AS two').get()).toEqual({ two: 2 });
    db.exec("CREATE VIRTUAL TABLE t USING fts5(x); INSERT INTO t VALUES ('hello world')");
    expect(db.prepare("SELECT count(*) FROM t WHERE t MATCH 'hello'").pluck().get()).toBe(1);
    expect(db.prepare("SELECT json_extract('[1,2]', '$[1]')").pluck().get()).toBe(2);
    db.close();
  });
});

describe('migrations', () => {
  it('are numbered in steps that leave room, and include the library migrations', () => {
    const versions = MIGRATIONS.map((m) => m.version);
    expect(versions).toContain(10);
    expect(versions).toContain(15);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
  });

  // One snapshot per migration: the schema right after it. Adding a migration adds a snapshot file (written only
  // by an explicit `vitest run -u`; review and commit it); editing an applied migration fails here.
  // [Note: A missing snapshot is a failure] Vitest writes a missing file snapshot instead of failing (unless
  // CI is set), so the code under test would write its own golden. The file must exist unless -u was given.
  it.each(MIGRATIONS.map((m) => [String(m.version).padStart(4, '0'), m] as const))(
    'schema after %s matches its snapshot',
    async (label, m) => {
      const snapshotPath = join(import.meta.dirname, '__snapshots__', `schema-${label}.sql`);
      if (expect.getState().snapshotState.snapshotUpdateState !== 'all') {
        expect(existsSync(snapshotPath), `${snapshotPath} is missing: run this test once with -u, review the file and commit it`).toBe(true);
      }
      const db = new Database(':memory:');
      migrate(db, MIGRATIONS, m.version);
      expect(db.pragma('user_version', { simple: true })).toBe(m.version);
      await expect(schemaOf(db)).toMatchFileSnapshot(`__snapshots__/schema-${label}.sql`);
      db.close();
    },
  );

  it('upgrades step by step to the same schema as all at once, and is idempotent', () => {
    const once = new Database(':memory:');
    migrate(once, MIGRATIONS);
    const stepped = new Database(':memory:');
    for (const m of MIGRATIONS) migrate(stepped, MIGRATIONS, m.version);
    migrate(stepped, MIGRATIONS);
    expect(schemaOf(stepped)).toBe(schemaOf(once));
    once.close();
    stepped.close();
  });

  it('keeps library data and the search index across 0015 (FTS rebuilt with prefix indexes)', () => {
    const db = new Database(':memory:');
    migrate(db, MIGRATIONS, 10);
    db.exec(`INSERT INTO tracks (id, path, size_bytes, mtime_ms, fingerprint, title, artist, added_at, updated_at)
             VALUES (7, '/m/a.flac', 1, 0, 'f', 'Blue Morning', 'Someone', 0, 0);
             INSERT INTO captions (track_id, start_ms, length_ms, model_id, text, created_at)
             VALUES (7, 0, 30000, 'm', 'a calm piano piece', 0);`);
    migrate(db, MIGRATIONS, 15);
    const q = db.prepare('SELECT rowid FROM tracks_fts WHERE tracks_fts MATCH ?').pluck();
    expect(q.all('"pian"*')).toEqual([7]);
    expect(q.all('title:"blue"')).toEqual([7]);
    // The 0010 triggers still feed the rebuilt table.
    db.prepare("UPDATE tracks SET title = 'Green Evening' WHERE id = 7").run();
    expect(q.all('"green"')).toEqual([7]);
    db.close();
  });

  it('refuses a database from a newer app version and leaves it untouched', () => {
    const dir = mkdtempSync(join(tmpdir(), 'musilingo-migrate-'));
    try {
      const path = join(dir, 'future.sqlite');
      const future = new Database(path);
      future.exec('CREATE TABLE from_the_future (x INTEGER)');
      const latest = MIGRATIONS.at(-1)!.version;
      future.pragma(`user_version = ${latest + 10}`);
      future.close();
      const before = readFileSync(path);
      // Byte 18/19 of the header are the write/read format versions: 1 = rollback journal, 2 = WAL.
      expect([before[18], before[19]]).toEqual([1, 1]);
      expect(() => openDatabase(path)).toThrow(DbFromFutureError);
      expect(() => openDatabase(path)).toThrow(/newer than this app understands/);
      // Not switched to WAL, not a byte changed, and no handle left open (an open WAL handle keeps -wal/-shm).
      expect(readFileSync(path).equals(before)).toBe(true);
      expect(existsSync(`${path}-wal`)).toBe(false);
      expect(existsSync(`${path}-shm`)).toBe(false);
      const after = new Database(path);
      expect(after.pragma('user_version', { simple: true })).toBe(latest + 10);
      expect(after.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all()).toEqual(['from_the_future']);
      after.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rolls back a failing migration completely', () => {
    const db = new Database(':memory:');
    const bad = migrationsFromFiles({
      './migrations/0010_a.sql': 'CREATE TABLE a (x INTEGER);',
      './migrations/0020_b.sql': 'CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1);',
    });
    expect(() => migrate(db, bad)).toThrow(/no such table: nowhere/);
    expect(db.pragma('user_version', { simple: true })).toBe(0);
    expect(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name IN ('a', 'b')").pluck().get()).toBe(0);
    db.close();
  });

  it('rejects badly named and non-monotonic migration files', () => {
    expect(() => migrationsFromFiles({ './migrations/10_x.sql': '' })).toThrow(/NNNN_snake_case/);
    const dup = migrationsFromFiles({ './migrations/0010_a.sql': '', './migrations/0010_b.sql': '' });
    expect(() => migrate(new Database(':memory:'), dup)).toThrow(/not monotonic/);
  });
});
