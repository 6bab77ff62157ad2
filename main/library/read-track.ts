/**
 * @file Reads one audio file for the library: fingerprint, format sniff, tags and duration, from one open handle.
 * Main process, CLI.
 *
 * Each file is opened once and its head and tail are read once; the fingerprint hashes them, the sniffer and the
 * duration code look at them, and the tag parser reads from them (see [Note: One read per end] in
 * head-tail-tokenizer.ts). Only ranges outside the two ends go to disk.
 */
import type { TrackMeta } from '../db/tracks';
import { refineDuration } from './duration';
import { describeFsError, ScanFileError } from './errors';
import { FINGERPRINT_CHUNK_BYTES, FINGERPRINT_SCRATCH_BYTES, fingerprintHandle, type FingerprintResult } from './fingerprint';
import { sniffAudioMime } from './formats';
import type { LibraryFileHandle, LibraryFs } from './fs';
import type { FileEnds } from './head-tail-tokenizer';
import { readTrackMeta } from './metadata';

/** What one read of a file yields. */
export interface ReadTrack {
  readonly fingerprint: string;
  readonly meta: TrackMeta;
}

/**
 * Reads the file at `path` (size `sizeBytes` as listed). Throws {@link ScanFileError} naming the file and the
 * cause for anything that is not readable audio. `readMeta` is replaceable in tests.
 */
export async function readTrack(
  fs: LibraryFs,
  path: string,
  sizeBytes: number,
  readMeta: typeof readTrackMeta = readTrackMeta,
  signal?: AbortSignal,
): Promise<ReadTrack> {
  if (sizeBytes === 0) throw new ScanFileError(path, 'empty', `"${path}" is empty (0 bytes)`);
  let handle: LibraryFileHandle;
  let fp: FingerprintResult;
  try {
    handle = await fs.open(path);
  } catch (e) {
    throw describeFsError(path, e);
  }
  const scratch = takeScratch();
  try {
    try {
      fp = await fingerprintHandle(handle, sizeBytes, scratch);
    } catch (e) {
      throw describeFsError(path, e);
    }
    const mime = sniffAudioMime(fp.head);
    const lower = path.toLowerCase();
    if (mime === null && !lower.endsWith('.mp3') && !lower.endsWith('.aac')) {
      throw new ScanFileError(path, 'not-audio', `"${path}" has an audio extension but does not look like audio (no known format header)`);
    }
    const parsed = await readMeta(path, mime, signal, endsOf(handle, sizeBytes, fp));
    // [Note: Durations] in duration.ts: exact lengths from the head and tail already in memory.
    const duration = refineDuration(mime, parsed.durationMs, fp.head, fp.tail, sizeBytes);
    return { fingerprint: fp.fingerprint, meta: { ...parsed, durationMs: duration.durationMs, durationEstimated: duration.estimated } };
  } finally {
    // Nothing read from `scratch` outlives this call: the parser copies what it keeps, durations are numbers.
    spareScratch.push(scratch);
    await handle.close().catch(() => undefined);
  }
}

/** Scratch buffers of files read before, for the next ones (one per read in flight). */
const spareScratch: Buffer[] = [];

function takeScratch(): Buffer {
  return spareScratch.pop() ?? Buffer.allocUnsafe(FINGERPRINT_SCRATCH_BYTES);
}

/**
 * The bytes the tag parser may take from memory. A short read (the file shrank since it was listed) leaves
 * the tail out, so no byte is served from the wrong offset; the re-stat after reading reports such a file.
 */
function endsOf(handle: LibraryFileHandle, sizeBytes: number, fp: FingerprintResult): FileEnds {
  if (fp.whole) return { handle, sizeBytes, head: fp.whole, tail: fp.whole };
  const tailComplete = sizeBytes > FINGERPRINT_CHUNK_BYTES && fp.tail.length === Math.min(FINGERPRINT_CHUNK_BYTES, sizeBytes - FINGERPRINT_CHUNK_BYTES);
  return { handle, sizeBytes, head: fp.head, tail: tailComplete ? fp.tail : new Uint8Array(0) };
}

/** Size and modification time of a file, as the scanner compares them. */
export interface FileStamp {
  readonly sizeBytes: number;
  readonly mtimeMs: number;
}

/**
 * One file read, plain data (it crosses from a scan thread, see scan-pool.ts): the fingerprint and tags, and the
 * file's stamp taken right after reading (the scanner compares it with the listed one: a file that changed
 * meanwhile is read again, see [Note: Files changing during a scan]), or the error that names the file and cause.
 */
export type ReadOutcome =
  | { readonly ok: true; readonly fingerprint: string; readonly meta: TrackMeta; readonly after: FileStamp }
  | { readonly ok: false; readonly error: { readonly path: string; readonly code: ScanFileError['code']; readonly message: string } };

/** Reads files for the scanner: in this thread ({@link readOutcome}) or on scan threads (scan-pool.ts). */
export interface TrackReader {
  read(path: string, sizeBytes: number, signal?: AbortSignal): Promise<ReadOutcome>;
}

/** {@link readTrack} then a stat of the file; never throws. */
export async function readOutcome(
  fs: LibraryFs,
  path: string,
  sizeBytes: number,
  readMeta: typeof readTrackMeta = readTrackMeta,
  signal?: AbortSignal,
): Promise<ReadOutcome> {
  try {
    const { fingerprint, meta } = await readTrack(fs, path, sizeBytes, readMeta, signal);
    let after;
    try {
      after = await fs.stat(path);
    } catch (e) {
      throw describeFsError(path, e);
    }
    return { ok: true, fingerprint, meta, after: { sizeBytes: after.size, mtimeMs: Math.trunc(after.mtimeMs) } };
  } catch (e) {
    if (e instanceof ScanFileError) return { ok: false, error: { path: e.path, code: e.code, message: e.message } };
    const message = e instanceof Error ? e.message : String(e);
    return { ok: false, error: { path, code: 'internal', message: `Unexpected error reading "${path}": ${message}` } };
  }
}
