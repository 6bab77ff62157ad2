/**
 * @file A strtok3 tokenizer over a file whose head and tail are already in memory. Main process, CLI, scan workers.
 *
 * [Note: One read per end]
 * music-metadata's own file tokenizer issues one `read` per token it asks for: an MP3 costs about twenty reads
 * (ID3v2 header, tag body, frame sync, Xing header, then ID3v1/APE/Lyrics3 probes at the end), each a round
 * trip through libuv's thread pool, plus an open and an fstat of its own. A CPU profile of the 2,000-file scan
 * bench put more time in those reads than in parsing. The scanner already reads the first and last 64 KiB of
 * every file for its fingerprint, and tags, stream headers and trailers live there in every format we read, so
 * this tokenizer serves any range inside those two buffers from memory and reads only what falls outside them
 * (an ID3v2 tag with a large cover, an MP4 `moov` in the middle) through the same open handle, a window of
 * 64 KiB at a time so that the small reads that follow are served from that window too. The parser sees the
 * same bytes as with its own tokenizer, so the tags stored do not change.
 */
import { AbstractTokenizer, EndOfStreamError, type IRandomAccessFileInfo, type IReadChunkOptions } from 'strtok3';
import type { LibraryFileHandle } from './fs';

/** Bytes read from disk at once for a range outside the head and tail. */
const WINDOW_BYTES = 64 * 1024;

/** What the tokenizer is built from: the open file and the bytes already read from its two ends. */
export interface FileEnds {
  readonly handle: LibraryFileHandle;
  readonly sizeBytes: number;
  /** Bytes at offset 0. */
  readonly head: Uint8Array;
  /** Bytes that end at `sizeBytes` (may overlap the head or be the head itself). */
  readonly tail: Uint8Array;
}

/** A random-access tokenizer that reads from memory where it can and from `ends.handle` elsewhere. */
export class HeadTailTokenizer extends AbstractTokenizer {
  /** Size, path and MIME type as music-metadata expects them. */
  readonly fileInfo: IRandomAccessFileInfo;
  readonly #ends: FileEnds;
  readonly #tailStart: number;
  #window: Uint8Array = new Uint8Array(0);
  #windowStart = 0;
  /** Reads that went to disk (for tests and profiles). */
  diskReads = 0;

  constructor(ends: FileEnds, fileInfo: { path: string; mimeType?: string }) {
    super();
    this.#ends = ends;
    this.#tailStart = ends.sizeBytes - ends.tail.length;
    this.fileInfo = { ...fileInfo, size: ends.sizeBytes };
  }

  /** Reads at the options' position (or the current one) and moves past what was read. */
  override async readBuffer(target: Uint8Array, options?: IReadChunkOptions): Promise<number> {
    const o = this.normalizeOptions(target, options);
    const n = await this.#copy(target, o.position, o.length, o.mayBeLess ?? false);
    this.position = o.position + n;
    return n;
  }

  /** Like readBuffer without moving. */
  override async peekBuffer(target: Uint8Array, options?: IReadChunkOptions): Promise<number> {
    const o = this.normalizeOptions(target, options);
    return this.#copy(target, o.position, o.length, o.mayBeLess ?? false);
  }

  override supportsRandomAccess(): boolean {
    return true;
  }

  /** Moves the read position (random access, as strtok3's own file tokenizer allows). */
  setPosition(position: number): void {
    this.validateLength(position, 'position');
    this.position = position;
  }

  async #copy(target: Uint8Array, position: number, length: number, mayBeLess: boolean): Promise<number> {
    const size = this.#ends.sizeBytes;
    const wanted = Math.max(0, Math.min(length, size - position));
    if (wanted < length && !mayBeLess) throw new EndOfStreamError();
    if (wanted === 0) return 0;
    const end = position + wanted;
    const { head, tail } = this.#ends;
    if (end <= head.length) {
      target.set(head.subarray(position, end));
    } else if (position >= this.#tailStart) {
      target.set(tail.subarray(position - this.#tailStart, end - this.#tailStart));
    } else if (position >= this.#windowStart && end <= this.#windowStart + this.#window.length) {
      target.set(this.#window.subarray(position - this.#windowStart, end - this.#windowStart));
    } else if (wanted >= WINDOW_BYTES) {
      // A large range (a tag body): read it straight into the caller's buffer.
      const got = await this.#readFully(target, position, wanted);
      if (got < wanted && !mayBeLess) throw new EndOfStreamError();
      return got;
    } else {
      const windowLength = Math.min(WINDOW_BYTES, size - position);
      const window = new Uint8Array(windowLength);
      const got = await this.#readFully(window, position, windowLength);
      this.#window = window.subarray(0, got);
      this.#windowStart = position;
      const n = Math.min(wanted, got);
      target.set(this.#window.subarray(0, n));
      if (n < wanted && !mayBeLess) throw new EndOfStreamError();
      return n;
    }
    return wanted;
  }

  /** Reads until `length` bytes or the end of the file (a file that shrank: fewer bytes). */
  async #readFully(target: Uint8Array, position: number, length: number): Promise<number> {
    const buf = Buffer.from(target.buffer, target.byteOffset, length);
    let got = 0;
    while (got < length) {
      this.diskReads++;
      const n = await this.#ends.handle.read(buf, got, length - got, position + got);
      if (n === 0) break;
      got += n;
    }
    return got;
  }
}
