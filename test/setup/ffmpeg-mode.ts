/**
 * @file Vitest setupFile: which ffmpeg the decode tests get, per project (vitest.config.ts).
 *
 * [Note: Decode tests run twice]
 * Project 'system-ffmpeg' (the whole suite): MUSILINGO_FFMPEG / MUSILINGO_FFPROBE point at the system's ffmpeg
 * and ffprobe, so decoding runs the user-installed tools as before. Project 'no-ffmpeg' (decode and caption
 * tests only): both variables unset and PATH rebuilt without ffmpeg/ffprobe, as on a clean Windows or macOS
 * machine, so only what the app bundles can decode. In both, the system binaries' absolute paths stay
 * available as MUSILINGO_TEST_SYSTEM_FFMPEG / MUSILINGO_TEST_SYSTEM_FFPROBE for making test audio and for the
 * reference PCM the decoded output is compared with.
 */
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { findOnPath } from '../../model/audio/decoders';

const HIDDEN = new Set(['ffmpeg', 'ffprobe', 'ffmpeg.exe', 'ffprobe.exe']);

/** A folder of links to everything in `dir` except ffmpeg/ffprobe (made once per folder and reused). */
function shadow(dir: string): string {
  const out = join(tmpdir(), `musilingo-no-ffmpeg-${process.getuid?.() ?? 0}`, Buffer.from(dir).toString('hex').slice(0, 120));
  if (existsSync(join(out, '.done'))) return out;
  mkdirSync(out, { recursive: true });
  for (const name of readdirSync(dir)) {
    if (HIDDEN.has(name) || existsSync(join(out, name))) continue;
    try {
      symlinkSync(join(dir, name), join(out, name));
    } catch {
      // Another worker made it first.
    }
  }
  mkdirSync(join(out, '.done'), { recursive: true });
  return out;
}

const mode = process.env.MUSILINGO_TEST_FFMPEG_MODE ?? 'system';
const systemFfmpeg = process.env.MUSILINGO_TEST_SYSTEM_FFMPEG ?? findOnPath('ffmpeg');
const systemFfprobe = process.env.MUSILINGO_TEST_SYSTEM_FFPROBE ?? findOnPath('ffprobe');
if (systemFfmpeg) process.env.MUSILINGO_TEST_SYSTEM_FFMPEG = systemFfmpeg;
if (systemFfprobe) process.env.MUSILINGO_TEST_SYSTEM_FFPROBE = systemFfprobe;

if (mode === 'stripped') {
  delete process.env.MUSILINGO_FFMPEG;
  delete process.env.MUSILINGO_FFPROBE;
  process.env.PATH = (process.env.PATH ?? '').split(delimiter).filter(Boolean)
    .map((d) => ([...HIDDEN].some((h) => existsSync(join(d, h))) ? shadow(d) : d))
    .join(delimiter);
} else {
  if (systemFfmpeg && !process.env.MUSILINGO_FFMPEG) process.env.MUSILINGO_FFMPEG = systemFfmpeg;
  if (systemFfprobe && !process.env.MUSILINGO_FFPROBE) process.env.MUSILINGO_FFPROBE = systemFfprobe;
}
