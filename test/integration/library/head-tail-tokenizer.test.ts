/**
 * @file The scanner's tag parse from the bytes it already read (main/library/head-tail-tokenizer.ts) sees what
 * music-metadata's own file reader sees: the same tags and stream properties for every format, with at most one
 * more disk read for ordinary files and reads through the open handle where a tag reaches past the first 64 KiB.
 * Reading past the end behaves as strtok3's tokenizers do.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseFile, parseFromTokenizer } from 'music-metadata';
import { EndOfStreamError } from 'strtok3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintHandle, FINGERPRINT_CHUNK_BYTES } from '../../../main/library/fingerprint';
import { sniffAudioMime } from '../../../main/library/formats';
import { nodeFs, type LibraryFileHandle } from '../../../main/library/fs';
import { HeadTailTokenizer } from '../../../main/library/head-tail-tokenizer';
import { readTrackMeta, toTrackMeta } from '../../../main/library/metadata';
import { FORMAT_ARGS, tempDir } from '../../helpers/library-audio';

const run = promisify(execFile);
const tmp = tempDir('musilingo-headtail-');
const KINDS = ['mp3', 'flac', 'ogg', 'opus', 'm4a', 'alac', 'wav', 'aiff', 'wma'] as const;
const file = (k: string): string => join(tmp.dir, `${k}.${k === 'alac' ? 'm4a' : k}`);
const BIG_TAG = join(tmp.dir, 'big-tag.mp3');

/** 40 s of pink noise (it does not compress away: every file is larger than the two ends) with `tags`. */
async function noise(out: string, kind: string, tags: Record<string, string>): Promise<void> {
  const meta = Object.entries(tags).flatMap(([k, v]) => ['-metadata', `${k}=${v}`]);
  await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anoisesrc=d=40:c=pink:r=44100:a=0.3', ...FORMAT_ARGS[kind]!, ...meta, ...(kind === 'alac' ? ['-f', 'ipod'] : []), out]);
}

beforeAll(async () => {
  const tags = { title: 'Head and tail', artist: 'A; B', album: 'Album', genre: 'Jazz', track: '4/9', date: '2001', comment: 'short' };
  await Promise.all(KINDS.map((k) => noise(file(k), k, tags)));
  // An ID3v2 tag of ~100 KiB (a long album name) reaches past the head: those bytes come from disk.
  await noise(BIG_TAG, 'mp3', { ...tags, album: 'x'.repeat(100 * 1024) });
}, 120_000);
afterAll(() => tmp.cleanup());

async function viaHeadTail(path: string): Promise<{ meta: ReturnType<typeof toTrackMeta>; diskReads: number }> {
  const size = readFileSync(path).length;
  const handle = await nodeFs.open(path);
  try {
    const fp = await fingerprintHandle(handle, size);
    const t = new HeadTailTokenizer({ handle, sizeBytes: size, head: fp.whole ?? fp.head, tail: fp.whole ?? fp.tail }, { path, mimeType: sniffAudioMime(fp.head) ?? 'audio/mpeg' });
    const m = await parseFromTokenizer(t, { skipCovers: true, duration: false });
    return { meta: toTrackMeta(m), diskReads: t.diskReads };
  } finally {
    await handle.close();
  }
}

describe('parsing from the head and tail', () => {
  it.each([...KINDS])('%s: same tags and stream as music-metadata reading the file itself, with at most one more read', async (k) => {
    const path = file(k);
    expect(readFileSync(path).length, 'the file is larger than the two ends').toBeGreaterThan(2 * FINGERPRINT_CHUNK_BYTES);
    const own = toTrackMeta(await parseFile(path, { skipCovers: true, duration: false }));
    const r = await viaHeadTail(path);
    expect(r.meta).toEqual(own);
    expect(r.meta.title).toBe('Head and tail');
    // MP3 and FLAC (the bench's library) need nothing beyond the two ends; Ogg reads one window past the head.
    expect(r.diskReads).toBeLessThanOrEqual(k === 'mp3' || k === 'flac' ? 0 : 1);
    // And through the scanner's entry point, with the handle it opened.
    const size = readFileSync(path).length;
    const handle = await nodeFs.open(path);
    try {
      const fp = await fingerprintHandle(handle, size);
      expect(await readTrackMeta(path, sniffAudioMime(fp.head), undefined, { handle, sizeBytes: size, head: fp.head, tail: fp.tail })).toEqual(await readTrackMeta(path, sniffAudioMime(fp.head)));
    } finally {
      await handle.close();
    }
  });

  it('reads what lies beyond the head (a 100 KiB tag) through the open handle, with the same result', async () => {
    const own = toTrackMeta(await parseFile(BIG_TAG, { skipCovers: true, duration: false }));
    const r = await viaHeadTail(BIG_TAG);
    expect(r.diskReads).toBeGreaterThan(0);
    expect(r.meta).toEqual(own);
    expect(r.meta.album).toHaveLength(100 * 1024);
  });
});

describe('HeadTailTokenizer', () => {
  // A 300,000-byte file whose byte i is i % 251, and a handle that counts reads.
  const SIZE = 300_000;
  const bytes = Uint8Array.from({ length: SIZE }, (_, i) => i % 251);
  let reads = 0;
  const handle: LibraryFileHandle = {
    read(buffer, offset, length, position) {
      reads++;
      const n = Math.max(0, Math.min(length, SIZE - position));
      buffer.set(bytes.subarray(position, position + n), offset);
      return Promise.resolve(n);
    },
    close: () => Promise.resolve(),
  };
  const tokenizer = (): HeadTailTokenizer => {
    reads = 0;
    return new HeadTailTokenizer({ handle, sizeBytes: SIZE, head: bytes.subarray(0, 1000), tail: bytes.subarray(SIZE - 1000) }, { path: '/x.bin' });
  };

  it('serves the head and tail from memory and the middle through one window read', async () => {
    const t = tokenizer();
    const a = new Uint8Array(10);
    await t.readBuffer(a, { position: 5 });
    expect([...a]).toEqual([...bytes.subarray(5, 15)]);
    expect(t.position).toBe(15);
    await t.peekBuffer(a, { position: SIZE - 10 });
    expect([...a]).toEqual([...bytes.subarray(SIZE - 10)]);
    expect(t.position).toBe(15);
    expect(reads).toBe(0);
    for (let p = 2000; p < 2400; p += 10) {
      await t.readBuffer(a, { position: p });
      expect([...a]).toEqual([...bytes.subarray(p, p + 10)]);
    }
    expect(reads).toBe(1);
    const big = new Uint8Array(100_000);
    await t.readBuffer(big, { position: 150_000 });
    expect(Buffer.from(big).equals(Buffer.from(bytes.subarray(150_000, 250_000)))).toBe(true);
  });

  it('stops at the end: fewer bytes when the caller allows it, EndOfStreamError otherwise', async () => {
    const t = tokenizer();
    const a = new Uint8Array(10);
    expect(await t.readBuffer(a, { position: SIZE - 4, mayBeLess: true })).toBe(4);
    expect([...a.subarray(0, 4)]).toEqual([...bytes.subarray(SIZE - 4)]);
    await expect(t.readBuffer(a, { position: SIZE - 4 })).rejects.toBeInstanceOf(EndOfStreamError);
    expect(await t.peekBuffer(a, { position: SIZE, mayBeLess: true })).toBe(0);
  });
});
