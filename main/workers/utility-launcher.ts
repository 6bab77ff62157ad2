/**
 * @file Launches a utility process with Electron's utilityProcess.fork and hands it a MessagePortMain (main
 * process). The Electron half of the supervisor's injected launcher (see [Note: Supervised workers]).
 */
import { MessageChannelMain, utilityProcess } from 'electron';
import { fromMessagePortMainLike } from '../../model/inference/protocol';
import type { WorkerPort } from './port';
import type { LaunchedWorker } from './supervisor';

/** Logs one line of a worker's stdout/stderr. */
export type WorkerLog = (level: 'info' | 'error', line: string) => void;

/**
 * Returns a launcher for the bundled worker at `modulePath` (from a `?modulePath` import). Each launch forks a
 * fresh process, posts `init` (structured-clone-safe: paths, thread counts) with one end of a new
 * MessageChannelMain, and keeps the other end as the rpc port.
 */
export function utilityLauncher(
  serviceName: string,
  modulePath: string,
  init: () => unknown,
  log: WorkerLog,
): () => LaunchedWorker<WorkerPort> {
  return () => {
    const { port1, port2 } = new MessageChannelMain();
    const child = utilityProcess.fork(modulePath, [], { serviceName, stdio: 'pipe' });
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
