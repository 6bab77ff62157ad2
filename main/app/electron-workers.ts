/**
 * @file The Electron launchers for the supervised utility processes (main process). Worker entries are
 * bundled by electron-vite through `?modulePath` imports, so each is its own file in out/main: the inference
 * worker, and the job workers (trainer, converter) whose entries the CLI bundle also builds as worker threads.
 */
import { MessageChannelMain, utilityProcess } from 'electron';
import inferenceEntry from '../workers/inference.worker?modulePath';
import trainerEntry from '../../trainer/train-thread?modulePath';
import converterEntry from '../models/convert-thread?modulePath';
import cliEntry from '../workers/cli.worker?modulePath';
import { createCliRunner } from './cli-runner';
import type { CliRunner } from './models-adapter';
import { utilityCliLauncher, utilityJobLauncher, utilityLauncher, type ElectronUtility } from '../workers/utility-launcher';
import type { AppLog, WorkerLaunchers } from './services';

// Electron's own types are wider than the structural ones the launchers need (more events, more options).
const electron = { utilityProcess, MessageChannelMain } as unknown as ElectronUtility;

/** Runs the CLI bundle at `cliPath` in a utility process (see [Note: The CLI as a child process]). */
export function electronCliRunner(cliPath: string, dataDir: string): CliRunner | null {
  return createCliRunner(cliPath, dataDir, utilityCliLauncher(electron, cliEntry));
}

/** Launchers for the workers shipped in this build. */
export function electronWorkerLaunchers(log: AppLog): WorkerLaunchers {
  const workerLog = (level: 'info' | 'error', line: string): void => log(level, line);
  return {
    inference: (init) => utilityLauncher(electron, 'inference', inferenceEntry, () => init, workerLog)(),
    trainJob: utilityJobLauncher(electron, 'trainer', trainerEntry, workerLog),
    convertJob: utilityJobLauncher(electron, 'converter', converterEntry, workerLog),
  };
}
