/**
 * @file model/audio/decoders.ts: MUSILINGO_FFMPEG > bundled > PATH, the bundled package for this platform, and
 * the per-format report the doctor prints.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AUDIO_FORMATS, bundledPackageName, checkedDecoderReport, decoderReport, findOnPath, parseAudioDecoders, resolveBinary } from '../../../../model/audio/decoders';

const dir = mkdtempSync(join(tmpdir(), 'decoders-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeTool(name: string, script = 'exit 0'): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${script}\n`);
  chmodSync(p, 0o755);
  return p;
}

describe('resolveBinary', () => {
  const onPath = fakeTool('ffmpeg');
  fakeTool('ffprobe');

  it('an explicit MUSILINGO_FFMPEG / MUSILINGO_FFPROBE wins over everything', () => {
    const b = resolveBinary('ffmpeg', { MUSILINGO_FFMPEG: '/opt/ff/ffmpeg', PATH: dir });
    expect(b).toMatchObject({ source: 'env', command: '/opt/ff/ffmpeg', available: false });
    expect(resolveBinary('ffprobe', { MUSILINGO_FFPROBE: onPath, PATH: '' })).toMatchObject({ source: 'env', available: true });
  });

  it('then the bundled binary of this OS/arch, even when another is on PATH', () => {
    const b = resolveBinary('ffmpeg', { PATH: dir });
    expect(findOnPath('ffmpeg', { PATH: dir })).toBe(onPath);
    expect(b.source).toBe('bundled');
    expect(b.pkg?.name).toBe(bundledPackageName('ffmpeg'));
    expect(b.command).toContain(join('node_modules', '@ffmpeg-installer', `${process.platform}-${process.arch}`));
    expect(b.available).toBe(true);
    expect(resolveBinary('ffprobe', { PATH: '' }).pkg?.name).toBe(`@ffprobe-installer/${process.platform}-${process.arch}`);
  });

  it('an empty MUSILINGO_FFMPEG counts as unset', () => {
    expect(resolveBinary('ffmpeg', { MUSILINGO_FFMPEG: '', PATH: '' }).source).toBe('bundled');
  });
});

describe('decoderReport', () => {
  it('lists every promised format: WAV/AIFF native, the rest through ffmpeg with its origin', () => {
    const r = decoderReport({ PATH: '' });
    expect(r.formats.map((f) => f.format)).toEqual(AUDIO_FORMATS.map((f) => f.id));
    expect(r.formats.filter((f) => f.decoder === 'native').map((f) => f.format)).toEqual(['wav', 'aiff']);
    for (const f of r.formats.filter((x) => x.decoder === 'ffmpeg')) {
      expect(f).toMatchObject({ source: 'bundled', available: true });
      expect(f.detail).toMatch(/^bundled @ffmpeg-installer\/\S+ \S+ \(.+\): /);
    }
  });

  it('names the binary that cannot run when an override points nowhere', () => {
    const r = decoderReport({ MUSILINGO_FFPROBE: join(dir, 'missing-ffprobe'), PATH: '' });
    const mp3 = r.formats.find((f) => f.format === 'mp3')!;
    expect(mp3).toMatchObject({ source: 'env', available: false });
    expect(mp3.detail).toContain('missing-ffprobe (from MUSILINGO_FFPROBE, which names no executable)');
    expect(r.formats.find((f) => f.format === 'wav')!.available).toBe(true);
  });
});

describe('checkedDecoderReport (the doctor asks ffmpeg which decoders it has)', () => {
  const listing = [
    'Decoders:', ' V..... = Video', ' ------', ' V....D h264                 H.264', ' A....D aac                  AAC (Advanced Audio Coding)',
    ' AF...D alac                 ALAC (Apple Lossless Audio Codec)', ' AF...D flac                 FLAC (Free Lossless Audio Codec)',
    ' A....D mp3float             MP3 (MPEG audio layer 3) (codec mp3)', ' A....D vorbis               Vorbis',
  ].join('\n');

  it('parses the audio decoders of `ffmpeg -decoders`', () => {
    expect([...parseAudioDecoders(listing)].sort()).toEqual(['aac', 'alac', 'flac', 'mp3float', 'vorbis']);
  });

  it('the bundled ffmpeg of this platform has a decoder for every promised format', async () => {
    const r = await checkedDecoderReport({ PATH: '' });
    expect(r.formats.filter((f) => !f.available).map((f) => `${f.format}: ${f.detail}`)).toEqual([]);
    expect(r.ffmpeg.source).toBe('bundled');
  });

  it('a build without an Opus decoder shows Opus as unavailable, naming the decoder', async () => {
    const printf = listing.split('\n').map((l) => `'${l}'`).join(' ');
    const ff = fakeTool('ffmpeg-no-opus', `printf '%s\\n' ${printf}`);
    const r = await checkedDecoderReport({ MUSILINGO_FFMPEG: ff, MUSILINGO_FFPROBE: join(dir, 'ffprobe'), PATH: '' });
    const opus = r.formats.find((f) => f.format === 'opus')!;
    expect(opus.available).toBe(false);
    expect(opus.detail).toContain('has no opus/libopus decoder');
    expect(r.formats.filter((f) => !f.available).map((f) => f.format)).toEqual(['opus']);
  });
});
