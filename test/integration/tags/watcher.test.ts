/**
 * @file The watcher sees the tagger's own write as no change of identity: with the library watched, a write and
 * an undo keep the track id, the captions and the track count, and leave no temporary file behind.
 */
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captionsForTrack, upsertModelCaption } from '../../../main/db/captions';
import { openDatabase } from '../../../main/db/open';
import { LibraryService } from '../../../main/library/library-service';
import { TagWriter } from '../../../main/tags/writer';
import { makeAudio, tempDir } from '../../helpers/library-audio';
import { WESNOTH_OGGS } from '../../helpers/tag-readers';

describe('the tag write under the file watcher', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Database.Database;
  let lib: LibraryService;

  beforeEach(async () => {
    tmp = tempDir('musilingo-tagwatch-');
    await Promise.all([makeAudio(join(tmp.dir, 'a.flac'), 'flac', { title: 'A' }), makeAudio(join(tmp.dir, 'b.mp3'), 'mp3', { title: 'B' })]);
    db = openDatabase(':memory:');
    lib = new LibraryService(db, { watch: { debounceMs: 40, maxWaitMs: 500 } });
    await lib.scan(tmp.dir);
    await lib.watch();
  });
  afterEach(async () => {
    await lib.stop();
    db.close();
    tmp.cleanup();
  });

  it('keeps ids, captions and the count through write and undo', async () => {
    const before = lib.tracks.list().map((t) => [t.path, t.id]);
    for (const t of lib.tracks.list()) upsertModelCaption(db, { trackId: t.id, startMs: 0, lengthMs: 500, modelId: 'm', adapterId: '', text: `caption ${t.id}` });
    const writer = new TagWriter({ db, tracks: lib.tracks });
    const r = await writer.write(lib.tracks.list().map((track) => ({ track, values: { genre: ['Jazz'], caption: ['A calm piece'] } })), ['genre', 'caption']);
    expect(r.files.map((f) => f.status)).toEqual(['written', 'written']);
    // Let the watcher see the renames and settle.
    await new Promise((res) => setTimeout(res, 300));
    lib.flushWatcher();
    await lib.idle();
    expect(lib.tracks.count()).toEqual({ present: 2, missing: 0 });
    expect(lib.tracks.list().map((t) => [t.path, t.id])).toEqual(before);
    expect(lib.tracks.list().map((t) => t.genres)).toEqual([['Jazz'], ['Jazz']]);
    for (const [, id] of before) expect(captionsForTrack(db, id as number).map((c) => c.text)).toEqual([`caption ${String(id)}`]);

    await writer.undo(r.batchId!);
    await new Promise((res) => setTimeout(res, 300));
    lib.flushWatcher();
    await lib.idle();
    expect(lib.tracks.list().map((t) => [t.path, t.id])).toEqual(before);
    expect(lib.tracks.list().map((t) => t.genres)).toEqual([[], []]);
    expect(readdirSync(tmp.dir).filter((n) => n.includes('musilingo-tag'))).toEqual([]);
  });
});

describe('the library row after a tag write', () => {
  // A real Ogg above the size music-metadata finds a duration for without reading the whole file: the scanner
  // gets its length from the last page ([Note: Durations]); the tagger's write and undo must not lose it.
  it.skipIf(!existsSync(WESNOTH_OGGS[0]!))('keeps the scanned duration of a real Ogg through write and undo', async () => {
    const tmp = tempDir('musilingo-tagdur-');
    const db = openDatabase(':memory:');
    try {
      copyFileSync(WESNOTH_OGGS[0]!, join(tmp.dir, 'defeat.ogg'));
      const lib = new LibraryService(db);
      await lib.scan(tmp.dir);
      const [track] = lib.tracks.list();
      expect(track!.durationMs).toBeGreaterThan(0);
      const writer = new TagWriter({ db, tracks: lib.tracks });
      const r = await writer.write([{ track: track!, values: { genre: ['Soundtrack'] } }], ['genre']);
      expect(r.files.map((f) => f.status)).toEqual(['written']);
      expect(lib.tracks.getById(track!.id)?.durationMs).toBe(track!.durationMs);
      await writer.undo(r.batchId!);
      expect(lib.tracks.getById(track!.id)?.durationMs).toBe(track!.durationMs);
    } finally {
      db.close();
      tmp.cleanup();
    }
  });
});
