/**
 * @file Content fingerprint of a file: size + SHA-1 of its first and last 64 KiB. Main process, CLI, tests.
 *
 * [Note: Track identity]
 * A track's id is what captions, Q&A and analysis windows point at, so a moved or renamed file must keep it.
 * Paths cannot tell us that; content can. Hashing whole files would read the entire library (hundreds of GB),
 * so we hash the size plus the first and last 64 KiB: the head holds the tags and stream header of nearly every
 * format (ID3v2, FLAC/Vorbis comments, RIFF/AIFF headers, MP4 when `moov` is up front) and the tail holds the
 * rest (ID3v1, APEv2, MP4 with `moov` at the end). Two different songs practically never share size, head and
 * tail; two identical copies do share a fingerprint, which is fine: a fingerprint is matched only against tracks
 * that went *missing*, so a copy becomes a new track while a move keeps the old id. SHA-1 is used for speed and
 * collision resistance against accidents, not attackers.
 */
import { createHash } from 'node:crypto';
import type { LibraryFileHandle, LibraryFs } from './fs';

/** Bytes hashed at each end. */
export const FINGERPRINT_CHUNK_BYTES = 64 * 1024;

/** The fingerprint and the file's first bytes (reused for content sniffing). */
export interface FingerprintResult {
  readonly fingerprint: string;
  readonly head: Buffer;
  /** The whole file when it is at most two chunks long (head + tail cover it): parsed without more reads. */
  readonly whole: Buffer | null;
  /** The file's last bytes (up to a chunk; the head itself for a file of one chunk): Ogg's last page is here. */
  readonly tail: Buffer;
}

/** Reads the head and tail of `path` (whose size is `sizeBytes`) and returns the fingerprint. */
export async function fingerprintFile(fs: LibraryFs, path: string, sizeBytes: number): Promise<FingerprintResult> {
  const handle = await fs.open(path);
  try {
    return await fingerprintHandle(handle, sizeBytes);
  } finally {
    await handle.close();
  }
}

/**
 * Reads the head and tail through an open handle and returns the fingerprint; the caller keeps the handle (the
 * scanner parses tags through it, see [Note: One read per end] in head-tail-tokenizer.ts).
 */
export async function fingerprintHandle(handle: LibraryFileHandle, sizeBytes: number): Promise<FingerprintResult> {
  const headLen = Math.min(sizeBytes, FINGERPRINT_CHUNK_BYTES);
  // allocUnsafe: only the bytes read are used (subarray below), so zero-filling 128 KiB per file is wasted.
  const head = Buffer.allocUnsafe(headLen);
  const headRead = await handle.read(head, 0, headLen, 0);
  const hash = createHash('sha1');
  const headBytes = head.subarray(0, headRead);
  hash.update(headBytes);
  let tailBytes: Buffer | null = null;
  if (sizeBytes > FINGERPRINT_CHUNK_BYTES) {
    const tailLen = Math.min(sizeBytes - FINGERPRINT_CHUNK_BYTES, FINGERPRINT_CHUNK_BYTES);
    const tail = Buffer.allocUnsafe(tailLen);
    const tailRead = await handle.read(tail, 0, tailLen, sizeBytes - tailLen);
    tailBytes = tail.subarray(0, tailRead);
    hash.update(tailBytes);
  }
  const wholeLen = headBytes.length + (tailBytes?.length ?? 0);
  const whole = sizeBytes <= 2 * FINGERPRINT_CHUNK_BYTES && wholeLen === sizeBytes ? (tailBytes ? Buffer.concat([headBytes, tailBytes]) : headBytes) : null;
  const tail = tailBytes && tailBytes.length < FINGERPRINT_CHUNK_BYTES && whole ? whole.subarray(Math.max(0, whole.length - FINGERPRINT_CHUNK_BYTES)) : (tailBytes ?? headBytes);
  return { fingerprint: `${sizeBytes}:${hash.digest('hex')}`, head: headBytes, whole, tail };
}
