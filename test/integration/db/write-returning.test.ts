/**
 * @file Writes that read their row back never report a row that was not stored: a commit that fails (a deferred
 * constraint, a full disk) throws, the row is not there, and a full disk reads "Disk full" naming the database.
 * See [Note: RETURNING outside a transaction] in main/db/write.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captionsForTrack, upsertModelCaption, upsertUserCaption } from '../../../main/db/captions';
import { FoldersRepo } from '../../../main/db/folders';
import { openDatabase } from '../../../main/db/open';
import { appendQaMessage, qaThread } from '../../../main/db/qa';
import { TracksRepo } from '../../../main/db/tracks';
import { DatabaseFullError } from '../../../main/db/write';
import { toFailure } from '../../../main/ipc/errors';
import { metaOf } from '../../helpers/musiccaps';

let db: Database.Database;
let trackId: number;

function edit(text: string) {
  return { trackId, startMs: 0, lengthMs: 10_000, modelId: 'm', adapterId: '', text };
}

/**
 * Makes every COMMIT that follows an insert into `table` fail, while the INSERT statement itself succeeds: a
 * temp trigger writes a row that breaks a deferred foreign key (checked only at commit).
 */
function failCommitsAfterInsertInto(table: string): void {
  db.exec(`CREATE TEMP TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY);
           CREATE TEMP TABLE IF NOT EXISTS child (pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
           CREATE TEMP TRIGGER poison_${table} AFTER INSERT ON main.${table} BEGIN INSERT INTO child VALUES (-1); END;`);
}

beforeEach(() => {
  db = openDatabase(':memory:');
  trackId = new TracksRepo(db).insert({ path: '/m/a.wav', folderId: null, sizeBytes: 1, mtimeMs: 0, fingerprint: 'f' }, metaOf({ title: 'A' }), 0);
});
afterEach(() => db.close());

describe('writes that read back their row', () => {
  it('a caption edit whose commit fails throws and stores nothing', () => {
    failCommitsAfterInsertInto('captions');
    expect(() => upsertUserCaption(db, edit('my words'))).toThrow(/FOREIGN KEY/);
    expect(() => upsertModelCaption(db, edit('model words'))).toThrow(/FOREIGN KEY/);
    expect(captionsForTrack(db, trackId)).toEqual([]);
  });

  it('a question whose commit fails throws and stores nothing', () => {
    failCommitsAfterInsertInto('qa_messages');
    expect(() => appendQaMessage(db, { trackId, threadId: 't', role: 'user', text: 'why?' })).toThrow(/FOREIGN KEY/);
    expect(qaThread(db, trackId, 't')).toEqual([]);
  });

  it('tracks and folders whose commit fails throw too', () => {
    failCommitsAfterInsertInto('tracks');
    expect(() => new TracksRepo(db).insert({ path: '/m/b.wav', folderId: null, sizeBytes: 1, mtimeMs: 0, fingerprint: 'g' }, metaOf(), 0)).toThrow(/FOREIGN KEY/);
    failCommitsAfterInsertInto('folders');
    expect(() => new FoldersRepo(db).insert('/music', 0)).toThrow(/FOREIGN KEY/);
  });

  it('still returns the id inside an outer transaction, and the row is there', () => {
    const id = db.transaction(() => upsertUserCaption(db, edit('mine')))();
    expect(captionsForTrack(db, trackId).map((c) => c.id)).toEqual([id]);
  });

  it('turns a full database into "Disk full" for the user (IPC failure message)', () => {
    // The database may not grow past the pages it has: the next large write is SQLITE_FULL.
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    const err = (() => {
      try {
        upsertUserCaption(db, edit('x'.repeat(200_000)));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(DatabaseFullError);
    const failure = toFailure(err);
    expect(failure.ok).toBe(false);
    if (!failure.ok) expect(failure.error.message).toMatch(/^Disk full: could not save to the library database/);
    expect(captionsForTrack(db, trackId)).toEqual([]);
  });
});

// A real full disk (a 2 MB tmpfs), where the test may mount one (root in a container that allows it). Here the
// INSERT succeeds in the page cache and the COMMIT fails writing the WAL: the case `.get()` used to hide.
describe('a real full disk', () => {
  it('a caption edit fails with "Disk full" and loses nothing stored before', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ml-full-'));
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      rmSync(dir, { recursive: true, force: true });
      return; // no permission to mount here: the injected cases above cover the logic
    }
    const path = join(mnt, 'library.sqlite');
    let file: Database.Database | undefined;
    try {
      file = openDatabase(path);
      const id = new TracksRepo(file).insert({ path: '/m/a.wav', folderId: null, sizeBytes: 1, mtimeMs: 0, fingerprint: 'f' }, metaOf(), 0);
      const kept = upsertUserCaption(file, { trackId: id, startMs: 0, lengthMs: 1, modelId: 'm', adapterId: '', text: 'kept' });
      const free = statfsSync(mnt);
      writeFileSync(join(mnt, 'filler'), Buffer.alloc(Math.max(0, free.bavail * free.bsize - 4096)));
      const err = (() => {
        try {
          upsertUserCaption(file, { trackId: id, startMs: 5, lengthMs: 1, modelId: 'm', adapterId: '', text: 'y'.repeat(300_000) });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(DatabaseFullError);
      expect((err as Error).message).toContain(path);
      rmSync(join(mnt, 'filler'));
      expect(captionsForTrack(file, id).map((c) => [c.id, c.text])).toEqual([[kept, 'kept']]);
    } finally {
      file?.close();
      execFileSync('umount', ['-l', mnt]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
