/**
 * @file Watching any tree: symbolic-link loops are watched once per real folder (the CLI prints "Watching",
 * picks up changes and stops at once on Ctrl-C), moves and renames across the tree keep ids and captions, also
 * for a folder of 1,000 files moved as a whole and for real Ogg files (wesnoth-1.16-music) moved into a folder
 * with a Unicode name.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/db/open';
import { LibraryService } from '../../../main/library/library-service';
import { makeWav, tempDir, waitFor } from '../../helpers/library-audio';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'musilingo.mjs');
const WESNOTH = '/usr/share/games/wesnoth/1.16/data/core/music';

let tmp: ReturnType<typeof tempDir>;

beforeEach(() => {
  tmp = tempDir('musilingo-watch-tree-');
});
afterEach(() => tmp.cleanup());

function addCaption(db: Database.Database, trackId: number, text: string): void {
  db.prepare("INSERT INTO captions (track_id, start_ms, length_ms, model_id, text, created_at) VALUES (?, 0, 30000, 'm', ?, 0)").run(trackId, text);
}

describe('watch on a tree with symbolic-link loops', () => {
  it('starts, follows changes through each real folder once, and stops at once on Ctrl-C', async () => {
    const music = join(tmp.dir, 'music');
    mkdirSync(join(music, 'sub'), { recursive: true });
    mkdirSync(join(music, 'loop'));
    writeFileSync(join(music, 'sub', 'one.wav'), makeWav({ freqHz: 300 }));
    // The tree that sent chokidar round forever (it was never ready, grew past 1 GB and ignored Ctrl-C):
    symlinkSync('..', join(music, 'sub', 'back')); // a link to an ancestor
    symlinkSync(join('..', 'sub'), join(music, 'loop', 'sub')); // a second way into sub/
    symlinkSync('.', join(music, 'loop', 'here')); // a link to itself
    symlinkSync('self', join(music, 'loop', 'self')); // a link that resolves to itself (ELOOP)
    const dbPath = join(tmp.dir, 'lib.sqlite');
    const child = spawn(process.execPath, [BIN, '--db', dbPath, 'watch', music], { env: { ...process.env, MUSILINGO_HOME: join(tmp.dir, 'home') } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await waitFor(() => out.includes('Watching'), 'the watcher to start', 20_000);
      expect(out).toMatch(/\(3 folders, ready in/); // music, music/sub, music/loop: each once
      writeFileSync(join(music, 'loop', 'two.wav'), makeWav({ freqHz: 310 }));
      await waitFor(() => /Z \S+: 1 added/.test(out), 'the added file to be reported', 20_000); // a watch line
    } finally {
      child.kill('SIGINT');
    }
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running 10 s after Ctrl-C'), 10_000))]);
    expect(code, out).toBe(0);
    const db = new Database(dbPath, { readonly: true });
    const paths = db.prepare('SELECT path FROM tracks ORDER BY path').pluck().all();
    db.close();
    // one.wav is stored once, through whichever way into sub/ the walk took first.
    expect(paths).toHaveLength(2);
    expect(paths).toContain(join(music, 'loop', 'two.wav'));
    expect([join(music, 'sub', 'one.wav'), join(music, 'loop', 'sub', 'one.wav')]).toContain(paths.find((p) => String(p).endsWith('one.wav')));
  });
});

describe('skipped formats while watching', () => {
  it('an audio file in a format the library does not read is listed as skipped, and forgotten when deleted', async () => {
    const music = join(tmp.dir, 'music');
    mkdirSync(music);
    const db = openDatabase(':memory:');
    const lib = new LibraryService(db, { watch: { debounceMs: 50, maxWaitMs: 500 } });
    try {
      await lib.scan(music);
      await lib.watch();
      const p = join(music, 'live.tta');
      writeFileSync(p, 'TTA1 not really');
      const skipped = await waitFor(() => lib.scanErrors.list({ skipped: true })[0], 'the skipped file to be listed');
      expect(skipped).toMatchObject({ path: p, code: 'unsupported', message: expect.stringContaining('TTA (True Audio) files are not read') });
      expect(lib.scanErrors.list()).toEqual([]);
      rmSync(p);
      await waitFor(() => lib.scanErrors.list({ skipped: true }).length === 0, 'the deleted file to be forgotten');
    } finally {
      await lib.stop();
      db.close();
    }
  });
});

describe('moves and renames while watching keep ids and captions', () => {
  it('a folder of 1,000 files moved as a whole, and a renamed file, keep their ids; nothing is missing', async () => {
    const music = join(tmp.dir, 'music');
    const album = join(music, 'incoming', 'Album');
    mkdirSync(album, { recursive: true });
    mkdirSync(join(music, 'sorted'));
    for (let i = 0; i < 1000; i++) writeFileSync(join(album, `track ${i}.wav`), makeWav({ freqHz: 100 + i, samples: 80 }));
    writeFileSync(join(music, 'single.wav'), makeWav({ freqHz: 50, samples: 80 }));
    const db = openDatabase(':memory:');
    const lib = new LibraryService(db, { watch: { debounceMs: 100, maxWaitMs: 2000 } });
    try {
      const s = await lib.scan(music);
      expect(s.added).toBe(1001);
      const before = new Map(lib.tracks.list({ limit: 2000 }).map((t) => [t.path.slice(album.length), t.id]));
      const first = lib.tracks.getByPath(join(album, 'track 0.wav'))!;
      const single = lib.tracks.getByPath(join(music, 'single.wav'))!;
      addCaption(db, first.id, 'a low hum');
      addCaption(db, single.id, 'a lone tone');
      await lib.watch();

      const moved = join(music, 'sorted', 'Älbum ☂');
      renameSync(album, moved);
      renameSync(join(music, 'single.wav'), join(moved, 'single — renamed.wav'));
      await waitFor(() => lib.tracks.count().present === 1001 && lib.tracks.getByPath(join(moved, 'track 999.wav')), 'the moved folder to be applied', 30_000);
      await lib.idle();
      expect(lib.tracks.count()).toEqual({ present: 1001, missing: 0 });
      for (const [rel, id] of before) {
        if (!rel.startsWith('/track')) continue;
        expect(lib.tracks.getByPath(join(moved, rel))?.id, rel).toBe(id);
      }
      expect(lib.tracks.getByPath(join(moved, 'single — renamed.wav'))?.id).toBe(single.id);
      const captions = db.prepare('SELECT track_id AS id, text FROM captions ORDER BY track_id').all();
      expect(captions).toEqual([
        { id: Math.min(first.id, single.id), text: first.id < single.id ? 'a low hum' : 'a lone tone' },
        { id: Math.max(first.id, single.id), text: first.id < single.id ? 'a lone tone' : 'a low hum' },
      ]);
    } finally {
      await lib.stop();
      db.close();
    }
  }, 120_000);

  it.runIf(existsSync(WESNOTH))('real Ogg tracks moved into a folder with a Unicode name keep ids, tags and durations', async () => {
    const music = join(tmp.dir, 'music');
    mkdirSync(music);
    const picks = readdirSync(WESNOTH).filter((f) => f.endsWith('.ogg')).sort().slice(0, 3);
    for (const f of picks) copyFileSync(join(WESNOTH, f), join(music, f));
    const db = openDatabase(':memory:');
    const lib = new LibraryService(db, { watch: { debounceMs: 100, maxWaitMs: 2000 } });
    try {
      await lib.scan(music);
      const before = picks.map((f) => lib.tracks.getByPath(join(music, f))!);
      expect(before.every((t) => t.durationMs !== null && t.durationMs > 10_000)).toBe(true);
      await lib.watch();
      const dest = join(music, 'Wesnoth — Ünïcode 音楽');
      mkdirSync(dest);
      for (const f of picks) renameSync(join(music, f), join(dest, f));
      await waitFor(() => picks.every((f) => lib.tracks.getByPath(join(dest, f))), 'the moved tracks', 30_000);
      await lib.idle();
      for (const [i, f] of picks.entries()) {
        const t = lib.tracks.getByPath(join(dest, f))!;
        expect(t.id).toBe(before[i]!.id);
        expect(t.durationMs).toBe(before[i]!.durationMs);
        expect(t.title).toBe(before[i]!.title);
      }
      expect(lib.tracks.count()).toEqual({ present: picks.length, missing: 0 });
    } finally {
      await lib.stop();
      db.close();
    }
  }, 60_000);
});
