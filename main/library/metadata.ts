/**
 * @file Reads tags and stream properties of one audio file with music-metadata and maps them to
 * {@link TrackMeta}. Main process, CLI and tests.
 *
 * [Note: Sniffing before parsing]
 * music-metadata's parseFile picks its parser from the extension, so a FLAC named .mp3 is fed to the MPEG
 * parser, which then "finds" nonsense frames, and random bytes named .mp3 come back as a valid-looking result.
 * We already read the first 64 KiB for the fingerprint, so we sniff the magic bytes (formats.ts) and open the
 * file with that MIME type: content wins over the extension. Files whose bytes match no audio format are
 * reported as not-audio, except .mp3/.aac, where raw MPEG/ADTS streams may start with junk: those are parsed by
 * extension and kept only if a sample rate and a duration come out.
 *
 * [Note: Parse options]
 * `skipCovers: true`: cover art can be megabytes per file and we do not store it here.
 * `duration: false` (the default): computing an exact duration can mean reading the whole file (MP3 VBR without
 * a Xing/VBRI header: every frame header; Ogg: up to the last page). With it off, music-metadata still gives
 * exact durations from headers for FLAC, WAV, AIFF, MP4, Ogg (last-page granule via random access), ASF and
 * MP3 with Xing/VBRI/LAME headers, and estimates CBR-style (size / first-frame bitrate) for the rest; the
 * analysis pipeline measures true duration when it decodes a track anyway. A library scan must not read
 * hundreds of gigabytes to refine a number that is right for nearly every file.
 */
import { CouldNotDetermineFileTypeError, parseFromTokenizer, UnsupportedFileTypeError } from 'music-metadata';
import type { IAudioMetadata, ITag } from 'music-metadata';
import * as strtok3 from 'strtok3';
import type { ITokenizer } from 'strtok3';
import type { TrackMeta } from '../db/tracks';
import { describeFsError, ScanFileError } from './errors';
import { HeadTailTokenizer, type FileEnds } from './head-tail-tokenizer';

// strtok3 exports fromFile only under its "node" export condition, which TypeScript's Bundler resolution does
// not select (it sees the browser-safe core); Node, Vite's SSR build and Vitest all load the node entry.
type FromFile = (
  path: string,
  opts?: { fileInfo?: { mimeType?: string }; abortSignal?: AbortSignal },
) => Promise<ITokenizer & { close(): Promise<void> }>;
const fromFile = (strtok3 as unknown as { fromFile: FromFile }).fromFile;

const MAX_NATIVE_STRING = 2048;
const MAX_NATIVE_JSON = 64 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });
/**
 * See [Note: Parse options]. A new object for every parse: music-metadata writes into the options it is given
 * (`apeHeader`, found at the end of one file, would be applied to the next file parsed concurrently).
 */
function parseOptions(): { skipCovers: boolean; duration: boolean } {
  return { skipCovers: true, duration: false };
}

/**
 * Reads `path` and returns its tags. `mime` is the sniffed type (null: let the extension decide). `ends`, when
 * given, is the open file with its head and tail already read (the scanner's fingerprint): the parser reads
 * from them and only what lies outside goes to disk (see [Note: One read per end]); the caller closes the
 * handle. Throws {@link ScanFileError} with a user-facing cause for anything that is not readable audio.
 */
export async function readTrackMeta(path: string, mime: string | null, signal?: AbortSignal, ends?: FileEnds | null): Promise<TrackMeta> {
  let metadata: IAudioMetadata;
  try {
    if (ends) {
      const tokenizer = new HeadTailTokenizer(ends, { path, ...(mime ? { mimeType: mime } : {}) });
      metadata = await parseFromTokenizer(tokenizer, parseOptions());
    } else {
      const tokenizer = await fromFile(path, {
        ...(mime ? { fileInfo: { mimeType: mime } } : {}),
        ...(signal ? { abortSignal: signal } : {}),
      });
      try {
        metadata = await parseFromTokenizer(tokenizer, parseOptions());
      } finally {
        await tokenizer.close();
      }
    }
  } catch (e) {
    throw classifyParseError(path, e);
  }
  return checked(path, mime, metadata);
}

/** Rejects results without a usable audio stream, then maps the rest. */
function checked(path: string, mime: string | null, metadata: IAudioMetadata): TrackMeta {
  const f = metadata.format;
  const durationOk = f.duration === undefined || (Number.isFinite(f.duration) && f.duration >= 0);
  const hasStream = (f.sampleRate ?? 0) > 0 || (f.duration ?? 0) > 0;
  if (!durationOk) throw new ScanFileError(path, 'corrupt', `"${path}" is damaged or truncated: its stream length is invalid`);
  if (!hasStream || (!f.codec && !f.container)) {
    // A recognised header without a stream after it is a cut-off file; no header at all is something else.
    if (mime !== null) throw new ScanFileError(path, 'corrupt', `"${path}" is truncated or damaged: it starts like ${mime} but has no readable audio stream`);
    throw new ScanFileError(path, 'not-audio', `"${path}" has an audio extension but holds no audio stream we can read`);
  }
  if (mime === null && (f.duration === undefined || !f.sampleRate)) {
    throw new ScanFileError(path, 'not-audio', `"${path}" does not look like audio: no valid MPEG or AAC frames were found`);
  }
  return toTrackMeta(metadata);
}

function classifyParseError(path: string, e: unknown): ScanFileError {
  if (e instanceof ScanFileError) return e;
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    return describeFsError(path, e);
  }
  if (e instanceof CouldNotDetermineFileTypeError || e instanceof UnsupportedFileTypeError) {
    return new ScanFileError(path, 'not-audio', `"${path}" is not in an audio format we can read`);
  }
  const message = e instanceof Error ? e.message : String(e);
  if (/end[- ]of[- ]stream|exceeds|outside the bounds|out of range/i.test(message)) {
    return new ScanFileError(path, 'corrupt', `"${path}" is truncated or damaged (${message})`);
  }
  return new ScanFileError(path, 'corrupt', `"${path}" could not be parsed: ${message}`);
}

/** Empty strings and whitespace become null. */
function text(s: string | undefined | null): string | null {
  let t = s?.trim();
  while (t?.endsWith('\0')) t = t.slice(0, -1).trim();
  return t ? t : null;
}

function num(n: number | undefined | null): number | null {
  return n === undefined || n === null || !Number.isFinite(n) ? null : n;
}

/**
 * RIFF INFO chunks have no declared encoding; music-metadata reads them as Latin-1 but most tools (ffmpeg,
 * foobar2000, Mp3tag) write UTF-8. Reinterpret when the Latin-1 bytes are valid UTF-8 with non-ASCII bytes.
 */
function fixLatin1Utf8(s: string | null): string | null {
  if (s === null || !/[\u0080-\u00ff]/.test(s) || [...s].some((ch) => ch.charCodeAt(0) > 0xff)) return s;
  try {
    return utf8.decode(Buffer.from(s, 'latin1'));
  } catch {
    return s;
  }
}

function unique(values: Iterable<string>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const v of values) {
    const k = v.toLowerCase();
    if (!seen.has(k)) {
      seen.add(k);
      out.push(v);
    }
  }
  return out;
}

/** Maps music-metadata's result to the columns we store. Exported for tests. */
export function toTrackMeta(m: IAudioMetadata): TrackMeta {
  const c = m.common;
  const f = m.format;
  const riff = (f.container ?? '').toUpperCase().startsWith('WAVE');
  const fix = riff ? fixLatin1Utf8 : (s: string | null) => s;
  const artists = unique(
    (c.artists?.length ? c.artists : c.artist ? [c.artist] : []).map((a) => fix(text(a))).filter((a): a is string => a !== null),
  );
  const genres = unique(
    (c.genre ?? [])
      .flatMap((g) => g.split(';'))
      .map((g) => fix(text(g)))
      .filter((g): g is string => g !== null),
  );
  const comment = (c.comment ?? [])
    .map((x) => fix(text(typeof x === 'string' ? x : x.text)))
    .filter((x): x is string => x !== null)
    .join('\n');
  const durationS = num(f.duration);
  const year = num(c.year) ?? (c.date ? num(Number.parseInt(c.date.slice(0, 4), 10)) : null);
  return {
    title: fix(text(c.title)),
    artist: artists.length ? artists.join(', ') : null,
    artists,
    album: fix(text(c.album)),
    albumArtist: fix(text(c.albumartist)),
    trackNo: num(c.track.no),
    trackOf: num(c.track.of),
    discNo: num(c.disk.no),
    discOf: num(c.disk.of),
    year: year !== null && year > 0 && year < 10000 ? year : null,
    genre: genres.length ? genres.join('; ') : null,
    genres,
    mood: fix(text(c.mood)),
    comment: comment || null,
    bpm: num(c.bpm),
    musicalKey: fix(text(c.key)),
    durationMs: durationS === null ? null : Math.round(durationS * 1000),
    sampleRateHz: num(f.sampleRate),
    channels: num(f.numberOfChannels),
    codec: text(f.codec),
    container: text(f.container),
    bitrateBps: num(f.bitrate),
    nativeTags: sanitizeNative(m.native),
  };
}

/** Native tags as JSON-safe data: binary values become `{ bytes: n }`, long strings are cut. */
function sanitizeNative(native: Record<string, ITag[]>): Record<string, unknown> | null {
  const out: Record<string, { id: string; value: unknown }[]> = {};
  let size = 0;
  for (const [format, tags] of Object.entries(native)) {
    const list: { id: string; value: unknown }[] = [];
    for (const t of tags) {
      const value = sanitizeValue(t.value, 0);
      size += t.id.length + JSON.stringify(value ?? null).length;
      if (size > MAX_NATIVE_JSON) break;
      list.push({ id: t.id, value });
    }
    if (list.length) out[format] = list;
  }
  return Object.keys(out).length ? out : null;
}

function sanitizeValue(v: unknown, depth: number): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v.length > MAX_NATIVE_STRING ? `${v.slice(0, MAX_NATIVE_STRING)}…` : v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return { bytes: v.length };
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (depth > 3) return null;
  if (Array.isArray(v)) return v.slice(0, 64).map((x) => sanitizeValue(x, depth + 1));
  if (typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) o[k] = sanitizeValue(x, depth + 1);
    return o;
  }
  return null;
}
