/**
 * @file Which files are music: audio extensions, hidden/system names to skip, and content sniffing by magic
 * bytes. Pure functions; main process, CLI and tests.
 */

/**
 * Extensions (lower case, no dot) the scanner reads: every format music-metadata parses that ffmpeg decodes
 * (APE, WavPack, Musepack, DSF/DFF, Speex, Matroska/WebM audio and MPEG layers I/II among them). Audio formats
 * it cannot read are in {@link SKIPPED_AUDIO_FORMATS}; everything else is ignored without a word.
 */
export const AUDIO_EXTENSIONS: ReadonlySet<string> = new Set([
  'mp3', 'flac', 'ogg', 'oga', 'opus', 'spx', 'm4a', 'm4b', 'mp4', 'aac', 'wav', 'wave', 'bwf', 'aif', 'aiff', 'aifc', 'wma',
  'ape', 'wv', 'mpc', 'mp+', 'mpp', 'dsf', 'dff', 'mka', 'webm', 'mp1', 'mp2', 'm2a', 'mpa',
]);

/**
 * Audio formats the library finds but cannot read (music-metadata has no parser for them, or the audio is
 * DRM-protected), by extension, with the format's name: such files are counted and listed as skipped
 * (`musilingo list --skipped`), never dropped silently.
 */
export const SKIPPED_AUDIO_FORMATS: ReadonlyMap<string, string> = new Map([
  ['ac3', 'AC-3 (Dolby Digital)'], ['eac3', 'E-AC-3 (Dolby Digital Plus)'], ['dts', 'DTS'], ['tta', 'TTA (True Audio)'],
  ['tak', "TAK (Tom's lossless Audio Kompressor)"], ['caf', 'Core Audio Format'], ['au', 'Sun AU'], ['snd', 'Sun AU'],
  ['w64', 'Sony Wave64'], ['amr', 'AMR'], ['awb', 'AMR-WB'], ['ra', 'RealAudio'], ['rm', 'RealMedia'],
  ['mid', 'MIDI'], ['midi', 'MIDI'], ['kar', 'MIDI karaoke'], ['mod', 'tracker module'], ['xm', 'tracker module'],
  ['it', 'tracker module'], ['s3m', 'tracker module'], ['shn', 'Shorten'], ['ofr', 'OptimFROG'], ['voc', 'Creative Voice'],
  ['mlp', 'MLP'], ['thd', 'Dolby TrueHD'], ['aa', 'Audible'], ['aax', 'Audible (DRM-protected)'], ['m4p', 'protected AAC (iTunes DRM)'],
]);

function extensionOf(name: string): string | null {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : null;
}

/** Why a file with this name is skipped (an audio format we cannot read), or null when it is not. */
export function skippedAudioReason(name: string): string | null {
  const ext = extensionOf(name);
  const format = ext === null ? undefined : SKIPPED_AUDIO_FORMATS.get(ext);
  return format ? `${format} files are not read: there is no parser for their tags and stream` : null;
}

/** True when the file name has an extension from {@link AUDIO_EXTENSIONS}. */
export function hasAudioExtension(name: string): boolean {
  const ext = extensionOf(name);
  return ext !== null && AUDIO_EXTENSIONS.has(ext);
}

// Names that operating systems, NAS boxes and sync tools sprinkle over music folders.
const SYSTEM_NAMES: ReadonlySet<string> = new Set([
  'thumbs.db', 'desktop.ini', 'ehthumbs.db', '@eadir', '#recycle', '#snapshot', '$recycle.bin',
  'system volume information', 'lost+found', '__macosx', 'recycler', '@recycle', '@tmp',
]);

/**
 * True for names the scanner and watcher skip, files and folders alike: dotfiles and dot-folders
 * (.DS_Store, ._AppleDouble, .Trashes, .git), Windows and NAS system entries, and partial downloads.
 */
export function isIgnoredName(name: string): boolean {
  if (name.startsWith('.') || name.startsWith('~$')) return true;
  const lower = name.toLowerCase();
  if (SYSTEM_NAMES.has(lower)) return true;
  return lower.endsWith('.part') || lower.endsWith('.crdownload') || lower.endsWith('.tmp');
}

function ascii(buf: Uint8Array, at: number, s: string): boolean {
  if (buf.length < at + s.length) return false;
  for (let i = 0; i < s.length; i++) if (buf[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

const ASF_GUID = [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11];
const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3];

/**
 * The MIME type music-metadata should parse a file with, from its first bytes, or null when they look like
 * no audio format we read. Content wins over the extension: a FLAC renamed to .mp3 is read as FLAC.
 * See [Note: Sniffing before parsing] in metadata.ts.
 */
export function sniffAudioMime(head: Uint8Array): string | null {
  let at = 0;
  // ID3v2 may precede MPEG, AAC (ADTS) and even FLAC data: skip it (size is syncsafe, + 10 header bytes,
  // + 10 footer bytes when flag 0x10 is set).
  while (ascii(head, at, 'ID3') && head.length >= at + 10) {
    const size = ((head[at + 6]! & 0x7f) << 21) | ((head[at + 7]! & 0x7f) << 14) | ((head[at + 8]! & 0x7f) << 7) | (head[at + 9]! & 0x7f);
    at += 10 + size + ((head[at + 5]! & 0x10) !== 0 ? 10 : 0);
    // Padding zeros between the tag and the audio are common.
    while (at < head.length && head[at] === 0) at++;
    if (at >= head.length) return 'audio/mpeg'; // a tag larger than what we read: MPEG by far the most likely
  }
  if (ascii(head, at, 'fLaC')) return 'audio/flac';
  if (ascii(head, at, 'OggS')) return 'audio/ogg';
  if (ascii(head, at, 'RIFF') && ascii(head, at + 8, 'WAVE')) return 'audio/wav';
  if (ascii(head, at, 'RF64') && ascii(head, at + 8, 'WAVE')) return 'audio/wav';
  if (ascii(head, at, 'FORM') && (ascii(head, at + 8, 'AIFF') || ascii(head, at + 8, 'AIFC'))) return 'audio/aiff';
  if (ascii(head, at + 4, 'ftyp')) return 'audio/mp4';
  if (ASF_GUID.every((b, i) => head[at + i] === b)) return 'audio/ms-asf';
  if (ascii(head, at, 'MAC ')) return 'audio/ape';
  if (ascii(head, at, 'wvpk')) return 'audio/wavpack';
  if (ascii(head, at, 'MPCK') || ascii(head, at, 'MP+')) return 'audio/musepack';
  if (ascii(head, at, 'DSD ')) return 'audio/dsf';
  if (ascii(head, at, 'FRM8') && ascii(head, at + 12, 'DSD ')) return 'audio/dsd'; // DSDIFF (music-metadata's name)
  if (EBML_MAGIC.every((b, i) => head[at + i] === b)) return 'audio/matroska'; // Matroska and WebM alike
  const b0 = head[at];
  const b1 = head[at + 1];
  if (b0 === 0xff && b1 !== undefined && (b1 & 0xe0) === 0xe0) {
    const layer = (b1 >> 1) & 0x03;
    if (layer === 0 && (b1 & 0xf6) === 0xf0) return 'audio/aacp'; // ADTS AAC (music-metadata's MPEG parser reads it)
    if (layer !== 0 && ((b1 >> 3) & 0x03) !== 1) return 'audio/mpeg';
  }
  return null;
}
