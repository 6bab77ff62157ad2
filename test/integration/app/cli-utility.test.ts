/**
 * @file The app runs the CLI (the Evaluation page's eval) in a utility process, not as
 * `ELECTRON_RUN_AS_NODE=1 <app>`: main/workers/cli.worker.ts, started through a fake of Electron's
 * utilityProcess (test/support/workers/fake-utility.ts), runs the bundled CLI with the arguments it is sent and
 * exits with its exit code; its output reaches the runner's log.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliRunner } from '../../../main/app/cli-runner';
import { utilityCliLauncher } from '../../../main/workers/utility-launcher';
import { fakeElectronUtility } from '../../support/workers/fake-utility';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CLI = join(ROOT, 'out', 'cli', 'musilingo.mjs');

let tmp: string;
let entry: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'ml-cli-utility-'));
  entry = join(tmp, 'cli.worker.mjs');
  // The app bundles this entry with electron-vite; here esbuild makes the same file runnable by Node.
  await build({ entryPoints: [join(ROOT, 'main', 'workers', 'cli.worker.ts')], bundle: true, platform: 'node', format: 'esm', outfile: entry, logLevel: 'silent' });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!existsSync(CLI))('the CLI in a utility process', () => {
  it('runs the command it is sent, with the data folder, and exits with its code', async () => {
    const electron = fakeElectronUtility();
    const run = createCliRunner(CLI, join(tmp, 'data'), utilityCliLauncher(electron, entry));
    expect(run).not.toBeNull();
    const lines: string[] = [];
    expect(await run!(['--version'], (l) => lines.push(l)).exited).toBe(0);
    expect(lines).toContain('musilingo 0.1.0');
    const bad: string[] = [];
    expect(await run!(['no-such-command'], (l) => bad.push(l)).exited).not.toBe(0);
    expect(bad.join('\n')).toMatch(/no-such-command/);
    expect(electron.forks.map((f) => f.serviceName)).toEqual(['cli', 'cli']);
    expect(electron.forks[0]?.modulePath).toBe(entry);
    const env = electron.forks[0]?.env ?? {};
    expect(env['MUSILINGO_HOME']).toBe(join(tmp, 'data'));
    expect(env['ELECTRON_RUN_AS_NODE']).toBeUndefined();
  }, 60_000);
});
