/**
 * @file Generates small tagged audio files with ffmpeg for E2E tests (plain Node).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** One file to generate. */
export interface ToneSpec {
  readonly file: string;
  readonly title: string;
  readonly artist: string;
  readonly album: string;
  readonly genre: string;
  readonly frequencyHz: number;
  readonly seconds: number;
}

/** Writes each spec as a tagged file (format from the extension) under `dir`. */
export function writeTones(dir: string, specs: readonly ToneSpec[]): string[] {
  return specs.map((s) => {
    const path = join(dir, s.file);
    mkdirSync(dirname(path), { recursive: true });
    execFileSync('ffmpeg', [
      '-v', 'error', '-y',
      '-f', 'lavfi', '-i', `sine=frequency=${s.frequencyHz}:duration=${s.seconds}:sample_rate=22050`,
      '-metadata', `title=${s.title}`,
      '-metadata', `artist=${s.artist}`,
      '-metadata', `album=${s.album}`,
      '-metadata', `genre=${s.genre}`,
      path,
    ]);
    return path;
  });
}
