/**
 * @file Faults of the safe tag write: a read-only file, a file changed after the scan, a full disk (injected
 * ENOSPC), a process that dies after the rename but before the library update, and cover art. Each time the
 * original stays intact (or is completed exactly), the error names the file and the batch goes on.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/db/open';
import { journalOfBatch, pendingJournal } from '../../../main/db/tags';
import { LibraryService } from '../../../main/library/library-service';
import { openTags } from '../../../main/tags/tag-io';
import { nodeTagFileOps, tempPathFor, TagWriter, type FieldValues } from '../../../main/tags/writer';
import { makeAudio, tempDir } from '../../helpers/library-audio';
import { mutagenTags } from '../../helpers/tag-readers';

const run = promisify(execFile);
const NEW: FieldValues = { genre: ['Ambient'], mood: ['calm'] };

describe('tag write faults', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Database.Database;
  let lib: LibraryService;

  beforeEach(async () => {
    tmp = tempDir('musilingo-tagfault-');
    await Promise.all([
      makeAudio(join(tmp.dir, 'a.flac'), 'flac', { title: 'A', genre: 'Rock' }),
      makeAudio(join(tmp.dir, 'b.mp3'), 'mp3', { title: 'B', genre: 'Rock' }),
      makeAudio(join(tmp.dir, 'c.ogg'), 'ogg', { title: 'C' }),
    ]);
    db = openDatabase(':memory:');
    lib = new LibraryService(db);
    await lib.scan(tmp.dir);
  });
  afterEach(() => {
    db.close();
    chmodSync(join(tmp.dir, 'a.flac'), 0o644);
    tmp.cleanup();
  });

  const track = (name: string) => lib.tracks.getByPath(join(tmp.dir, name))!;
  const items = (...names: string[]) => names.map((n) => ({ track: track(n), values: NEW }));

  it('a read-only file is reported by name and left untouched; the rest of the batch is written', async () => {
    const p = join(tmp.dir, 'a.flac');
    const bytes = readFileSync(p);
    chmodSync(p, 0o444);
    const r = await new TagWriter({ db, tracks: lib.tracks }).write(items('a.flac', 'b.mp3'), ['genre', 'mood']);
    expect(r.files[0]).toMatchObject({ status: 'failed', message: expect.stringMatching(/a\.flac" is read-only/) as unknown });
    expect(r.files[1]).toMatchObject({ status: 'written' });
    expect(readFileSync(p).equals(bytes)).toBe(true);
  });

  it('a file changed on disk since the scan is skipped with that reason', async () => {
    const p = join(tmp.dir, 'c.ogg');
    appendFileSync(p, Buffer.from('changed'));
    const r = await new TagWriter({ db, tracks: lib.tracks }).write(items('c.ogg', 'a.flac'), ['genre']);
    expect(r.files[0]).toMatchObject({ status: 'skipped', message: expect.stringMatching(/c\.ogg" changed on disk since the last scan/) as unknown });
    expect(r.files[1]).toMatchObject({ status: 'written' });
  });

  it('a file that vanished, or vanishes after its copy was made, is reported by name and not resurrected', async () => {
    const gone = join(tmp.dir, 'c.ogg');
    rmSync(gone);
    const late = join(tmp.dir, 'b.mp3');
    // b.mp3 disappears after its copy was checked, right before the rename would replace it.
    const writer = new TagWriter({ db, tracks: lib.tracks, beforeRename: (p) => (p === late ? rmSync(late) : undefined) });
    const r = await writer.write(items('c.ogg', 'b.mp3', 'a.flac'), ['genre']);
    expect(r.files.map((f) => [f.status, f.message])).toEqual([
      ['failed', `"${gone}" vanished while it was being written`],
      ['failed', `"${late}" vanished while it was being written`],
      ['written', null],
    ]);
    expect(existsSync(gone)).toBe(false);
    expect(existsSync(late)).toBe(false);
    expect(existsSync(tempPathFor(late))).toBe(false);
  });

  it('a full disk (ENOSPC while copying) fails the file with a clear cause, no temp file left, original intact', async () => {
    const p = join(tmp.dir, 'b.mp3');
    const bytes = readFileSync(p);
    const ops = {
      ...nodeTagFileOps,
      async copyFile(src: string, dst: string) {
        if (src === p) {
          // Half a copy, then the disk is full: what a real ENOSPC leaves behind.
          appendFileSync(dst, bytes.subarray(0, 100));
          throw Object.assign(new Error('ENOSPC: no space left on device, copyfile'), { code: 'ENOSPC' });
        }
        return nodeTagFileOps.copyFile(src, dst);
      },
    };
    const r = await new TagWriter({ db, tracks: lib.tracks, ops }).write(items('b.mp3', 'c.ogg'), ['genre', 'mood']);
    expect(r.files[0]).toMatchObject({ status: 'failed', message: expect.stringMatching(/b\.mp3" could not be written: the disk is full/) as unknown });
    expect(r.files[1]).toMatchObject({ status: 'written' });
    expect(readFileSync(p).equals(bytes)).toBe(true);
    expect(existsSync(tempPathFor(p))).toBe(false);
    // The copy failed before anything was journaled or touched: only c.ogg has a journal row.
    expect(journalOfBatch(db, r.batchId!).map((j) => [j.path.split('/').pop(), j.state])).toEqual([['c.ogg', 'written']]);
  });

  it('a crash after the rename and before the library update is completed by the next run, and undo still works', async () => {
    const p = join(tmp.dir, 'a.flac');
    const before = await mutagenTags(p);
    const id = track('a.flac').id;
    // The rename happens, then the process "dies": the promise never settles, the journal row stays pending.
    const ops = { ...nodeTagFileOps, rename: async (a: string, b: string) => { await nodeTagFileOps.rename(a, b); return new Promise<void>(() => undefined); } };
    void new TagWriter({ db, tracks: lib.tracks, ops }).write(items('a.flac'), ['genre', 'mood']);
    await expect.poll(() => pendingJournal(db).length, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => existsSync(tempPathFor(p)), { timeout: 10_000 }).toBe(false);
    const oldFingerprint = lib.tracks.getById(id)!.fingerprint;
    const writer = new TagWriter({ db, tracks: lib.tracks });
    const recovered = await writer.recover();
    expect(recovered).toEqual([expect.objectContaining({ status: 'written', message: 'completed an interrupted write' })]);
    const t = lib.tracks.getById(id)!;
    expect(t.fingerprint).not.toBe(oldFingerprint);
    expect(t.genres).toEqual(['Ambient']);
    expect(pendingJournal(db)).toEqual([]);
    const undo = await writer.undo(recoveredBatch(db));
    expect(undo.files.map((f) => f.status)).toEqual(['written']);
    expect(await mutagenTags(p)).toEqual(before.map((l) => l.replace(/^[a-z_]+=/, (k) => k.toUpperCase())).sort());
  });

  it('folder fsyncs are shared by files renamed meanwhile, and every rename is followed by an fsync of its folder', async () => {
    const events: string[] = [];
    const ops = {
      ...nodeTagFileOps,
      rename: async (a: string, b: string) => {
        await nodeTagFileOps.rename(a, b);
        events.push(`rename ${b}`);
      },
      fsyncDir: async (dir: string) => {
        events.push('sync start');
        await new Promise((r) => setTimeout(r, 500)); // a slow disk, so renames pile up behind one fsync
        await nodeTagFileOps.fsyncDir(dir);
      },
    };
    const r = await new TagWriter({ db, tracks: lib.tracks, ops, concurrency: 3 }).write(items('a.flac', 'b.mp3', 'c.ogg'), ['genre']);
    expect(r.files.map((f) => f.status)).toEqual(['written', 'written', 'written']);
    const syncs = events.filter((e) => e === 'sync start').length;
    expect(syncs).toBeLessThan(3);
    for (const [i, e] of events.entries()) if (e.startsWith('rename')) expect(events.slice(i + 1)).toContain('sync start');
  });

  it('cover art is kept byte for byte in MP3, FLAC and M4A', async () => {
    const cover = join(tmp.dir, 'cover.png');
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=red:s=32x32:d=1', '-frames:v', '1', cover]);
    const files: string[] = [];
    for (const [name, codec] of [['art.mp3', ['-c:a', 'libmp3lame', '-id3v2_version', '4']], ['art.flac', ['-c:a', 'flac']], ['art.m4a', ['-c:a', 'aac']]] as const) {
      const out = join(tmp.dir, name);
      await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=d=0.5', '-i', cover, '-map', '0:a', '-map', '1:v', ...codec, '-c:v', 'png', '-disposition:v', 'attached_pic', out]);
      files.push(out);
    }
    await lib.scan(tmp.dir);
    const pictureMd5 = async (p: string) => (await run('ffmpeg', ['-v', 'error', '-i', p, '-map', '0:v', '-c', 'copy', '-f', 'md5', '-'])).stdout.trim();
    const before = await Promise.all(files.map(pictureMd5));
    expect(before.every((m) => m.startsWith('MD5='))).toBe(true);
    const r = await new TagWriter({ db, tracks: lib.tracks }).write(files.map((f) => ({ track: lib.tracks.getByPath(f)!, values: NEW })), ['genre', 'mood']);
    expect(r.files.map((f) => f.status)).toEqual(['written', 'written', 'written']);
    expect(await Promise.all(files.map(pictureMd5))).toEqual(before);
    for (const f of files) {
      const doc = openTags(f);
      expect(doc.read(doc.family === 'mp4' ? '©gen' : doc.family === 'xiph' ? 'GENRE' : 'TCON')).toEqual(['Ambient']);
      doc.dispose();
    }
  });
});

/** The newest batch id in the journal (the recovered row is no longer pending). */
function recoveredBatch(db: Database.Database): string {
  return db.prepare<[], { batch_id: string }>('SELECT batch_id FROM tag_journal ORDER BY id DESC LIMIT 1').get()!.batch_id;
}
