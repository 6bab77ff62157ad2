/**
 * @file ffprobe and ffmpeg as the reference for durations in tests: the container's duration as ffprobe reports
 * it, and the length of the decoded audio (what a listener hears).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** ffprobe's format duration and start time, in ms. */
export async function ffprobeDuration(path: string): Promise<{ durationMs: number; startMs: number }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration,start_time', '-of', 'json', path]);
  const f = (JSON.parse(stdout) as { format: { duration?: string; start_time?: string } }).format;
  return { durationMs: Number(f.duration) * 1000, startMs: Number(f.start_time ?? 0) * 1000 };
}

/** The length of the decoded first audio stream, in ms (ffmpeg applies pre-skip and end trimming). */
export async function decodedDurationMs(path: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=sample_rate', '-of', 'csv=p=0', path]);
  const rate = Number(stdout.trim());
  const pcm = await run('ffmpeg', ['-v', 'error', '-i', path, '-map', 'a:0', '-ac', '1', '-f', 's16le', '-'], { encoding: 'buffer', maxBuffer: 1 << 30 });
  return ((pcm.stdout as Buffer).length / 2 / rate) * 1000;
}
