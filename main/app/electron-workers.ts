/**
 * @file The Electron launchers for the supervised utility processes (main process). Worker entries are
 * bundled by electron-vite through `?modulePath` imports, so each is its own file in out/main.
 */
import inferenceEntry from '../workers/inference.worker?modulePath';
import { utilityLauncher } from '../workers/utility-launcher';
import type { AppLog, WorkerLaunchers } from './services';

/** Launchers for the workers shipped in this build. */
export function electronWorkerLaunchers(log: AppLog): WorkerLaunchers {
  const workerLog = (level: 'info' | 'error', line: string): void => log(level, line);
  return {
    inference: (init) => utilityLauncher('inference', inferenceEntry, () => init, workerLog)(),
  };
}
