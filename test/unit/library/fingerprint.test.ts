/**
 * @file A track's stored fingerprint (main/library/fingerprint.ts) keeps its meaning: size + SHA-1 of the first
 * 64 KiB and of the bytes after them up to the last 64 KiB, computed here independently for every size class,
 * read with or without a reused scratch buffer (a stale scratch must not leak into the result).
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FINGERPRINT_CHUNK_BYTES as K, FINGERPRINT_SCRATCH_BYTES, fingerprintFile, fingerprintHandle } from '../../../main/library/fingerprint';
import { nodeFs } from '../../../main/library/fs';
import { tempDir } from '../../helpers/library-audio';

const tmp = tempDir('musilingo-fp-');
afterAll(() => tmp.cleanup());

/** The documented formula, written out: head = first min(size, K) bytes; tail = the last min(size - K, K) bytes. */
function expected(bytes: Buffer): string {
  const h = createHash('sha1').update(bytes.subarray(0, Math.min(bytes.length, K)));
  if (bytes.length > K) h.update(bytes.subarray(bytes.length - Math.min(bytes.length - K, K)));
  return `${bytes.length}:${h.digest('hex')}`;
}

describe('fingerprint', () => {
  const scratch = Buffer.alloc(FINGERPRINT_SCRATCH_BYTES, 0xee);
  it.each([1, 10, K - 1, K, K + 1, K + 5000, 2 * K - 1, 2 * K, 2 * K + 1, 1_000_003])('size %i: the stored formula, the whole file when it fits', async (size) => {
    const bytes = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + (i >> 9)) % 256));
    const path = join(tmp.dir, `f${size}.bin`);
    writeFileSync(path, bytes);
    const plain = await fingerprintFile(nodeFs, path, size);
    expect(plain.fingerprint).toBe(expected(bytes));
    const h = await nodeFs.open(path);
    try {
      const viaScratch = await fingerprintHandle(h, size, scratch);
      expect(viaScratch.fingerprint).toBe(plain.fingerprint);
      for (const r of [plain, viaScratch]) {
        expect(Buffer.from(r.head).equals(bytes.subarray(0, Math.min(size, K)))).toBe(true);
        expect(r.whole === null).toBe(size > 2 * K);
        if (r.whole) expect(Buffer.from(r.whole).equals(bytes)).toBe(true);
        // The last bytes of the file are the tail's last bytes (Ogg's last page is looked for there).
        expect(Buffer.from(r.tail.subarray(r.tail.length - Math.min(16, size))).equals(bytes.subarray(size - Math.min(16, size)))).toBe(true);
      }
    } finally {
      await h.close();
    }
  });
});
