/**
 * @file The watcher keeps the library in step with the disk: add, change, move (same id), delete (missing),
 * folder removal, and hidden files ignored. Polls for results instead of sleeping.
 */
import { mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/db/open';
import { LibraryService } from '../../../main/library/library-service';
import type { LibraryChanges } from '../../../main/library/scanner';
import { makeWav, tempDir, waitFor } from '../../helpers/library-audio';

let tmp: ReturnType<typeof tempDir>;
let db: Database.Database;
let lib: LibraryService;
let root: string;

beforeEach(async () => {
  tmp = tempDir();
  root = join(tmp.dir, 'music');
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'existing.wav'), makeWav({ freqHz: 100, tags: { INAM: 'Existing' } }));
  db = openDatabase(':memory:');
  lib = new LibraryService(db, { watch: { debounceMs: 40, maxWaitMs: 500 } });
  await lib.scan(root);
  await lib.watch();
});
afterEach(async () => {
  await lib.stop();
  db.close();
  tmp.cleanup();
});

describe('watching', () => {
  it('follows add, change, move and delete, keeping the id across the move', async () => {
    const changes: LibraryChanges[] = [];
    lib.on('changed', (c) => changes.push(c));
    const p = join(root, 'new.wav');
    writeFileSync(p, makeWav({ freqHz: 300, tags: { INAM: 'First', IART: 'Watcher' } }));
    const added = await waitFor(() => lib.tracks.getByPath(p), 'the new file to be indexed');
    expect(added.title).toBe('First');
    expect(changes.some((c) => c.added.includes(added.id))).toBe(true);

    writeFileSync(p, makeWav({ freqHz: 301, samples: 900, tags: { INAM: 'Second', IART: 'Watcher' } }));
    await waitFor(() => lib.tracks.getByPath(p)?.title === 'Second', 'the tag change');
    expect(lib.tracks.getByPath(p)?.id).toBe(added.id);

    const moved = join(root, 'sub', 'moved here.wav');
    renameSync(p, moved);
    const after = await waitFor(() => lib.tracks.getByPath(moved), 'the moved file');
    expect(after.id).toBe(added.id);
    expect(after.missingSince).toBeNull();
    expect(lib.tracks.count()).toEqual({ present: 2, missing: 0 });

    unlinkSync(moved);
    await waitFor(() => lib.tracks.getById(added.id)?.missingSince !== null, 'the deleted file to be marked missing');
    expect(lib.tracks.count()).toEqual({ present: 1, missing: 1 });
  });

  it('marks everything under a removed folder missing and ignores hidden and non-audio files', async () => {
    writeFileSync(join(root, 'sub', 'a.wav'), makeWav({ freqHz: 400 }));
    writeFileSync(join(root, 'sub', 'b.wav'), makeWav({ freqHz: 401 }));
    await waitFor(() => lib.tracks.count().present === 3, 'two files in sub/');
    writeFileSync(join(root, '.hidden.wav'), makeWav({ freqHz: 402 }));
    writeFileSync(join(root, 'cover.jpg'), 'jpeg');
    rmSync(join(root, 'sub'), { recursive: true });
    await waitFor(() => lib.tracks.count().missing === 2, 'sub/ to be marked missing');
    await lib.idle();
    expect(lib.tracks.count()).toEqual({ present: 1, missing: 2 });
    expect(lib.scanErrors.count()).toBe(0);
  });

  it('records a scan error for a bad file that appears and clears it when the file is fixed', async () => {
    const p = join(root, 'bad.wav');
    writeFileSync(p, 'not a wave file at all');
    await waitFor(() => lib.scanErrors.getByPath(p), 'the scan error');
    expect(lib.scanErrors.getByPath(p)?.code).toBe('not-audio');
    writeFileSync(p, makeWav({ freqHz: 500, tags: { INAM: 'Fixed' } }));
    await waitFor(() => lib.tracks.getByPath(p)?.title === 'Fixed', 'the fixed file');
    expect(lib.scanErrors.getByPath(p)).toBeUndefined();
  });

  it('watches a library folder whose own name is hidden', async () => {
    const hidden = join(tmp.dir, '.music');
    mkdirSync(hidden);
    lib.addFolder(hidden);
    await new Promise((r) => setTimeout(r, 200));
    writeFileSync(join(hidden, 'x.wav'), makeWav({ freqHz: 700 }));
    await waitFor(() => lib.tracks.getByPath(join(hidden, 'x.wav')), 'a file in the hidden-named folder');
  });

  it('watches a folder added while watching', async () => {
    const other = join(tmp.dir, 'other');
    mkdirSync(other);
    lib.addFolder(other);
    await new Promise((r) => setTimeout(r, 200)); // let the watcher set up the new root
    writeFileSync(join(other, 'x.wav'), makeWav({ freqHz: 600 }));
    await waitFor(() => lib.tracks.getByPath(join(other, 'x.wav')), 'a file in the added folder');
  });
});
