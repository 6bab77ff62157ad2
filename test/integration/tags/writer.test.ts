/**
 * @file The safe tag write on real files of every writable format (made by ffmpeg) and on real Debian
 * wesnoth-1.16-music OGGs: write, read back with music-metadata, ffprobe and mutagen-inspect, undo, and read
 * again: the same tag dump as before, the same PCM md5 throughout, the same track id.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Database from 'better-sqlite3';
import { parseFile } from 'music-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/db/open';
import { journalOfBatch, listBatches } from '../../../main/db/tags';
import { fingerprintFile } from '../../../main/library/fingerprint';
import { nodeFs } from '../../../main/library/fs';
import { LibraryService } from '../../../main/library/library-service';
import { slotsFor, type TagField } from '../../../main/tags/fields';
import { openTags } from '../../../main/tags/tag-io';
import { TagWriter, type FieldValues } from '../../../main/tags/writer';
import { makeAudio, tempDir } from '../../helpers/library-audio';
import { ffprobeTags, id3Version, mutagenTags, pcmMd5, WESNOTH_OGGS } from '../../helpers/tag-readers';

const run = promisify(execFile);

const NEW: FieldValues = {
  genre: ['Jazz', 'Bossa nova'],
  mood: ['calm'],
  instruments: ['piano', 'double bass'],
  caption: ['A calm piece with piano ✓ 日本; soft and slow'],
};
const FIELDS = Object.keys(NEW) as TagField[];

interface Case {
  readonly file: string;
  /** makeAudio kind, or 'mp3v24' (ffmpeg's default ID3v2.4) or 'wesnoth:N'. */
  readonly kind: string;
  readonly id3?: 3 | 4;
}

const CASES: Case[] = [
  { file: 'v24.mp3', kind: 'mp3v24', id3: 4 },
  { file: 'v23.mp3', kind: 'mp3', id3: 3 },
  { file: 'a.flac', kind: 'flac' },
  { file: 'a.ogg', kind: 'ogg' },
  { file: 'a.opus', kind: 'opus' },
  { file: 'aac.m4a', kind: 'm4a' },
  { file: 'alac.m4a', kind: 'alac' },
  { file: 'a.wav', kind: 'wav' },
  { file: 'a.aiff', kind: 'aiff', id3: 4 },
  { file: 'defeat.ogg', kind: 'wesnoth:0' },
  { file: 'victory.ogg', kind: 'wesnoth:1' },
];

const TAGS = { title: 'Ünïcode — 日本', artist: 'Tester', genre: 'Rock', comment: 'kept comment' };

async function make(dir: string, c: Case): Promise<void> {
  const out = join(dir, c.file);
  if (c.kind === 'mp3v24') {
    await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=330:duration=0.5', '-c:a', 'libmp3lame', '-b:a', '64k', '-id3v2_version', '4',
      ...Object.entries(TAGS).flatMap(([k, v]) => ['-metadata', `${k}=${v}`]), out]);
  } else if (c.kind.startsWith('wesnoth:')) {
    copyFileSync(WESNOTH_OGGS[Number(c.kind.slice(8))]!, out);
  } else {
    await makeAudio(out, c.kind, TAGS, { seconds: 0.5 });
  }
}

/**
 * Vorbis comment field names are case-insensitive (Vorbis I spec, 5.2.3); ffmpeg writes "title", the tag library
 * writes "TITLE". Values must match byte for byte; names are compared in upper case.
 */
function vorbisKeysUpper(lines: string[]): string[] {
  return lines.map((l) => (/^[a-z_]+=/.test(l) ? l.replace(/^[a-z_]+/, (k) => k.toUpperCase()) : l)).sort();
}

/** ffprobe shows Vorbis comment names as stored; see {@link vorbisKeysUpper}. */
function lowerKeys(tags: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [k.toLowerCase(), v]));
}

describe('writing tags into every format, then undoing', () => {
  const tmp = tempDir('musilingo-tags-');
  let db: Database.Database;
  let lib: LibraryService;
  let writer: TagWriter;
  const before = new Map<string, { pcm: string; ffprobe: Record<string, string>; mutagen: string[]; id: number; id3: number | null }>();

  beforeAll(async () => {
    await Promise.all(CASES.map((c) => make(tmp.dir, c)));
    db = openDatabase(':memory:');
    lib = new LibraryService(db);
    const s = await lib.scan(tmp.dir);
    expect(s.errors).toBe(0);
    writer = new TagWriter({ db, tracks: lib.tracks });
    for (const c of CASES) {
      const p = join(tmp.dir, c.file);
      before.set(c.file, {
        pcm: await pcmMd5(p),
        ffprobe: await ffprobeTags(p),
        mutagen: await mutagenTags(p),
        id: lib.tracks.getByPath(p)!.id,
        id3: id3Version(readFileSync(p)),
      });
    }
  }, 120_000);
  afterAll(() => {
    db.close();
    tmp.cleanup();
  });

  let batchId = '';

  it('writes genre, mood, instruments and caption into every file in one journaled batch', async () => {
    const items = CASES.map((c) => ({ track: lib.tracks.getByPath(join(tmp.dir, c.file))!, values: NEW }));
    const r = await writer.write(items, FIELDS);
    expect(r.files.map((f) => [f.path.split('/').pop(), f.status, f.message])).toEqual(CASES.map((c) => [c.file, 'written', null]));
    batchId = r.batchId!;
    const journal = journalOfBatch(db, batchId);
    expect(journal).toHaveLength(CASES.length);
    expect(journal.every((j) => j.state === 'written')).toBe(true);
    // The journal holds the old values: the caption slot was absent, genre was Rock.
    const flac = journal.find((j) => j.path.endsWith('a.flac'))!;
    expect(flac.oldValues).toMatchObject({ GENRE: ['Rock'], MUSILINGO_CAPTION: null, MOOD: null });
    expect(flac.newValues).toMatchObject({ GENRE: ['Jazz', 'Bossa nova'], MOOD: ['calm'] });
  });

  it.each(CASES)('$file: read back by music-metadata, ffprobe and mutagen; same audio, same track id', async (c) => {
    const p = join(tmp.dir, c.file);
    const b = before.get(c.file)!;
    const mm = await parseFile(p);
    expect(mm.common.genre?.flatMap((g) => g.split(';').map((x) => x.trim()))).toEqual(['Jazz', 'Bossa nova']);
    const ff = await ffprobeTags(p);
    expect(Object.entries(ff).find(([k]) => k.toLowerCase() === 'genre')?.[1]).toMatch(/Jazz/);
    const mut = (await mutagenTags(p)).join('\n');
    expect(mut).toContain('double bass');
    expect(mut).toContain('A calm piece with piano ✓ 日本; soft and slow');
    expect(mut).toMatch(/calm/);
    // Our own reader agrees slot by slot.
    const doc = openTags(p);
    try {
      for (const f of FIELDS) for (const s of slotsFor(doc.family, f, doc.hasRiffInfo)) expect(doc.read(s.key)).toEqual(s.multi ? NEW[f] : [NEW[f]!.join('; ')]);
    } finally {
      doc.dispose();
    }
    expect(await pcmMd5(p)).toBe(b.pcm);
    if (c.id3) expect(id3Version(readFileSync(p))).toBe(b.id3);
    const t = lib.tracks.getByPath(p)!;
    expect(t.id).toBe(b.id);
    expect(t.fingerprint).toBe((await fingerprintFile(nodeFs, p, statSync(p).size)).fingerprint);
    expect(t.genres).toEqual(['Jazz', 'Bossa nova']);
    // Fields the write did not touch are still there (the library's reader, which repairs RIFF INFO's UTF-8).
    expect(t.title).toBe(c.kind.startsWith('wesnoth') ? (b.ffprobe.TITLE ?? b.ffprobe.title) : TAGS.title);
  });

  it('a rescan after the write sees the same tracks: nothing added, nothing moved', async () => {
    const s = await lib.scan(tmp.dir);
    expect(s.added).toBe(0);
    expect(s.moved).toBe(0);
    expect(lib.tracks.count().present).toBe(CASES.length);
  });

  it('undo restores every file exactly: the same mutagen dump and ffprobe tags as before, audio unchanged', async () => {
    const r = await writer.undo(batchId);
    expect(r.files.filter((f) => f.status !== 'written')).toEqual([]);
    for (const c of CASES) {
      const p = join(tmp.dir, c.file);
      const b = before.get(c.file)!;
      expect(vorbisKeysUpper(await mutagenTags(p)), c.file).toEqual(vorbisKeysUpper(b.mutagen));
      expect(lowerKeys(await ffprobeTags(p)), c.file).toEqual(lowerKeys(b.ffprobe));
      expect(await pcmMd5(p), c.file).toBe(b.pcm);
      if (c.id3) expect(id3Version(readFileSync(p)), c.file).toBe(b.id3);
      expect(lib.tracks.getByPath(p)!.id).toBe(b.id);
    }
    const [undo, write] = listBatches(db);
    expect(undo).toMatchObject({ kind: 'undo', undoes: batchId, written: CASES.length });
    expect(write).toMatchObject({ id: batchId, undoneBy: undo!.id });
    await expect(writer.undo(batchId)).rejects.toThrow(/already undone/);
  });
});
