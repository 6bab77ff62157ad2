/**
 * @file Every supported format, encoded by ffmpeg with tags set, is scanned and its tags and stream
 * properties land in the tracks table.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/db/open';
import { LibraryService } from '../../../main/library/library-service';
import { makeAudio, tempDir } from '../../helpers/library-audio';

const TITLE = 'Ünïcode Tïtle ☂';
const TAGS = {
  title: TITLE,
  artist: 'Ärtist One',
  album: 'Test Album',
  album_artist: 'Album Artist',
  genre: 'Rock;Pop',
  date: '1995',
  track: '3/12',
  disc: '1/2',
  comment: 'A comment',
  mood: 'Happy',
  BPM: '120',
  TBPM: '120',
  key: 'Am',
  TKEY: 'Am',
};

interface Expect {
  file: string;
  kind: string;
  codec: RegExp;
  sampleRateHz?: number;
  has: { albumArtist?: boolean; disc?: boolean; year?: boolean; mood?: boolean; bpm?: boolean; key?: boolean; comment?: boolean };
}

const CASES: Expect[] = [
  { file: 'a.mp3', kind: 'mp3', codec: /MPEG 1 Layer 3/, sampleRateHz: 44100, has: { albumArtist: true, disc: true, year: true, bpm: true, key: true } },
  { file: 'a.flac', kind: 'flac', codec: /FLAC/, sampleRateHz: 44100, has: { albumArtist: true, disc: true, year: true, mood: true, bpm: true, key: true, comment: true } },
  { file: 'a.ogg', kind: 'ogg', codec: /Vorbis/, sampleRateHz: 44100, has: { albumArtist: true, disc: true, year: true, mood: true, bpm: true, key: true, comment: true } },
  { file: 'a.opus', kind: 'opus', codec: /Opus/, sampleRateHz: 48000, has: { albumArtist: true, disc: true, year: true, mood: true, bpm: true, key: true, comment: true } },
  { file: 'aac.m4a', kind: 'm4a', codec: /AAC/, sampleRateHz: 44100, has: { albumArtist: true, disc: true, year: true, comment: true } },
  { file: 'alac.m4a', kind: 'alac', codec: /ALAC/, sampleRateHz: 44100, has: { albumArtist: true, disc: true, year: true, comment: true } },
  { file: 'a.wav', kind: 'wav', codec: /PCM/, sampleRateHz: 44100, has: { year: true, comment: true } },
  { file: 'a.aiff', kind: 'aiff', codec: /PCM/, sampleRateHz: 44100, has: { albumArtist: true, disc: true, year: true, bpm: true, key: true, comment: true } },
  { file: 'a.wma', kind: 'wma', codec: /Windows Media Audio/, has: { albumArtist: true, disc: true, comment: true } },
];

describe('scanning every supported format', () => {
  const tmp = tempDir();
  let db: Database.Database;
  let lib: LibraryService;

  beforeAll(async () => {
    await Promise.all(CASES.map((c) => makeAudio(join(tmp.dir, c.file), c.kind, TAGS, { seconds: 1 })));
    // A valid FLAC with the wrong extension is read by its content, not its name.
    copyFileSync(join(tmp.dir, 'a.flac'), join(tmp.dir, 'really-flac.mp3'));
    writeFileSync(join(tmp.dir, 'notes.txt'), 'not music');
    db = openDatabase(':memory:');
    lib = new LibraryService(db);
    const s = await lib.scan(tmp.dir);
    expect(s.errors).toBe(0);
  });
  afterAll(() => {
    db.close();
    tmp.cleanup();
  });

  it('indexes only audio files', () => {
    expect(lib.tracks.count().present).toBe(CASES.length + 1);
    expect(lib.tracks.getByPath(join(tmp.dir, 'notes.txt'))).toBeUndefined();
  });

  it.each(CASES)('$file: tags and stream properties', (c) => {
    const t = lib.tracks.getByPath(join(tmp.dir, c.file));
    expect(t, c.file).toBeDefined();
    if (!t) return;
    expect(t.title).toBe(TITLE);
    expect(t.artist).toBe('Ärtist One');
    expect(t.artists).toEqual(['Ärtist One']);
    expect(t.album).toBe('Test Album');
    expect(t.trackNo).toBe(3);
    expect(t.genres).toEqual(['Rock', 'Pop']);
    expect(t.genre).toBe('Rock; Pop');
    expect(t.codec ?? '').toMatch(c.codec);
    // AAC in MP4: music-metadata reports the sample entry's channel count, which ffmpeg writes as 2 for mono.
    // ASF (WMA): music-metadata's parser reports neither channels nor sample rate.
    if (c.kind !== 'm4a' && c.kind !== 'wma') expect(t.channels).toBe(1);
    if (c.sampleRateHz) expect(t.sampleRateHz).toBe(c.sampleRateHz);
    expect(t.durationMs).not.toBeNull();
    expect(Math.abs((t.durationMs ?? 0) - 1000)).toBeLessThan(120);
    expect(t.fingerprint).toMatch(/^\d+:[0-9a-f]{40}$/);
    expect(t.sizeBytes).toBeGreaterThan(0);
    expect(t.nativeTags).not.toBeNull();
    if (c.has.albumArtist) expect(t.albumArtist).toBe('Album Artist');
    if (c.has.disc) expect([t.discNo, t.discOf]).toEqual([1, 2]);
    if (c.has.year) expect(t.year).toBe(1995);
    if (c.has.mood) expect(t.mood).toBe('Happy');
    if (c.has.bpm) expect(t.bpm).toBe(120);
    if (c.has.key) expect(t.musicalKey).toBe('Am');
    if (c.has.comment) expect(t.comment).toBe('A comment');
  });

  it('reads a FLAC named .mp3 as FLAC', () => {
    const t = lib.tracks.getByPath(join(tmp.dir, 'really-flac.mp3'));
    expect(t?.codec).toBe('FLAC');
    expect(t?.title).toBe(TITLE);
  });

  it('makes tags searchable at once', () => {
    const hits = lib.search.search({ text: 'tïtle', limit: 100 });
    expect(hits.length).toBe(CASES.length + 1);
    expect(lib.search.search({ text: '', genre: 'pop', limit: 100 }).length).toBe(CASES.length + 1);
  });
});
