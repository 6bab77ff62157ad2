/**
 * @file Independent tag readers for the tagger tests: ffprobe's format tags, mutagen-inspect's dump, and the
 * PCM md5 of the decoded audio (ffmpeg -f md5), so a test never trusts the library it is testing.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The real Debian wesnoth-1.16-music OGGs the tests tag (copied first; the originals are never written). */
export const WESNOTH_OGGS = ['/usr/share/games/wesnoth/1.16/data/core/music/defeat.ogg', '/usr/share/games/wesnoth/1.16/data/core/music/victory.ogg'];

/** md5 of the decoded PCM of every audio stream: equal before and after means the audio was not changed. */
export async function pcmMd5(path: string): Promise<string> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', path, '-map', '0:a', '-f', 'md5', '-']);
  return stdout.trim();
}

/** ffprobe's format-level tags (and, for Ogg/Opus, the first stream's, where ffprobe puts Vorbis comments). */
export async function ffprobeTags(path: string): Promise<Record<string, string>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format_tags:stream_tags', '-of', 'json', path]);
  const j = JSON.parse(stdout) as { format?: { tags?: Record<string, string> }; streams?: { tags?: Record<string, string> }[] };
  return { ...(j.streams?.[0]?.tags ?? {}), ...(j.format?.tags ?? {}) };
}

/** mutagen-inspect's tag lines (the header lines with the path and stream info dropped), sorted. */
export async function mutagenTags(path: string): Promise<string[]> {
  const { stdout } = await run('mutagen-inspect', [path]);
  return stdout
    .split('\n')
    .filter((l) => l && !l.startsWith('-- ') && !l.startsWith('- '))
    .sort();
}

/** The ID3v2 major version of an MP3/WAV/AIFF's tag from its header, or null. */
export function id3Version(bytes: Buffer): number | null {
  const at = bytes.indexOf('ID3');
  return at >= 0 ? (bytes[at + 3] ?? null) : null;
}
