/**
 * @file Content sniffing of the formats added for music-metadata's other parsers, the skipped-format reasons,
 * and the natural sort key.
 */
import { describe, expect, it } from 'vitest';
import { naturalSortKey } from '../../../main/db/natural-key';
import { hasAudioExtension, skippedAudioReason, sniffAudioMime } from '../../../main/library/formats';

const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));

describe('formats beyond the common ones', () => {
  it('sniffs APE, WavPack, Musepack (SV7 and SV8), DSF, DSDIFF and Matroska/WebM', () => {
    expect(sniffAudioMime(bytes('MAC ', [0x96, 0x0f]))).toBe('audio/ape');
    expect(sniffAudioMime(bytes('wvpk', [0, 0, 0, 0]))).toBe('audio/wavpack');
    expect(sniffAudioMime(bytes('MPCK', [0]))).toBe('audio/musepack');
    expect(sniffAudioMime(bytes('MP+', [0x17]))).toBe('audio/musepack');
    expect(sniffAudioMime(bytes('DSD ', [28, 0, 0, 0]))).toBe('audio/dsf');
    expect(sniffAudioMime(bytes('FRM8', [0, 0, 0, 0, 0, 0, 0, 0], 'DSD '))).toBe('audio/dsd');
    expect(sniffAudioMime(bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f]))).toBe('audio/matroska');
    expect(sniffAudioMime(bytes('ID3', [4, 0, 0, 0, 0, 0, 0], 'MAC '))).toBe('audio/ape'); // a tag in front
  });

  it('reads their extensions and gives a reason for the audio formats it skips', () => {
    for (const name of ['a.ape', 'a.wv', 'a.mpc', 'a.dsf', 'a.dff', 'a.spx', 'a.mka', 'a.webm', 'a.mp2', 'A.MP1']) expect(hasAudioExtension(name), name).toBe(true);
    expect(skippedAudioReason('concert.AC3')).toBe('AC-3 (Dolby Digital) files are not read: there is no parser for their tags and stream');
    expect(skippedAudioReason('song.m4p')).toMatch(/protected AAC/);
    expect(skippedAudioReason('cover.jpg')).toBeNull();
    expect(skippedAudioReason('song.flac')).toBeNull();
  });

  it('natural sort keys order digit runs by value, ignore case and put folders first', () => {
    const names = ['take-10.wav', 'Take-9.wav', 'take-0005.wav', 'take-0004.wav', 'take-1.wav'];
    const sorted = [...names].sort((a, b) => (naturalSortKey(a) < naturalSortKey(b) ? -1 : 1));
    expect(sorted).toEqual(['take-1.wav', 'take-0004.wav', 'take-0005.wav', 'Take-9.wav', 'take-10.wav']);
    expect(naturalSortKey('/m/a/z.wav') < naturalSortKey('/m/a b/a.wav')).toBe(true);
    expect(naturalSortKey('Café.wav')).toBe(naturalSortKey('Cafe\u0301.wav')); // NFC
  });
});
