/**
 * @file `musilingo models doctor` (built CLI) reports which decoder serves each audio format and where it comes
 * from: the system ffmpeg named by MUSILINGO_FFMPEG, or the bundled copy when no ffmpeg is on PATH.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOnPath } from '../../../model/audio/decoders';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'musilingo.mjs');
const SYSTEM_FFMPEG = process.env.MUSILINGO_TEST_SYSTEM_FFMPEG ?? findOnPath('ffmpeg');
const SYSTEM_FFPROBE = process.env.MUSILINGO_TEST_SYSTEM_FFPROBE ?? findOnPath('ffprobe');

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'ml-doctor-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

/** Runs the doctor with exactly `env` (plus a home folder): nothing of this process's ffmpeg settings leaks in. */
function doctor(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'models', 'doctor', '--no-probe', ...args], {
      env: { MUSILINGO_HOME: home, MUSILINGO_EP: 'cpu', ...env }, timeout: 120_000,
    }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

interface Row { format: string; decoder: string; source: string; detail: string; available: boolean }

describe('models doctor: audio decoders', () => {
  it('with no ffmpeg on PATH: the bundled binaries serve every compressed format', async () => {
    const r = await doctor(['--json'], { PATH: join(home, 'empty-bin') });
    expect(r.code, r.stderr).toBe(0);
    const rows = (JSON.parse(r.stdout) as { audioDecoders: Row[] }).audioDecoders;
    expect(rows.map((d) => `${d.format}:${d.decoder}:${d.source}`)).toEqual([
      'wav:native:builtin', 'aiff:native:builtin', 'mp3:ffmpeg:bundled', 'flac:ffmpeg:bundled', 'ogg:ffmpeg:bundled',
      'opus:ffmpeg:bundled', 'm4a-aac:ffmpeg:bundled', 'm4a-alac:ffmpeg:bundled',
    ]);
    expect(rows.every((d) => d.available)).toBe(true);
    const text = await doctor([], { PATH: join(home, 'empty-bin') });
    expect(text.stdout).toContain('Audio decoders:');
    expect(text.stdout).toMatch(new RegExp(`yes\\s+FLAC\\s+ffmpeg: bundled @ffmpeg-installer/${process.platform}-${process.arch} `));
  });

  it.skipIf(!SYSTEM_FFMPEG || !SYSTEM_FFPROBE)('with MUSILINGO_FFMPEG: that binary, named', async () => {
    const r = await doctor(['--json'], { PATH: '', MUSILINGO_FFMPEG: SYSTEM_FFMPEG!, MUSILINGO_FFPROBE: SYSTEM_FFPROBE! });
    const mp3 = (JSON.parse(r.stdout) as { audioDecoders: Row[] }).audioDecoders.find((d) => d.format === 'mp3')!;
    expect(mp3).toMatchObject({ source: 'env', available: true, detail: `${SYSTEM_FFMPEG} (from MUSILINGO_FFMPEG)` });
  });

  it('an override naming no executable: the formats it serves are reported unavailable', async () => {
    const r = await doctor([], { PATH: '', MUSILINGO_FFMPEG: join(home, 'no-ffmpeg') });
    expect(r.stdout).toMatch(/no\s+MP3\s+ffmpeg: .*no-ffmpeg \(from MUSILINGO_FFMPEG, which names no executable\)/);
    expect(r.stdout).toMatch(/yes\s+WAV/);
  });
});
