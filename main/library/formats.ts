/**
 * @file Which files are music: audio extensions, hidden/system names to skip, and content sniffing by magic
 * bytes. Pure functions; main process, CLI and tests.
 */

/** Extensions (lower case, no dot) the scanner reads. Everything else is ignored without an error. */
export const AUDIO_EXTENSIONS: ReadonlySet<string> = new Set([
  'mp3', 'flac', 'ogg', 'oga', 'opus', 'm4a', 'm4b', 'mp4', 'aac', 'wav', 'wave', 'aif', 'aiff', 'aifc', 'wma',
]);

/** True when the file name has an extension from {@link AUDIO_EXTENSIONS}. */
export function hasAudioExtension(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && AUDIO_EXTENSIONS.has(name.slice(dot + 1).toLowerCase());
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
  const b0 = head[at];
  const b1 = head[at + 1];
  if (b0 === 0xff && b1 !== undefined && (b1 & 0xe0) === 0xe0) {
    const layer = (b1 >> 1) & 0x03;
    if (layer === 0 && (b1 & 0xf6) === 0xf0) return 'audio/aacp'; // ADTS AAC (music-metadata's MPEG parser reads it)
    if (layer !== 0 && ((b1 >> 3) & 0x03) !== 1) return 'audio/mpeg';
  }
  return null;
}
