/**
 * @file Runs the bundled CLI as a child process (main process, E2E bridge), for long work that must not block
 * main. Conversion and training no longer use it (see [Note: Conversion runs in its own thread] and
 * main/app/training-adapter.ts). Plain Node.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { CliRunner } from './models-adapter';

// [Note: The CLI as a child process]
// In the app, process.execPath is the Electron binary: ELECTRON_RUN_AS_NODE=1 makes it a plain Node runtime
// (asar-aware, and with the same native-module ABI as the app, so the rebuilt better-sqlite3 loads), as VS
// Code runs its own CLI. In the bridge and tests it is Node itself. MUSILINGO_HOME points the CLI at the app's
// data folder, so it opens the same database and models folder.

/** A runner for the CLI bundle at `cliPath` (out/cli/musilingo.mjs); null when the bundle is missing. */
export function createCliRunner(cliPath: string, dataDir: string): CliRunner | null {
  if (!existsSync(cliPath)) return null;
  return (args, log) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: { ...process.env, MUSILINGO_HOME: dataDir, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const forward = (chunk: Buffer): void => {
      // Progress bars redraw with \r; keep the last state of each line.
      for (const line of chunk.toString().split(/[\r\n]+/)) if (line.trim()) log(line.trim());
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    const exited = new Promise<number | null>((resolve) => {
      child.once('error', (e) => {
        log(`could not start the command-line tool: ${e.message}`);
        resolve(null);
      });
      child.once('exit', (code) => resolve(code));
    });
    return { exited, kill: () => void child.kill(), interrupt: () => void child.kill('SIGINT') };
  };
}
