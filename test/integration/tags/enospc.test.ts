/**
 * @file A real full disk: a small tmpfs holds the file but not its temporary copy. The write fails with a clear
 * message naming the file, the original is intact, no temporary file is left, and the library is unchanged.
 * Needs permission to mount a tmpfs (root, as in CI); skipped with that reason elsewhere (the injected ENOSPC in
 * faults.test.ts covers the same path everywhere).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/db/open';
import { LibraryService } from '../../../main/library/library-service';
import { TagWriter } from '../../../main/tags/writer';
import { makeAudio, tempDir } from '../../helpers/library-audio';

const tmp = tempDir('musilingo-enospc-');
const mnt = join(tmp.dir, 'small');

function tryMount(): boolean {
  try {
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mnt], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const isMounted = process.platform === 'linux' && tryMount();

describe.skipIf(!isMounted)('a full disk (tmpfs of 512 KiB, needs permission to mount)', () => {
  beforeAll(async () => {
    const src = join(tmp.dir, 'big.wav');
    await makeAudio(src, 'wav', { title: 'Big' }, { seconds: 1.8, channels: 2 }); // ~318 KB: fits once, not twice
    copyFileSync(src, join(mnt, 'big.wav'));
  });
  afterAll(() => {
    execFileSync('umount', [mnt]);
    rmSync(tmp.dir, { recursive: true, force: true });
  });

  it('fails the file with "the disk is full", leaves the original and no temp file', async () => {
    const p = join(mnt, 'big.wav');
    const bytes = readFileSync(p);
    const db = openDatabase(':memory:');
    const lib = new LibraryService(db);
    await lib.scan(mnt);
    const track = lib.tracks.getByPath(p)!;
    const r = await new TagWriter({ db, tracks: lib.tracks }).write([{ track, values: { genre: ['Jazz'] } }], ['genre']);
    expect(r.files[0]).toMatchObject({ status: 'failed', message: expect.stringMatching(/big\.wav" could not be written: the disk is full; the original is unchanged/) as unknown });
    expect(readFileSync(p).equals(bytes)).toBe(true);
    expect(readdirSync(mnt)).toEqual(['big.wav']);
    expect(lib.tracks.getById(track.id)!.fingerprint).toBe(track.fingerprint);
    db.close();
  });
});

if (!isMounted) rmSync(tmp.dir, { recursive: true, force: true });
