/**
 * @file Launches a utility process with Electron's utilityProcess.fork and hands it a MessagePortMain (main
 * process). The Electron half of the supervisor's injected launcher (see [Note: Supervised workers]), for the
 * inference worker and the job workers (trainer, converter) alike. Electron itself is injected
 * (main/app/electron-workers.ts passes `utilityProcess` and `MessageChannelMain`), so tests drive this file
 * with a fake utility process in plain Node.
 */
import { fromMessagePortMainLike, type MessagePortMainLike } from '../../model/inference/protocol';
import type { CliProcessLauncher } from '../app/cli-runner';
import type { JobLauncher } from './job-worker';
import type { WorkerPort } from './port';
import type { LaunchedWorker } from './supervisor';

/** Logs one line of a worker's stdout/stderr. */
export type WorkerLog = (level: 'info' | 'error', line: string) => void;

/** What this file uses of an Electron UtilityProcess (structural, so a fake can stand in). */
export interface UtilityProcessLike {
  readonly stdout?: { on(event: 'data', listener: (chunk: Buffer) => void): unknown } | null;
  readonly stderr?: { on(event: 'data', listener: (chunk: Buffer) => void): unknown } | null;
  postMessage(message: unknown, transfer?: MessagePortMainLike[]): void;
  kill(): boolean;
  once(event: 'exit', listener: (code: number) => void): unknown;
}

/** What this file uses of Electron's main-process module. */
export interface ElectronUtility {
  readonly utilityProcess: { fork(modulePath: string, args: string[], options: { serviceName: string; stdio: 'pipe'; env?: NodeJS.ProcessEnv }): UtilityProcessLike };
  readonly MessageChannelMain: new () => { port1: MessagePortMainLike; port2: MessagePortMainLike };
}

/**
 * Returns a launcher for the bundled worker at `modulePath` (from a `?modulePath` import). Each launch forks a
 * fresh process, posts `init` (structured-clone-safe: paths, thread counts, a job) with one end of a new
 * MessageChannelMain, and keeps the other end as the rpc port.
 */
export function utilityLauncher(
  electron: ElectronUtility,
  serviceName: string,
  modulePath: string,
  init: () => unknown,
  log: WorkerLog,
): () => LaunchedWorker<WorkerPort> {
  return () => {
    const { port1, port2 } = new electron.MessageChannelMain();
    const child = electron.utilityProcess.fork(modulePath, [], { serviceName, stdio: 'pipe' });
    child.stdout?.on('data', (chunk: Buffer) => log('info', `[${serviceName}] ${chunk.toString().trimEnd()}`));
    child.stderr?.on('data', (chunk: Buffer) => log('error', `[${serviceName}] ${chunk.toString().trimEnd()}`));
    child.postMessage(init(), [port1]);
    return {
      port: fromMessagePortMainLike(port2), // starts the port
      kill: () => {
        child.kill();
      },
      onExit: (listener) => {
        child.once('exit', (code) => {
          port2.close();
          listener(code);
        });
      },
    };
  };
}

/** A job launcher (trainer, converter) on utility processes: each job's data is the start message. */
export function utilityJobLauncher(electron: ElectronUtility, serviceName: string, modulePath: string, log: WorkerLog): JobLauncher {
  return (data) => utilityLauncher(electron, serviceName, modulePath, () => data, log)();
}

/**
 * A launcher of the CLI bundle in utility processes (main/workers/cli.worker.ts at `modulePath` runs it with
 * the arguments it is sent), so the app needs no ELECTRON_RUN_AS_NODE (see [Note: The CLI as a child process]).
 */
export function utilityCliLauncher(electron: ElectronUtility, modulePath: string): CliProcessLauncher {
  return (cliPath, args, env) => {
    const { port1, port2 } = new electron.MessageChannelMain();
    const child = electron.utilityProcess.fork(modulePath, [], { serviceName: 'cli', stdio: 'pipe', env });
    child.postMessage({ cliPath, args: [...args] }, [port1]);
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => {
        port2.close();
        resolve(code);
      });
    });
    // A utility process takes no signals but its end: interrupting is killing (eval has nothing to save).
    return { stdout: child.stdout ?? null, stderr: child.stderr ?? null, exited, kill: () => void child.kill(), interrupt: () => void child.kill() };
  };
}
