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
import { hash } from 'node:crypto';
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

/** Bytes a scratch buffer for {@link fingerprintHandle} must hold: both ends. */
export const FINGERPRINT_SCRATCH_BYTES = 2 * FINGERPRINT_CHUNK_BYTES;

/**
 * Reads the head and tail through an open handle and returns the fingerprint; the caller keeps the handle (the
 * scanner parses tags through it, see [Note: One read per end] in head-tail-tokenizer.ts). Both ends are read
 * into one buffer, the tail right after the head, so a file of up to two chunks is whole without a copy.
 * `scratch` (at least {@link FINGERPRINT_SCRATCH_BYTES}) is that buffer when given: the result's buffers are
 * views of it, valid until the caller reuses it (the scanner reuses a few instead of leaving 128 KiB of
 * garbage per file to the collector).
 */
export async function fingerprintHandle(handle: LibraryFileHandle, sizeBytes: number, scratch?: Buffer): Promise<FingerprintResult> {
  const headLen = Math.min(sizeBytes, FINGERPRINT_CHUNK_BYTES);
  const tailLen = sizeBytes > FINGERPRINT_CHUNK_BYTES ? Math.min(sizeBytes - FINGERPRINT_CHUNK_BYTES, FINGERPRINT_CHUNK_BYTES) : 0;
  // allocUnsafe: only the bytes read are used (subarrays below), so zero-filling 128 KiB per file is wasted.
  const buf = scratch && scratch.length >= headLen + tailLen ? scratch : Buffer.allocUnsafe(headLen + tailLen);
  const headRead = await handle.read(buf, 0, headLen, 0);
  const headBytes = buf.subarray(0, headRead);
  let tailBytes: Buffer | null = null;
  if (tailLen > 0) {
    const tailRead = await handle.read(buf, headRead, tailLen, sizeBytes - tailLen);
    tailBytes = buf.subarray(headRead, headRead + tailRead);
  }
  const wholeLen = headBytes.length + (tailBytes?.length ?? 0);
  // Head then tail, side by side: one-shot SHA-1 of both is the SHA-1 of the head updated with the tail.
  const digest = hash('sha1', buf.subarray(0, wholeLen), 'hex');
  // Head and tail lie side by side in `buf`: a file of at most two chunks read in full is buf's first bytes.
  const whole = sizeBytes <= 2 * FINGERPRINT_CHUNK_BYTES && wholeLen === sizeBytes ? buf.subarray(0, wholeLen) : null;
  const tail = tailBytes && tailBytes.length < FINGERPRINT_CHUNK_BYTES && whole ? whole.subarray(Math.max(0, whole.length - FINGERPRINT_CHUNK_BYTES)) : (tailBytes ?? headBytes);
  return { fingerprint: `${sizeBytes}:${digest}`, head: headBytes, whole, tail };
}
