/**
 * @file Audio decoding entry points: probe a file, stream it as mono float32 chunks at its own rate, or read
 * any frame span (for 30 s windows of long files). WAV and AIFF are parsed natively, everything else goes
 * through the system ffmpeg (see [Note: Native WAV/AIFF] and [Note: ffmpeg for compressed formats]).
 * Any Node process (utility processes, CLI, tests).
 */
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { AudioDecodeError } from './errors';
import { ffmpegMonoChunks, ffprobe } from './ffmpeg';
import type { FfmpegRunReport } from './ffmpeg';
import { readPcmFramesMono, readPcmLayout, sniffPcmContainer } from './pcm-container';
import type { PcmLayout } from './pcm-container';

/** What a decoder needs to know about a file. */
export interface AudioInfo {
  readonly file: string;
  /** 'wav' | 'aiff' for native files, else ffmpeg's format name (e.g. 'mp3', 'ogg', 'mov,mp4,m4a,…'). */
  readonly container: string;
  /** Codec ('pcm' for native files). */
  readonly codec: string;
  readonly sampleRateHz: number;
  readonly channels: number;
  /** Frames at `sampleRateHz`: exact for WAV/AIFF, from the container's duration otherwise. */
  readonly frames: number;
  readonly durationSec: number;
  /** True when `frames` is exact (native PCM). */
  readonly isExact: boolean;
  /** Set for native PCM files. */
  readonly pcm?: PcmLayout;
}

/** Options for {@link decodeMonoChunks}. */
export interface DecodeOptions {
  /** First frame (at the file's rate) to decode; default 0. */
  readonly startFrame?: number;
  /** Frames to decode; default: to the end. */
  readonly frameCount?: number;
  /** Frames per yielded chunk for native files (ffmpeg chunks follow its pipe); default 65536. */
  readonly chunkFrames?: number;
  readonly signal?: AbortSignal;
}

async function statOrThrow(file: string): Promise<number> {
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new AudioDecodeError(file, 'not-found', 'not a regular file');
    return st.size;
  } catch (e) {
    if (e instanceof AudioDecodeError) throw e;
    throw new AudioDecodeError(file, 'not-found', `cannot open it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

async function withHandle<T>(file: string, fn: (h: FileHandle) => Promise<T>): Promise<T> {
  let h: FileHandle;
  try {
    h = await open(file, 'r');
  } catch (e) {
    throw new AudioDecodeError(file, 'not-found', `cannot open it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return await fn(h);
  } finally {
    await h.close();
  }
}

/**
 * Describes a file: rate, channels, length. Throws an {@link AudioDecodeError} naming the file when it is
 * missing, empty, not audio, truncated (WAV/AIFF) or when ffmpeg is needed and missing.
 */
export async function probeAudio(file: string): Promise<AudioInfo> {
  const size = await statOrThrow(file);
  if (size === 0) throw new AudioDecodeError(file, 'empty', 'the file is empty (0 bytes)');
  const native = await withHandle(file, async (h) => {
    const head = Buffer.alloc(12);
    await h.read(head, 0, 12, 0);
    return sniffPcmContainer(head) ? readPcmLayout(file, h) : undefined;
  }).catch((e: unknown) => {
    // A WAV in a codec we do not parse (ADPCM, µ-law …) still decodes through ffmpeg.
    if (e instanceof AudioDecodeError && e.code === 'unsupported') return undefined;
    throw e;
  });
  if (native) {
    if (native.frames === 0) throw new AudioDecodeError(file, 'no-audio', 'the file holds no audio samples');
    return {
      file, container: native.container, codec: 'pcm', sampleRateHz: native.sampleRateHz, channels: native.channels,
      frames: native.frames, durationSec: native.frames / native.sampleRateHz, isExact: true, pcm: native,
    };
  }
  const p = await ffprobe(file);
  const frames = Math.round(p.durationSec * p.sampleRateHz);
  return {
    file, container: p.formatName, codec: p.codec, sampleRateHz: p.sampleRateHz, channels: p.channels,
    frames, durationSec: p.durationSec, isExact: false,
  };
}

/**
 * Streams mono float32 (mean of channels) at the file's own rate, in chunks, from `startFrame` for
 * `frameCount` frames (or to the end). Memory stays at one chunk whatever the file's length.
 * A compressed file that decodes to far fewer frames than its container announces throws a 'truncated'
 * {@link AudioDecodeError} at the end of the stream.
 */
export async function* decodeMonoChunks(info: AudioInfo, opts: DecodeOptions = {}): AsyncGenerator<Float32Array> {
  const start = Math.max(0, Math.floor(opts.startFrame ?? 0));
  const chunk = opts.chunkFrames ?? 65536;
  if (info.pcm) {
    const end = opts.frameCount === undefined ? info.frames : Math.min(info.frames, start + opts.frameCount);
    const h = await open(info.file, 'r');
    try {
      for (let f = start; f < end; f += chunk) {
        if (opts.signal?.aborted) throw new AudioDecodeError(info.file, 'cancelled', 'decoding was cancelled');
        const pcm = await readPcmFramesMono(h, info.pcm, f, Math.min(chunk, end - f));
        if (pcm.length < Math.min(chunk, end - f)) {
          throw new AudioDecodeError(info.file, 'truncated', `file ended at frame ${f + pcm.length} of ${info.frames} (changed while reading?)`);
        }
        yield pcm;
      }
    } finally {
      await h.close();
    }
    return;
  }
  const report: FfmpegRunReport = { frames: 0, stderr: '' };
  const whole = start === 0 && opts.frameCount === undefined;
  yield* ffmpegMonoChunks(info.file, {
    sampleRateHz: info.sampleRateHz,
    channels: info.channels,
    ...(start > 0 ? { startSec: start / info.sampleRateHz } : {}),
    ...(opts.frameCount === undefined ? {} : { durationSec: opts.frameCount / info.sampleRateHz }),
    ...(opts.signal ? { signal: opts.signal } : {}),
  }, report);
  if (report.frames === 0 && (whole || start < info.frames)) {
    throw new AudioDecodeError(info.file, report.stderr ? 'corrupt' : 'no-audio',
      report.stderr ? `no audio could be decoded (${report.stderr.trim().split('\n').at(-1) ?? ''})` : 'no audio could be decoded');
  }
  // [Note: Truncated compressed files] Decoders skip damaged frames and exit 0, so a cut-off download of a
  // flac/mp3 with a length in its header shows up only as missing audio: fail when less than 90% arrived.
  if (whole && info.frames > info.sampleRateHz && report.frames < 0.9 * info.frames) {
    const why = report.stderr.trim().split('\n').at(-1);
    throw new AudioDecodeError(info.file, 'truncated',
      `file is truncated or damaged: ${(report.frames / info.sampleRateHz).toFixed(2)} s decoded of ${info.durationSec.toFixed(2)} s announced${why ? ` (${why})` : ''}`);
  }
}

/**
 * Reads frames [start, start + count) as mono float32 at the file's rate. Frames before 0 or past the end
 * read as zero (the caller gets exactly `count` values and `available`, the number of real frames).
 */
export async function readMonoSpan(info: AudioInfo, start: number, count: number, signal?: AbortSignal): Promise<{ pcm: Float32Array; available: number }> {
  const out = new Float32Array(Math.max(0, count));
  const from = Math.max(0, start);
  const to = start + count;
  if (to <= from) return { pcm: out, available: 0 };
  let pos = from - start;
  for await (const c of decodeMonoChunks(info, { startFrame: from, frameCount: to - from, ...(signal ? { signal } : {}) })) {
    const n = Math.min(c.length, out.length - pos);
    if (n <= 0) break;
    out.set(c.subarray(0, n), pos);
    pos += n;
  }
  return { pcm: out, available: pos - (from - start) };
}
