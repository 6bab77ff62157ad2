/**
 * @file Decoding compressed audio through the system ffmpeg/ffprobe (any Node process that may spawn).
 *
 * [Note: ffmpeg for compressed formats]
 * mp3, flac, ogg/vorbis, opus and m4a (aac, alac) are decoded by the user's ffmpeg, spawned per file and read
 * as raw float32 little-endian PCM from stdout: no native addon to rebuild per Electron version, no wasm
 * decoder per codec, and one code path that handles every container ffmpeg knows. We ask for every channel
 * at the stream's own rate (`-ac`/`-ar` pinned to what ffprobe reported, so nothing is remixed or
 * resampled) and downmix (mean) and resample (torchaudio's filter) in TS, so the numbers do not depend on
 * ffmpeg's build. stdout is consumed with backpressure, so an hour-long file never sits in memory; windows
 * use `-ss`/`-t` before `-i` (ffmpeg seeks, then decodes and trims to the exact sample).
 * Which binaries run is decided in decoders.ts ([Note: Decoder resolution]: MUSILINGO_FFMPEG / MUSILINGO_FFPROBE,
 * else the copies bundled with the app, else PATH).
 */
import { spawn } from 'node:child_process';
import { resolveBinary } from './decoders';
import { AudioDecodeError } from './errors';

/** What ffprobe says about a file's first audio stream. */
export interface FfprobeInfo {
  readonly formatName: string;
  readonly codec: string;
  readonly sampleRateHz: number;
  readonly channels: number;
  /** Duration in seconds (stream duration, else container duration); may be an estimate for mp3. */
  readonly durationSec: number;
}

const INSTALL_HINT =
  'the app ships its own copy, so reinstalling it should bring it back; otherwise install ffmpeg ' +
  '(Debian/Ubuntu: apt install ffmpeg; macOS: brew install ffmpeg; Windows: winget install ffmpeg) ' +
  'or set MUSILINGO_FFMPEG and MUSILINGO_FFPROBE to the binaries';

function ffmpegBin(): string {
  return resolveBinary('ffmpeg').command;
}

function ffprobeBin(): string {
  return resolveBinary('ffprobe').command;
}

/** The cause of an unsupported codec, worded the same wherever it is found. */
function unsupportedCodec(file: string, codec: string): AudioDecodeError {
  return new AudioDecodeError(file, 'unsupported', `unsupported codec ${codec} in ${file}`);
}

/** ffmpeg's words for "no decoder for this stream", e.g. "Decoder (codec none) not found for input stream #0:0". */
const NO_DECODER = /Decoder \(codec ([^)]*)\) not found/;

/**
 * ffmpeg reads "name:rest" as a protocol and "-name" as an option; the explicit file: protocol makes any path
 * (colons, leading dashes, Windows drive letters) a plain file.
 */
function asInput(file: string): string {
  return `file:${file}`;
}

function lastLines(text: string, n = 3): string {
  return text.trim().split('\n').map((l) => l.trim()).filter(Boolean).slice(-n).join(' | ');
}

function missing(file: string, bin: string): AudioDecodeError {
  return new AudioDecodeError(file, 'ffmpeg-missing', `${bin} is not installed or not on PATH (needed for compressed formats such as mp3, flac, ogg, opus, m4a): ${INSTALL_HINT}`);
}

/** Runs ffprobe on the file's first audio stream. */
export async function ffprobe(file: string): Promise<FfprobeInfo> {
  const bin = ffprobeBin();
  const args = ['-v', 'error', '-select_streams', 'a:0', '-show_entries',
    'stream=codec_name,codec_tag,sample_rate,channels,duration:format=format_name,duration', '-of', 'json', asInput(file)];
  const { code, stdout, stderr, spawnError } = await new Promise<{ code: number | null; stdout: string; stderr: string; spawnError?: NodeJS.ErrnoException }>((resolve) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d.length + err.length > 65536 ? '' : d));
    p.on('error', (e: NodeJS.ErrnoException) => resolve({ code: null, stdout: out, stderr: err, spawnError: e }));
    p.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  if (spawnError) {
    if (spawnError.code === 'ENOENT') throw missing(file, bin);
    throw new AudioDecodeError(file, 'ffmpeg-failed', `cannot run ${bin}: ${spawnError.message}`);
  }
  if (code !== 0) {
    throw new AudioDecodeError(file, 'corrupt', `not a readable audio file (ffprobe: ${lastLines(stderr) || `exit code ${code}`})`);
  }
  let parsed: { streams?: { codec_name?: string; codec_tag?: string; sample_rate?: string; channels?: number; duration?: string }[]; format?: { format_name?: string; duration?: string } };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    throw new AudioDecodeError(file, 'ffmpeg-failed', 'ffprobe printed no readable description');
  }
  const s = parsed.streams?.[0];
  if (!s) throw new AudioDecodeError(file, 'no-audio', 'the file has no audio stream');
  // ffprobe leaves codec_name out for a stream it recognises as audio but has no codec for (e.g. a WAV format
  // tag nobody registered): name the tag so the user can look it up.
  if (!s.codec_name) throw unsupportedCodec(file, s.codec_tag && s.codec_tag !== '0x0000' ? s.codec_tag : 'unknown');
  const sampleRateHz = Number(s.sample_rate);
  const channels = Number(s.channels);
  if (!(sampleRateHz > 0) || !(channels > 0)) {
    throw new AudioDecodeError(file, 'corrupt', `ffprobe reports ${String(s.channels)} channels at ${String(s.sample_rate)} Hz`);
  }
  const d1 = Number(s.duration);
  const d2 = Number(parsed.format?.duration);
  const durationSec = Number.isFinite(d1) && d1 > 0 ? d1 : Number.isFinite(d2) && d2 > 0 ? d2 : 0;
  return { formatName: parsed.format?.format_name ?? '?', codec: s.codec_name ?? '?', sampleRateHz, channels, durationSec };
}

/** Options of {@link ffmpegMonoChunks}. */
export interface FfmpegDecodeOptions {
  readonly sampleRateHz: number;
  readonly channels: number;
  /** Start offset in seconds (seek before decoding). */
  readonly startSec?: number;
  /** Seconds to decode; the whole rest when absent. */
  readonly durationSec?: number;
  /** Stops ffmpeg early. */
  readonly signal?: AbortSignal;
}

/** Result kept by {@link ffmpegMonoChunks} for the caller to inspect after the stream ended. */
export interface FfmpegRunReport {
  frames: number;
  stderr: string;
}

/**
 * Decodes with ffmpeg and yields mono float32 chunks (mean of channels) at the stream's own rate.
 * Throws an {@link AudioDecodeError} naming the file when ffmpeg is missing or fails; `report` receives the
 * number of frames and ffmpeg's error output (decoders report damaged frames there yet exit 0).
 */
export async function* ffmpegMonoChunks(file: string, opts: FfmpegDecodeOptions, report?: FfmpegRunReport): AsyncGenerator<Float32Array> {
  const bin = ffmpegBin();
  const args = ['-nostdin', '-hide_banner', '-v', 'error'];
  if (opts.startSec !== undefined && opts.startSec > 0) args.push('-ss', opts.startSec.toFixed(6));
  if (opts.durationSec !== undefined) args.push('-t', Math.max(0, opts.durationSec).toFixed(6));
  args.push('-i', asInput(file), '-map', '0:a:0', '-vn', '-sn', '-dn', '-ac', String(opts.channels), '-ar', String(opts.sampleRateHz),
    '-f', 'f32le', '-acodec', 'pcm_f32le', 'pipe:1');
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 16384) stderr += d;
  });
  let spawnError: NodeJS.ErrnoException | undefined;
  const closed = new Promise<number | null>((resolve) => {
    proc.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e;
      resolve(null);
    });
    proc.on('close', (c) => resolve(c));
  });
  const onAbort = (): void => {
    proc.kill('SIGKILL');
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const frameBytes = 4 * opts.channels;
  let carry = Buffer.alloc(0);
  let frames = 0;
  let finished = false;
  try {
    for await (const data of proc.stdout as AsyncIterable<Buffer>) {
      const buf = carry.length > 0 ? Buffer.concat([carry, data]) : data;
      const n = Math.floor(buf.length / frameBytes);
      carry = Buffer.from(buf.subarray(n * frameBytes));
      if (n === 0) continue;
      frames += n;
      yield downmixF32le(buf, n, opts.channels);
    }
    const code = await closed;
    finished = true;
    if (spawnError) {
      if (spawnError.code === 'ENOENT') throw missing(file, bin);
      throw new AudioDecodeError(file, 'ffmpeg-failed', `cannot run ${bin}: ${spawnError.message}`);
    }
    if (opts.signal?.aborted) throw new AudioDecodeError(file, 'cancelled', 'decoding was cancelled');
    const noDecoder = NO_DECODER.exec(stderr);
    if (code !== 0 && noDecoder) throw unsupportedCodec(file, noDecoder[1] === 'none' || !noDecoder[1] ? 'unknown' : noDecoder[1]);
    if (code !== 0) {
      throw new AudioDecodeError(file, 'corrupt', `ffmpeg could not decode it (${lastLines(stderr) || `exit code ${String(code)}`})`);
    }
    if (report) {
      report.frames = frames;
      report.stderr = stderr;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (!finished) {
      proc.kill('SIGKILL');
      await closed;
    }
  }
}

function downmixF32le(buf: Buffer, frames: number, channels: number): Float32Array {
  const out = new Float32Array(frames);
  // Aligned fast path; Buffer pool slices are not always 4-byte aligned.
  const src = buf.byteOffset % 4 === 0
    ? new Float32Array(buf.buffer, buf.byteOffset, frames * channels)
    : new Float32Array(Uint8Array.prototype.slice.call(buf, 0, frames * channels * 4).buffer);
  if (channels === 1) {
    out.set(src);
    return out;
  }
  const inv = 1 / channels;
  for (let f = 0, i = 0; f < frames; f++) {
    let acc = 0;
    for (let c = 0; c < channels; c++) acc += src[i++]!;
    out[f] = acc * inv;
  }
  return out;
}
