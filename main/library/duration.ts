/**
 * @file Exact track durations from the bytes the scanner already holds (the first and last 64 KiB), without
 * reading whole files. Pure functions; main process, CLI and tests.
 *
 * [Note: Durations]
 * music-metadata, run without its `duration` option (which can read a whole file), gives exact durations from
 * headers for FLAC, WAV, AIFF, WavPack, APE, Musepack, DSF/DFF, Matroska/WebM, ASF and MP3 with a Xing, Info
 * (LAME) or VBRI frame count. Three cases need more, and all of them are answered by the head and tail:
 * - Ogg (Vorbis, Opus, FLAC, Speex): the duration is the granule position of the stream's last page, in samples
 *   of the codec's clock (48 kHz for Opus, minus the pre-skip its header declares). The last page lies in the
 *   tail; music-metadata only looks there when it has the whole file in memory.
 * - MP4/M4A: music-metadata counts every coded sample, encoder priming included (AAC: 1024 samples, 23 ms).
 *   The edit list (`elst`) says what is played; with the movie header's time scale it gives the exact length.
 * - MP3 without a frame-count header: music-metadata estimates CBR files from the file size and gives nothing
 *   for VBR. We estimate from the frames in the head (bytes per sample, times the size of the stream) and mark
 *   the result as estimated; decoding, which the analysis pipeline does anyway, measures the true length.
 */

/** A duration and whether it is exact. */
export interface DurationResult {
  readonly durationMs: number | null;
  /** True when the duration is an estimate (MP3 without a frame-count header). */
  readonly estimated: boolean;
}

function ascii(buf: Uint8Array, at: number, s: string): boolean {
  if (at < 0 || buf.length < at + s.length) return false;
  for (let i = 0; i < s.length; i++) if (buf[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * The best duration for a file: `parsed` is music-metadata's (ms, null when unknown), `head` and `tail` the
 * file's first and last bytes (the same buffer when the file is small), `sizeBytes` its size.
 */
export function refineDuration(mime: string | null, parsed: number | null, head: Uint8Array, tail: Uint8Array, sizeBytes: number): DurationResult {
  if (mime === 'audio/ogg') {
    const ogg = oggDurationMs(head, tail);
    return { durationMs: ogg === undefined ? parsed : ogg, estimated: false };
  }
  if (mime === 'audio/mp4') return { durationMs: mp4EditListMs(head) ?? mp4EditListMs(tail) ?? parsed, estimated: false };
  if (mime === 'audio/mpeg' || (mime === null && parsed !== null)) {
    const first = firstMpegFrame(head);
    if (!first) return { durationMs: parsed, estimated: parsed !== null };
    if (first.hasFrameCountHeader && parsed !== null) return { durationMs: parsed, estimated: false };
    // CBR: music-metadata's size / frame size is as good as it gets without reading every frame.
    if (parsed !== null) return { durationMs: parsed, estimated: true };
    return { durationMs: mpegEstimateMs(head, tail, first.offset, sizeBytes), estimated: true };
  }
  return { durationMs: parsed, estimated: false };
}

// ---- Ogg ----------------------------------------------------------------------------------------------------

interface OggPage {
  readonly granule: bigint;
  readonly serial: number;
  readonly bodyAt: number;
  readonly length: number;
}

function oggPageAt(b: Uint8Array, at: number): OggPage | null {
  if (!ascii(b, at, 'OggS') || b[at + 4] !== 0 || b.length < at + 27) return null;
  const v = view(b);
  const nsegs = b[at + 26]!;
  if (b.length < at + 27 + nsegs) return null;
  let body = 0;
  for (let i = 0; i < nsegs; i++) body += b[at + 27 + i]!;
  const length = 27 + nsegs + body;
  if (b.length < at + length) return null; // cut off: not a complete page
  return { granule: v.getBigInt64(at + 6, true), serial: v.getUint32(at + 14, true), bodyAt: at + 27 + nsegs, length };
}

/**
 * Exact duration of an Ogg stream from its first page (codec and clock) and last complete page (granule);
 * null when the file is chained (its tail belongs to another stream: granules restart with each stream, so no
 * single one is the length of the file, and unknown is better than wrong); undefined when the bytes say nothing.
 */
export function oggDurationMs(head: Uint8Array, tail: Uint8Array): number | null | undefined {
  const first = oggPageAt(head, 0);
  if (!first) return undefined;
  const p = first.bodyAt;
  const v = view(head);
  let rate: number;
  let preSkip = 0;
  if (ascii(head, p, '\x01vorbis') && head.length >= p + 16) rate = v.getUint32(p + 12, true);
  else if (ascii(head, p, 'OpusHead') && head.length >= p + 12) {
    rate = 48000; // Opus granules always count 48 kHz samples, whatever the input rate was
    preSkip = v.getUint16(p + 10, true);
  } else if (ascii(head, p, '\x7fFLAC') && ascii(head, p + 9, 'fLaC') && head.length >= p + 13 + 4 + 13) {
    const si = p + 13 + 4; // after the Ogg mapping header, 'fLaC' and the STREAMINFO block header
    rate = (head[si + 10]! << 12) | (head[si + 11]! << 4) | (head[si + 12]! >> 4);
  } else if (ascii(head, p, 'Speex   ') && head.length >= p + 40) rate = v.getUint32(p + 36, true);
  else return undefined;
  if (!rate) return undefined;
  let otherStream = false;
  // The last complete page of the same logical stream with a granule (-1 marks pages where no packet ends).
  for (let at = tail.length - 27; at >= 0; at--) {
    if (tail[at] !== 0x4f) continue; // 'O'
    const page = oggPageAt(tail, at);
    if (!page) continue;
    if (page.serial !== first.serial) {
      otherStream = true;
      continue;
    }
    if (page.granule < 0n) continue;
    const samples = Number(page.granule) - preSkip;
    return samples >= 0 ? Math.round((samples * 1000) / rate) : undefined;
  }
  return otherStream ? null : undefined;
}

// ---- MP4 ----------------------------------------------------------------------------------------------------

/** Presentation length from the first `elst` and the `mvhd` time scale, when both are in `b`. */
export function mp4EditListMs(b: Uint8Array): number | null {
  const mvhd = indexOf(b, 'mvhd');
  const elst = indexOf(b, 'elst');
  if (mvhd < 4 || elst < 4) return null;
  const v = view(b);
  const mv = mvhd + 4;
  if (b.length < mv + 32) return null;
  const timescale = b[mv] === 1 ? v.getUint32(mv + 20) : v.getUint32(mv + 12);
  const e = elst + 4;
  if (!timescale || b.length < e + 8) return null;
  const version = b[e]!;
  const count = v.getUint32(e + 4);
  const entry = version === 1 ? 20 : 12;
  if (count === 0 || count > 64 || b.length < e + 8 + count * entry) return null;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const at = e + 8 + i * entry;
    const segment = version === 1 ? Number(v.getBigUint64(at)) : v.getUint32(at);
    const mediaTime = version === 1 ? Number(v.getBigInt64(at + 8)) : v.getInt32(at + 4);
    if (mediaTime >= 0) total += segment; // -1: an empty edit (a delay before the track), not audio
  }
  return total > 0 ? Math.round((total * 1000) / timescale) : null;
}

function indexOf(b: Uint8Array, s: string): number {
  const c0 = s.charCodeAt(0);
  for (let i = 0; i + s.length <= b.length; i++) if (b[i] === c0 && ascii(b, i, s)) return i;
  return -1;
}

// ---- MPEG audio ---------------------------------------------------------------------------------------------

const BITRATES_KBPS: Record<string, readonly number[]> = {
  '1-1': [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  '1-2': [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  '1-3': [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  '2-1': [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  '2-2': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  '2-3': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};

interface MpegFrame {
  readonly bytes: number;
  readonly samples: number;
  readonly rate: number;
}

/** Decodes the MPEG audio frame header at `at`, or null when there is none. */
export function mpegFrameAt(b: Uint8Array, at: number): MpegFrame | null {
  if (b.length < at + 4 || b[at] !== 0xff || (b[at + 1]! & 0xe0) !== 0xe0) return null;
  const versionBits = (b[at + 1]! >> 3) & 3; // 0: 2.5, 2: 2, 3: 1
  const layerBits = (b[at + 1]! >> 1) & 3; // 1: III, 2: II, 3: I
  const brIndex = b[at + 2]! >> 4;
  const srIndex = (b[at + 2]! >> 2) & 3;
  if (versionBits === 1 || layerBits === 0 || brIndex === 0 || brIndex === 15 || srIndex === 3) return null;
  const layer = 4 - layerBits;
  const v1 = versionBits === 3;
  const kbps = BITRATES_KBPS[`${v1 ? 1 : 2}-${layer}`]![brIndex]!;
  const rate = [44100, 48000, 32000][srIndex]! / (v1 ? 1 : versionBits === 2 ? 2 : 4);
  const pad = (b[at + 2]! >> 1) & 1;
  const samples = layer === 1 ? 384 : layer === 3 && !v1 ? 576 : 1152;
  const bytes = layer === 1 ? (Math.floor((12 * kbps * 1000) / rate) + pad) * 4 : Math.floor(((samples / 8) * kbps * 1000) / rate) + pad;
  return { bytes, samples, rate };
}

function skipId3v2(b: Uint8Array): number {
  let at = 0;
  while (ascii(b, at, 'ID3') && b.length >= at + 10) {
    const size = ((b[at + 6]! & 0x7f) << 21) | ((b[at + 7]! & 0x7f) << 14) | ((b[at + 8]! & 0x7f) << 7) | (b[at + 9]! & 0x7f);
    at += 10 + size + ((b[at + 5]! & 0x10) !== 0 ? 10 : 0);
  }
  return at;
}

/** The first frame that is followed by another (a lone 0xFFE… inside junk is not a frame). */
function firstMpegFrame(b: Uint8Array): { offset: number; hasFrameCountHeader: boolean } | null {
  for (let at = skipId3v2(b); at + 4 <= b.length; at++) {
    const f = mpegFrameAt(b, at);
    if (!f) continue;
    const next = mpegFrameAt(b, at + f.bytes);
    if (!next && at + f.bytes < b.length) continue;
    const frame = b.subarray(at, Math.min(b.length, at + f.bytes));
    return { offset: at, hasFrameCountHeader: indexOf(frame, 'Xing') > 0 || indexOf(frame, 'Info') > 0 || indexOf(frame, 'VBRI') > 0 };
  }
  return null;
}

/**
 * A bounded estimate for a VBR stream without a frame-count header: the bytes per sample of the frames in the
 * head, applied to the whole stream (the file minus tags).
 */
function mpegEstimateMs(head: Uint8Array, tail: Uint8Array, start: number, sizeBytes: number): number | null {
  let at = start;
  let samples = 0;
  let rate = 0;
  while (at < head.length) {
    const f = mpegFrameAt(head, at);
    if (!f || at + f.bytes > head.length) break;
    samples += f.samples;
    rate = f.rate;
    at += f.bytes;
  }
  const walked = at - start;
  if (!samples || !rate || walked <= 0) return null;
  const id3v1 = tail.length >= 128 && ascii(tail, tail.length - 128, 'TAG') ? 128 : 0;
  const streamBytes = sizeBytes - start - id3v1;
  return Math.round(((samples * streamBytes) / walked / rate) * 1000);
}
