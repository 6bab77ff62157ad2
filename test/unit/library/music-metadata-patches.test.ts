/**
 * The source patches bundled into music-metadata (main/library/music-metadata-patches.ts): each still finds its
 * text in the installed package, and the padding patch stops at ID3v2 padding without changing one parsed value.
 * The patched package runs from a copy under node_modules (so its own imports resolve as installed).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MUSIC_METADATA_PATCHES, patchesModule } from '../../../main/library/music-metadata-patches';
import { makeAudio, tempDir } from '../../helpers/library-audio';

type MusicMetadata = typeof import('music-metadata');

const require = createRequire(import.meta.url);
const ROOT = join(import.meta.dirname, '..', '..', '..');
// The package's root (its "exports" hide package.json): lib/index.js is two levels below it.
const PACKAGE = join(dirname(require.resolve('music-metadata')), '..');

/** An ID3v2 tag's body size (syncsafe) from the first 10 bytes. */
function tagSize(b: Buffer): number {
  return (b[6]! << 21) | (b[7]! << 14) | (b[8]! << 7) | b[9]!;
}

/** `mp3` with `extra` zero bytes of padding added at the end of its ID3v2 tag. */
function withPadding(mp3: Buffer, extra: number): Buffer {
  expect(mp3.subarray(0, 3).toString('latin1')).toBe('ID3');
  const size = tagSize(mp3) + extra;
  const header = Buffer.from(mp3.subarray(0, 10));
  header.set([(size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f], 6);
  const end = 10 + tagSize(mp3);
  return Buffer.concat([header, mp3.subarray(10, end), Buffer.alloc(extra), mp3.subarray(end)]);
}

describe('music-metadata patches', () => {
  let dir: { dir: string; cleanup: () => void };
  let copy: string;
  let installed: MusicMetadata;
  let patched: MusicMetadata;

  beforeAll(async () => {
    dir = tempDir('musilingo-mm-patch-');
    copy = mkdtempSync(join(ROOT, 'node_modules', '.musilingo-test-music-metadata-'));
    cpSync(PACKAGE, copy, { recursive: true });
    for (const p of MUSIC_METADATA_PATCHES) {
      const file = join(copy, 'lib', p.libFile);
      writeFileSync(file, p.apply(readFileSync(file, 'utf8')));
    }
    installed = await import('music-metadata');
    patched = (await import(pathToFileURL(join(copy, 'lib', 'index.js')).href)) as MusicMetadata;
  });

  afterAll(() => {
    dir?.cleanup();
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  it('each patch finds its text in the installed package and names itself when the text is gone', () => {
    expect(MUSIC_METADATA_PATCHES.map((p) => p.libFile)).toEqual(['common/MetadataCollector.js', 'id3v2/ID3v2Parser.js']);
    for (const p of MUSIC_METADATA_PATCHES) {
      const file = join(PACKAGE, 'lib', p.libFile);
      expect(patchesModule(p, file)).toBe(true);
      expect(patchesModule(p, join(PACKAGE, 'lib', 'core.js'))).toBe(false);
      const code = readFileSync(file, 'utf8');
      expect(p.apply(code)).not.toBe(code);
      expect(() => p.apply('export class Nothing {}')).toThrow(p.name);
    }
  });

  for (const version of ['3', '4']) {
    it(`ID3v2.${version}: stops at 64 KiB of padding and parses exactly what the installed package parses`, async () => {
      const plain = join(dir.dir, `v${version}.mp3`);
      await makeAudio(plain, 'mp3', { title: 'Padded', artist: 'Tagger', album: 'Zeros', genre: 'Jazz', date: '1999', track: '3/9', comment: 'c' }, { seconds: 1 });
      // makeAudio writes ID3v2.3; ffmpeg copies the stream under an ID3v2.4 tag for the other case.
      const bytes = readFileSync(plain);
      let source = bytes;
      if (version === '4') {
        const v4 = join(dir.dir, 'v4-tag.mp3');
        expect(spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', plain, '-c', 'copy', '-id3v2_version', '4', v4]).status).toBe(0);
        source = readFileSync(v4);
      }
      expect(source[3]).toBe(Number(version));
      const padded = withPadding(source, 64 * 1024);
      const opts = { skipCovers: true, duration: false };
      const before = await installed.parseBuffer(padded, { mimeType: 'audio/mpeg', size: padded.length }, opts);
      const after = await patched.parseBuffer(padded, { mimeType: 'audio/mpeg', size: padded.length }, opts);

      // The installed parser walks the padding as thousands of empty frames (a warning each); the patched one does not.
      const paddingWarnings = (w: { message: string }[]) => w.filter((x) => /frame-header-ID|empty tag type/.test(x.message)).length;
      expect(paddingWarnings(before.quality.warnings)).toBeGreaterThan(6000);
      expect(paddingWarnings(after.quality.warnings)).toBe(0);

      // Everything else is the same: tags (native and common) and the stream.
      expect(after.native).toEqual(before.native);
      expect(after.common).toEqual(before.common);
      expect(after.format).toEqual(before.format);
      expect(after.common.title).toBe('Padded');
      expect(after.common.genre).toEqual(['Jazz']);
    });
  }
});
