/**
 * @file The training service's executor on a job worker (main/workers/job-worker.ts): the job runs in the
 * trainer worker (trainer/train-thread.ts) off the caller's event loop, and its events come back as typed
 * messages. `musilingo train` runs it in a worker thread (out/cli/train.thread.mjs); the app in a utility
 * process under its supervisor. A worker that dies (a native abort, out of memory, a kill) rejects with
 * {@link TrainerExitedError}; the run keeps its last checkpoint and resumes from it.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import type { TrainThreadData, TrainThreadMessage } from '../../trainer/train-thread';
import { runJobWorker, threadLauncher, type JobLauncher } from '../workers/job-worker';
import type { TrainExecutor } from './service';

/** The trainer worker ended without finishing its job. */
export class TrainerExitedError extends Error {
  constructor(readonly code: number) {
    super(`The trainer worker exited unexpectedly (code ${code}); the run resumes from its last checkpoint.`);
    this.name = 'TrainerExitedError';
  }
}

/**
 * Where a thread entry of the CLI bundle is (`train.thread.mjs`, `convert.thread.mjs`): $`envVar`, beside the
 * CLI bundle (out/cli, out/cli/chunks), from the app's bundle (out/main), or from the source tree. Null when
 * it is not built.
 */
export function findThreadEntry(file: string, envVar?: string): URL | null {
  const override = envVar ? process.env[envVar] : undefined;
  if (override) return new URL(`file://${resolve(override)}`);
  const here = new URL('.', import.meta.url);
  for (const rel of [`./${file}`, `../${file}`, `../cli/${file}`, `../../out/cli/${file}`, `../../../out/cli/${file}`]) {
    const u = new URL(rel, here);
    try {
      if (statSync(fileURLToPath(u)).isFile()) return u;
    } catch {
      // try the next place
    }
  }
  return null;
}

/** Where the bundled trainer thread is ($MUSILINGO_TRAIN_THREAD overrides). */
export function trainThreadEntry(): URL {
  const u = findThreadEntry('train.thread.mjs', 'MUSILINGO_TRAIN_THREAD');
  if (!u) throw new Error('The trainer worker (train.thread.mjs) is missing beside the CLI bundle. Rebuild it: npm run build:cli');
  return u;
}

/** Runs each job on a fresh trainer worker from `launch` (a worker thread, a utility process). */
export function workerExecutor(launch: JobLauncher): TrainExecutor {
  return (job, emit, signal) =>
    runJobWorker<TrainThreadMessage, 'done' | 'cancelled'>(
      launch,
      { job } satisfies TrainThreadData,
      (m) => {
        if (m.type === 'event') {
          emit(m.event); // a throw here (a database write failed) ends the job with that error
          return null;
        }
        if (m.type === 'finished') return { end: 'resolve', value: m.outcome };
        return { end: 'reject', error: new Error(m.message) };
      },
      (code) => new TrainerExitedError(code ?? -1),
      signal,
    );
}

/** Runs each job in a new worker thread started from `entry`; `onThread` sees it (tests kill it). */
export function workerThreadExecutor(entry: URL = trainThreadEntry(), onThread?: (w: Worker) => void): TrainExecutor {
  return workerExecutor(threadLauncher(entry, onThread));
}
