/**
 * @file Runs the bundled CLI as a separate process (main process, E2E bridge), for long work that must not
 * block main: the Evaluation page's `eval`. Conversion and training do not use it (they are job workers:
 * main/workers/job-worker.ts). The process is started by an injected {@link CliProcessLauncher}: in the app a
 * utility process (main/workers/cli.worker.ts, launched in main/app/electron-workers.ts), in the bridge and
 * tests plain Node.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { CliRunner } from './models-adapter';

// [Note: The CLI as a child process]
// The app must not start its own binary as Node (`ELECTRON_RUN_AS_NODE=1 <app>`): that needs the RunAsNode
// fuse, which also lets anyone run arbitrary code with the app's identity. So the app runs the CLI bundle in
// an Electron utility process (a Node runtime with the app's native-module ABI, so the rebuilt better-sqlite3
// loads), and the fuse is off (electron-builder.yml). In the bridge and tests process.execPath is Node itself.
// MUSILINGO_HOME points the CLI at the app's data folder, so it opens the same database and models folder.

/** A started CLI process as the runner needs it. */
export interface CliProcess {
  readonly stdout: { on(event: 'data', listener: (chunk: Buffer) => void): unknown } | null;
  readonly stderr: { on(event: 'data', listener: (chunk: Buffer) => void): unknown } | null;
  /** Resolves with the exit code, or null when it could not start. */
  readonly exited: Promise<number | null>;
  kill(): void;
  /** Asks it to stop cleanly (where the runtime can: SIGINT); else kills it. */
  interrupt(): void;
}

/** Starts `cliPath` with `args` and the environment `env`. */
export type CliProcessLauncher = (cliPath: string, args: readonly string[], env: NodeJS.ProcessEnv, log: (line: string) => void) => CliProcess;

/** The Node launcher: `node musilingo.mjs …` (the bridge and tests, where process.execPath is Node). */
export const nodeCliLauncher: CliProcessLauncher = (cliPath, args, env, log) => {
  const child = spawn(process.execPath, [cliPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (e) => {
      log(`could not start the command-line tool: ${e.message}`);
      resolve(null);
    });
    child.once('exit', (code) => resolve(code));
  });
  return { stdout: child.stdout, stderr: child.stderr, exited, kill: () => void child.kill(), interrupt: () => void child.kill('SIGINT') };
};

/** A runner for the CLI bundle at `cliPath` (out/cli/musilingo.mjs); null when the bundle is missing. */
export function createCliRunner(cliPath: string, dataDir: string, launch: CliProcessLauncher = nodeCliLauncher): CliRunner | null {
  if (!existsSync(cliPath)) return null;
  return (args, log) => {
    const child = launch(cliPath, args, { ...process.env, MUSILINGO_HOME: dataDir }, log);
    const forward = (chunk: Buffer): void => {
      // Progress bars redraw with \r; keep the last state of each line.
      for (const line of chunk.toString().split(/[\r\n]+/)) if (line.trim()) log(line.trim());
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    return { exited: child.exited, kill: () => child.kill(), interrupt: () => child.interrupt() };
  };
}
