/**
 * @file The scanner against real files: identity across moves, missing and purge, rescans that only stat,
 * bad input (corrupt, truncated, zero-byte, not audio, permission denied, changing files), hidden files,
 * symlink loops, odd paths, progress and cancellation.
 */
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/db/open';
import { nodeFs, type LibraryFs } from '../../../main/library/fs';
import { LibraryService } from '../../../main/library/library-service';
import { Scanner, type ScanProgress } from '../../../main/library/scanner';
import { makeAudio, makeWav, tempDir } from '../../helpers/library-audio';

let tmp: ReturnType<typeof tempDir>;
let db: Database.Database;
let clock: number;

function service(opts: { fs?: LibraryFs; batchSize?: number } = {}): LibraryService {
  return new LibraryService(db, { now: () => clock, progressIntervalMs: 0, ...opts });
}

function wav(path: string, i: number, title = `Song ${i}`): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, makeWav({ freqHz: 200 + i, tags: { INAM: title, IART: `Artist ${i % 3}` } }));
}

function addCaption(trackId: number, text: string): void {
  db.prepare(
    "INSERT INTO captions (track_id, start_ms, length_ms, model_id, text, created_at) VALUES (?, 0, 30000, 'm', ?, 0)",
  ).run(trackId, text);
}

beforeEach(() => {
  tmp = tempDir();
  db = openDatabase(':memory:');
  clock = 1_700_000_000_000;
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

describe('identity', () => {
  it('keeps the id and captions of a moved/renamed file, and marks a deleted one missing', async () => {
    const lib = service();
    const root = join(tmp.dir, 'music');
    wav(join(root, 'a', 'one.wav'), 1);
    wav(join(root, 'a', 'two.wav'), 2);
    const s1 = await lib.scan(root);
    expect(s1).toMatchObject({ found: 2, added: 2, errors: 0 });
    const one = lib.tracks.getByPath(join(root, 'a', 'one.wav'))!;
    addCaption(one.id, 'a gentle sine wave drone');

    mkdirSync(join(root, 'b'));
    renameSync(join(root, 'a', 'one.wav'), join(root, 'b', 'renamed ✓.wav'));
    unlinkSync(join(root, 'a', 'two.wav'));
    clock += 1000;
    const s2 = await lib.scan(root);
    expect(s2).toMatchObject({ moved: 1, missing: 1, added: 0 });
    const moved = lib.tracks.getByPath(join(root, 'b', 'renamed ✓.wav'))!;
    expect(moved.id).toBe(one.id);
    expect(moved.missingSince).toBeNull();
    expect(db.prepare('SELECT text FROM captions WHERE track_id = ?').pluck().get(one.id)).toBe('a gentle sine wave drone');
    expect(lib.search.search({ text: 'drone' }).map((h) => h.id)).toEqual([one.id]);
    const two = lib.tracks.list({ state: 'missing' });
    expect(two.map((t) => t.path)).toEqual([join(root, 'a', 'two.wav')]);
    expect(two[0]!.missingSince).toBe(clock);
    expect(lib.search.search({ text: 'song' }).length).toBe(1); // missing tracks are not search results
  });

  it('restores a missing track when its file comes back, and purges only after the grace period', async () => {
    const lib = service();
    const root = join(tmp.dir, 'm');
    wav(join(root, 'x.wav'), 1);
    wav(join(root, 'y.wav'), 2);
    await lib.scan(root);
    const x = lib.tracks.getByPath(join(root, 'x.wav'))!;
    const saved = readFileSync(join(root, 'x.wav'));
    unlinkSync(join(root, 'x.wav'));
    unlinkSync(join(root, 'y.wav'));
    await lib.scan(root);
    expect(lib.tracks.count()).toEqual({ present: 0, missing: 2 });
    writeFileSync(join(root, 'x.wav'), saved);
    const s = await lib.scan(root);
    expect(s.updated + s.restored + s.moved).toBe(1);
    expect(lib.tracks.getByPath(join(root, 'x.wav'))!.id).toBe(x.id);

    clock += 29 * 24 * 3600 * 1000;
    expect(lib.purgeMissing()).toBe(0);
    clock += 2 * 24 * 3600 * 1000;
    expect(lib.purgeMissing()).toBe(1);
    expect(lib.tracks.count()).toEqual({ present: 1, missing: 0 });
  });

  it('treats a copy as a new track and an in-place tag edit as the same track', async () => {
    const lib = service();
    const root = join(tmp.dir, 'm');
    wav(join(root, 'x.wav'), 1, 'Old Title');
    await lib.scan(root);
    const x = lib.tracks.getByPath(join(root, 'x.wav'))!;
    copyFileSync(join(root, 'x.wav'), join(root, 'copy.wav'));
    writeFileSync(join(root, 'x.wav'), makeWav({ freqHz: 201, tags: { INAM: 'New Title' } }));
    utimesSync(join(root, 'x.wav'), new Date(), new Date(Date.now() + 5000));
    const s = await lib.scan(root);
    expect(s).toMatchObject({ added: 1, updated: 1 });
    const after = lib.tracks.getByPath(join(root, 'x.wav'))!;
    expect(after.id).toBe(x.id);
    expect(after.title).toBe('New Title');
    expect(lib.tracks.getByPath(join(root, 'copy.wav'))!.id).not.toBe(x.id);
  });
});

describe('moves seen out of order', () => {
  it('keeps the id when a move is reported as an add before the old path is seen gone', async () => {
    const lib = service();
    const root = join(tmp.dir, 'm');
    wav(join(root, 'old.wav'), 1);
    await lib.scan(root);
    const old = lib.tracks.getByPath(join(root, 'old.wav'))!;
    renameSync(join(root, 'old.wav'), join(root, 'new.wav'));
    // A second scan lists the folder, so simulate a watcher batch that names only the new path.
    const scanner = new Scanner({ db, tracks: lib.tracks, folders: lib.folders, scanErrors: lib.scanErrors, fs: nodeFs, now: () => clock, batchSize: 10, concurrency: 2 });
    const [s] = await scanner.applyBatch([{ folder: lib.folders.list()[0]!, paths: [join(root, 'new.wav')], removedDirs: [] }]);
    expect(s).toMatchObject({ moved: 1, added: 0, missing: 0 });
    expect(lib.tracks.getByPath(join(root, 'new.wav'))?.id).toBe(old.id);
    // A real copy (the original still exists) is a new track.
    copyFileSync(join(root, 'new.wav'), join(root, 'copy.wav'));
    const [c] = await scanner.applyBatch([{ folder: lib.folders.list()[0]!, paths: [join(root, 'copy.wav')], removedDirs: [] }]);
    expect(c).toMatchObject({ added: 1, moved: 0 });
  });
});

describe('rescans', () => {
  it('reads nothing when the library is unchanged (stat only) and re-reads a touched file', async () => {
    const root = join(tmp.dir, 'm');
    for (let i = 0; i < 30; i++) wav(join(root, `d${i % 4}`, `f${i}.wav`), i);
    let opens = 0;
    const counting: LibraryFs = { ...nodeFs, open: (p) => (opens++, nodeFs.open(p)) };
    const lib = service({ fs: counting });
    await lib.scan(root);
    expect(opens).toBe(30);
    opens = 0;
    const s = await lib.scan(root);
    expect(s).toMatchObject({ found: 30, unchanged: 30, added: 0, updated: 0 });
    expect(opens).toBe(0);
    appendFileSync(join(root, 'd1', 'f1.wav'), Buffer.alloc(2));
    const s3 = await lib.scan(root);
    expect(s3).toMatchObject({ unchanged: 29, updated: 1 });
    expect(opens).toBe(1);
  });

  it('writes in batches and reports progress up to the total', async () => {
    const root = join(tmp.dir, 'm');
    for (let i = 0; i < 25; i++) wav(join(root, `f${i}.wav`), i);
    const lib = service({ batchSize: 10 });
    const events: ScanProgress[] = [];
    let changeEvents = 0;
    lib.on('progress', (p) => events.push(p));
    lib.on('changed', (c) => (changeEvents += c.added.length ? 1 : 0));
    await lib.scan(root);
    expect(changeEvents).toBe(3); // 10 + 10 + 5
    const last = events.at(-1)!;
    expect(last).toMatchObject({ phase: 'done', found: 25, toRead: 25, done: 25, errors: 0 });
    expect(events.some((e) => e.phase === 'listing')).toBe(true);
    expect(events.some((e) => e.phase === 'reading' && e.currentPath?.endsWith('.wav'))).toBe(true);
  });

  it('stops on abort, keeps what it read, and finishes on the next scan', async () => {
    const root = join(tmp.dir, 'm');
    for (let i = 0; i < 40; i++) wav(join(root, `f${i}.wav`), i);
    const lib = service({ batchSize: 5 });
    const ac = new AbortController();
    lib.on('progress', (p) => {
      if (p.phase === 'reading' && p.done >= 10) ac.abort();
    });
    const s = await lib.scan(root, { signal: ac.signal });
    expect(s.cancelled).toBe(true);
    const kept = lib.tracks.count().present;
    expect(kept).toBeGreaterThanOrEqual(10);
    expect(kept).toBeLessThan(40);
    expect(lib.folders.list()[0]!.lastScanAt).toBeNull();
    const s2 = await lib.scan(root);
    expect(s2.cancelled).toBe(false);
    expect(s2.unchanged).toBe(kept);
    expect(lib.tracks.count().present).toBe(40);
  });

  it('leaves tracks alone when the folder cannot be opened (unplugged drive)', async () => {
    const root = join(tmp.dir, 'm');
    wav(join(root, 'x.wav'), 1);
    const lib = service();
    await lib.scan(root);
    renameSync(root, join(tmp.dir, 'elsewhere'));
    const r = await lib.rescanAll();
    expect(r.failed.length).toBe(1);
    expect(r.failed[0]!.message).toContain(root);
    expect(lib.tracks.count()).toEqual({ present: 1, missing: 0 });
  });
});

describe('bad input', () => {
  it('records a scan error per bad file with its cause and indexes the rest', async () => {
    const root = join(tmp.dir, 'bad');
    mkdirSync(root);
    await makeAudio(join(root, 'good.mp3'), 'mp3', { title: 'Good' });
    await makeAudio(join(root, 'good.flac'), 'flac', { title: 'Good FLAC' }, { seconds: 1 });
    const mp3 = readFileSync(join(root, 'good.mp3'));
    writeFileSync(join(root, 'truncated.mp3'), mp3.subarray(0, 100)); // cut inside the ID3 tag
    await makeAudio(join(root, 'cut.m4a'), 'm4a', { title: 'x' });
    truncateSync(join(root, 'cut.m4a'), 3000);
    await makeAudio(join(root, 'cut.ogg'), 'ogg', { title: 'x' });
    truncateSync(join(root, 'cut.ogg'), 2000);
    writeFileSync(join(root, 'zero.flac'), Buffer.alloc(0));
    writeFileSync(join(root, 'random.mp3'), Buffer.from(Array.from({ length: 8000 }, (_, i) => (i * 7919 + 13) % 251)));
    writeFileSync(join(root, 'random.flac'), Buffer.from(Array.from({ length: 8000 }, (_, i) => (i * 104729 + 7) % 256)));
    writeFileSync(join(root, 'text.wav'), 'this is a text file, not a wave file\n'.repeat(20));
    writeFileSync(join(root, 'Thumbs.db'), 'x');
    writeFileSync(join(root, '.hidden.mp3'), 'x');
    mkdirSync(join(root, '@eaDir'));
    writeFileSync(join(root, '@eaDir', 'thumb.mp3'), 'x');
    const before = db.prepare('SELECT count(*) FROM tracks').pluck().get();
    const lib = service();
    const s = await lib.scan(root);
    expect(before).toBe(0);
    expect(s.added).toBe(2);
    const errors = Object.fromEntries(lib.scanErrors.list().map((e) => [e.path.slice(root.length + 1), e]));
    expect(Object.keys(errors).sort()).toEqual(['cut.m4a', 'cut.ogg', 'random.flac', 'random.mp3', 'text.wav', 'truncated.mp3', 'zero.flac']);
    expect(errors['zero.flac']!.code).toBe('empty');
    expect(errors['truncated.mp3']!.code).toBe('corrupt');
    expect(errors['cut.m4a']!.code).toBe('corrupt');
    expect(errors['text.wav']!.code).toBe('not-audio');
    expect(errors['random.flac']!.code).toBe('not-audio');
    for (const [name, e] of Object.entries(errors)) expect(e.message, name).toContain(join(root, name));
    expect(s.errors).toBe(7);

    // Fixing a file clears its error on the next scan; a deleted bad file's error goes too.
    writeFileSync(join(root, 'zero.flac'), readFileSync(join(root, 'good.flac')));
    unlinkSync(join(root, 'random.mp3'));
    clock += 1000;
    await lib.scan(root);
    expect(lib.scanErrors.getByPath(join(root, 'zero.flac'))).toBeUndefined();
    expect(lib.scanErrors.getByPath(join(root, 'random.mp3'))).toBeUndefined();
    expect(lib.tracks.count().present).toBe(3);
  });

  it('reports permission denied (injected: root ignores chmod) and keeps the stored track', async () => {
    const root = join(tmp.dir, 'p');
    wav(join(root, 'locked.wav'), 1);
    wav(join(root, 'open.wav'), 2);
    await service().scan(root);
    const locked = join(root, 'locked.wav');
    const id = db.prepare('SELECT id FROM tracks WHERE path = ?').pluck().get(locked);
    appendFileSync(locked, Buffer.alloc(2)); // changed, so it is read again
    const denied: LibraryFs = {
      ...nodeFs,
      open: (p) => (p === locked ? Promise.reject(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })) : nodeFs.open(p)),
    };
    const s = await service({ fs: denied }).scan(root);
    expect(s.errors).toBe(1);
    const e = new LibraryService(db).scanErrors.getByPath(locked)!;
    expect(e.code).toBe('permission');
    expect(e.message).toBe(`Permission denied reading "${locked}"`);
    expect(db.prepare('SELECT id, title FROM tracks WHERE path = ?').get(locked)).toEqual({ id, title: 'Song 1' });
  });

  it('reports an unreadable sub-folder and does not mark its tracks missing', async () => {
    const root = join(tmp.dir, 'p');
    wav(join(root, 'sub', 'a.wav'), 1);
    wav(join(root, 'b.wav'), 2);
    await service().scan(root);
    const sub = join(root, 'sub');
    const denied: LibraryFs = {
      ...nodeFs,
      readdir: (p) => (p === sub ? Promise.reject(Object.assign(new Error('EACCES'), { code: 'EACCES' })) : nodeFs.readdir(p)),
    };
    const s = await service({ fs: denied }).scan(root);
    expect(s.missing).toBe(0);
    expect(new LibraryService(db).scanErrors.getByPath(sub)?.code).toBe('permission');
    expect(db.prepare('SELECT count(*) FROM tracks WHERE missing_since IS NULL').pluck().get()).toBe(2);
  });

  it('retries a file that changes while it is read, then reports it as changed', async () => {
    const root = join(tmp.dir, 'c');
    wav(join(root, 'growing.wav'), 1);
    wav(join(root, 'settles.wav'), 2);
    const growing = join(root, 'growing.wav');
    const settles = join(root, 'settles.wav');
    let settleWrites = 0;
    const changing: LibraryFs = {
      ...nodeFs,
      async open(p) {
        const h = await nodeFs.open(p);
        if (p === growing) appendFileSync(p, Buffer.alloc(2)); // keeps growing on every read
        if (p === settles && settleWrites++ === 0) appendFileSync(p, Buffer.alloc(2)); // changes once
        return h;
      },
    };
    const s = await service({ fs: changing }).scan(root);
    expect(s.added).toBe(1);
    const lib = new LibraryService(db);
    expect(lib.scanErrors.getByPath(growing)?.code).toBe('changed');
    expect(lib.tracks.getByPath(settles)?.sizeBytes).toBe(readFileSync(settles).length);
  });
});

describe('walking', () => {
  it('skips hidden and system entries, survives symlink loops, and keeps odd paths as they are', async () => {
    const root = join(tmp.dir, 'walk');
    const odd = ['ümlaut ñ 日本語.wav', "quote ' \" and $dollar.wav", 'spaces   and #hash%.wav', 'emoji 🎵.wav', 'back\\slash.wav'];
    odd.forEach((n, i) => wav(join(root, 'odd', n), i));
    wav(join(root, '.git', 'x.wav'), 10);
    wav(join(root, '$RECYCLE.BIN', 'x.wav'), 11);
    wav(join(root, 'System Volume Information', 'x.wav'), 12);
    wav(join(root, 'deep', 'a', 'b', 'c', 'd', 'e', 'deep.WAV'), 13);
    writeFileSync(join(root, 'desktop.ini'), 'x');
    writeFileSync(join(root, '.DS_Store'), 'x');
    writeFileSync(join(root, 'odd', '._ümlaut ñ 日本語.wav'), 'AppleDouble');
    symlinkSync(root, join(root, 'deep', 'loop-to-root'));
    symlinkSync(join(root, 'deep'), join(root, 'deep', 'a', 'loop-to-parent'));
    symlinkSync(join(root, 'odd', odd[0]!), join(root, 'link-to-file.wav'));
    symlinkSync(join(root, 'nowhere.wav'), join(root, 'dangling.wav'));
    const lib = service();
    const s = await lib.scan(root);
    expect(s.errors).toBe(0);
    const paths = lib.tracks.list({ limit: 100 }).map((t) => t.path.slice(root.length + 1)).sort();
    expect(paths).toEqual([...odd.map((n) => `odd/${n}`), 'deep/a/b/c/d/e/deep.WAV', 'link-to-file.wav'].sort());
    const emoji = lib.tracks.getByPath(join(root, 'odd', 'emoji 🎵.wav'));
    expect(emoji?.title).toBe('Song 3');
  });
});

describe('folders', () => {
  it('refuses a folder inside another, absorbs a parent, and marks tracks missing when a folder is removed', async () => {
    const lib = service();
    const a = join(tmp.dir, 'lib', 'a');
    wav(join(a, 'x.wav'), 1);
    wav(join(tmp.dir, 'lib', 'y.wav'), 2);
    await lib.scan(a);
    expect(() => lib.addFolder(join(a, '..', 'a', '.'))).not.toThrow(); // same folder, normalized
    mkdirSync(join(a, 'inner'));
    expect(() => lib.addFolder(join(a, 'inner'))).toThrow(/already in the library as part of/);
    expect(() => lib.addFolder(join(tmp.dir, 'nope'))).toThrow(/does not exist/);
    expect(() => lib.addFolder(join(a, 'x.wav'))).toThrow(/is not a folder/);
    const parent = lib.addFolder(join(tmp.dir, 'lib'));
    expect(lib.listFolders().map((f) => f.path)).toEqual([parent.path]);
    expect(lib.tracks.getByPath(join(a, 'x.wav'))?.folderId).toBe(parent.id);
    await lib.scan(parent.id);
    expect(lib.listFolders()[0]).toMatchObject({ trackCount: 2, missingCount: 0 });
    const r = await lib.removeFolder(parent.path);
    expect(r).toMatchObject({ missing: 2, purged: 0 });
    expect(lib.tracks.count()).toEqual({ present: 0, missing: 2 });
    const x = lib.tracks.list({ state: 'missing' }).find((t) => t.path.endsWith('x.wav'))!;
    await lib.scan(join(tmp.dir, 'lib'));
    expect(lib.tracks.getByPath(join(a, 'x.wav'))?.id).toBe(x.id);
    expect(lib.tracks.count()).toEqual({ present: 2, missing: 0 });
    rmSync(join(tmp.dir, 'lib'), { recursive: true });
  });
});
