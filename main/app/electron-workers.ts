/**
 * @file The Electron launchers for the supervised utility processes (main process). Worker entries are
 * bundled by electron-vite through `?modulePath` imports.
 */
import type { WorkerLaunchers } from './services';

/** Launchers for the workers shipped in this build. */
export function electronWorkerLaunchers(): WorkerLaunchers {
  return {};
}
