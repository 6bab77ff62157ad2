/**
 * @file The CLI as one process among others: a reader that closes the pipe early (`| head -1`) and a --db path
 * into a folder that does not exist.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWav, tempDir } from '../../helpers/library-audio';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'musilingo.mjs');

let tmp: ReturnType<typeof tempDir>;
let dbPath: string;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; with `closeAfter`, closes our end of its stdout once that many bytes have arrived (0: at once). */
function cli(args: string[], opts: { closeAfter?: number; home?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: tmp.dir,
      env: { ...process.env, MUSILINGO_HOME: opts.home ?? join(tmp.dir, 'home') },
    });
    let stdout = '';
    let stderr = '';
    if (opts.closeAfter === 0) child.stdout.destroy();
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (opts.closeAfter !== undefined && stdout.length >= opts.closeAfter) child.stdout.destroy();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

beforeAll(async () => {
  tmp = tempDir('musilingo-pipe-');
  dbPath = join(tmp.dir, 'lib.sqlite');
  const music = join(tmp.dir, 'music');
  mkdirSync(music);
  for (let i = 0; i < 40; i++) writeFileSync(join(music, `take-${String(i).padStart(4, '0')}.wav`), makeWav({ freqHz: 200 + i }));
  const r = await cli(['--db', dbPath, 'scan', music]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => tmp.cleanup());

describe('a reader that closes the pipe', () => {
  it('list | head -1 exits 0 without a word on stderr', async () => {
    const r = await cli(['--db', dbPath, 'list', '--limit', '1000'], { closeAfter: 1 });
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled|Error/);
    expect(r.code).toBe(0);
  });

  it('a pipe closed before the first write (show … | head -0) exits 0 quietly', async () => {
    const r = await cli(['--db', dbPath, 'show', '1'], { closeAfter: 0 });
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled|Error/);
    expect(r.code).toBe(0);
  });
});

describe('--db into a missing folder', () => {
  it('is an error naming the folder, and creates nothing', async () => {
    const missing = join(tmp.dir, 'nonexistent', 'dir');
    const r = await cli(['--db', join(missing, 'x.sqlite'), 'list']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`does not exist: ${missing}`);
    expect(existsSync(join(tmp.dir, 'nonexistent'))).toBe(false);
  });

  it('the default data folder is still created on first use', async () => {
    const home = join(tmp.dir, 'fresh-home');
    const r = await cli(['list'], { home });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(home, 'library.sqlite'))).toBe(true);
    const explicit = await cli(['--db', join(tmp.dir, 'other-home', 'library.sqlite'), 'list'], { home: join(tmp.dir, 'other-home') });
    expect(explicit.code, explicit.stderr).toBe(0);
  });
});
