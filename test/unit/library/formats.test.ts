/**
 * @file Which names the library reads or skips, and content sniffing by magic bytes.
 */
import { describe, expect, it } from 'vitest';
import { hasAudioExtension, isIgnoredName, sniffAudioMime } from '../../../main/library/formats';
import { isIgnoredWatchPath } from '../../../main/library/watch';
import { parseYearRange } from '../../../main/cli/commands/search';

function bytes(...parts: (string | number[])[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));
}

describe('names', () => {
  it.each(['a.mp3', 'B.FLAC', 'c.ogg', 'd.oga', 'e.opus', 'f.m4a', 'g.wav', 'h.aiff', 'i.aif', 'j.wma', 'k.aac'])('%s is audio', (n) => {
    expect(hasAudioExtension(n)).toBe(true);
  });
  it.each(['cover.jpg', 'notes.txt', 'mp3', '.mp3', 'song.mp3.part', 'x.flac.bak'])('%s is not audio', (n) => {
    expect(hasAudioExtension(n)).toBe(false);
  });
  it.each(['.DS_Store', '._song.mp3', '.git', 'Thumbs.db', 'desktop.ini', '@eaDir', '$RECYCLE.BIN', 'System Volume Information', 'lost+found', '#recycle', 'song.mp3.part', '~$temp.mp3'])(
    '%s is skipped',
    (n) => expect(isIgnoredName(n)).toBe(true),
  );
  it.each(['song.mp3', 'Music', '01 - Intro.flac', 'desktop.ini.mp3'])('%s is kept', (n) => expect(isIgnoredName(n)).toBe(false));

  it('watcher ignores hidden paths and non-audio files but not folders', () => {
    expect(isIgnoredWatchPath('/m/.hidden', undefined)).toBe(true);
    expect(isIgnoredWatchPath('/m/cover.jpg', true)).toBe(true);
    expect(isIgnoredWatchPath('/m/Album.2020', false)).toBe(false);
    expect(isIgnoredWatchPath('/m/a.flac', true)).toBe(false);
  });
});

describe('sniffAudioMime', () => {
  it('recognises each container by its magic bytes', () => {
    expect(sniffAudioMime(bytes('fLaC', [0, 0, 0, 34]))).toBe('audio/flac');
    expect(sniffAudioMime(bytes('OggS', [0, 2]))).toBe('audio/ogg');
    expect(sniffAudioMime(bytes('RIFF', [1, 2, 3, 4], 'WAVEfmt '))).toBe('audio/wav');
    expect(sniffAudioMime(bytes('FORM', [1, 2, 3, 4], 'AIFF'))).toBe('audio/aiff');
    expect(sniffAudioMime(bytes('FORM', [1, 2, 3, 4], 'AIFC'))).toBe('audio/aiff');
    expect(sniffAudioMime(bytes([0, 0, 0, 32], 'ftypM4A '))).toBe('audio/mp4');
    expect(sniffAudioMime(bytes([0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9]))).toBe('audio/ms-asf');
    expect(sniffAudioMime(bytes([0xff, 0xfb, 0x90, 0x64]))).toBe('audio/mpeg');
    expect(sniffAudioMime(bytes([0xff, 0xf1, 0x50, 0x80]))).toBe('audio/aacp');
  });

  it('looks past an ID3v2 tag and its padding', () => {
    const id3 = bytes('ID3', [3, 0, 0], [0, 0, 0, 10], new Array<number>(10).fill(0), [0, 0, 0], 'fLaC');
    expect(sniffAudioMime(id3)).toBe('audio/flac');
    const mp3 = bytes('ID3', [4, 0, 0], [0, 0, 0, 2], [1, 2], [0xff, 0xfb, 0x90, 0x64]);
    expect(sniffAudioMime(mp3)).toBe('audio/mpeg');
    const huge = bytes('ID3', [4, 0, 0], [0, 0, 0x7f, 0x7f], [1, 2, 3]);
    expect(sniffAudioMime(huge)).toBe('audio/mpeg'); // tag larger than what was read
  });

  it('says null for text, images and random bytes', () => {
    expect(sniffAudioMime(bytes('hello world, not audio'))).toBeNull();
    expect(sniffAudioMime(bytes([0x89], 'PNG\r\n'))).toBeNull();
    expect(sniffAudioMime(bytes([0xff, 0xd8, 0xff, 0xe0]))).toBeNull(); // JPEG: sync-like but reserved version
    expect(sniffAudioMime(new Uint8Array(0))).toBeNull();
    expect(sniffAudioMime(bytes('RIFF', [1, 2, 3, 4], 'AVI '))).toBeNull();
  });
});

describe('parseYearRange', () => {
  it('accepts a year or a range and rejects the rest', () => {
    expect(parseYearRange('1995')).toEqual({ yearFrom: 1995, yearTo: 1995 });
    expect(parseYearRange('1990-1999')).toEqual({ yearFrom: 1990, yearTo: 1999 });
    expect(() => parseYearRange('1999-1990')).toThrow(/backwards/);
    expect(() => parseYearRange('nineties')).toThrow(/--year must be/);
  });
});
