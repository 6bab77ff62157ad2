/**
 * @file The training service's executor for a worker thread: the job runs in out/cli/train.thread.mjs
 * (trainer/train-thread.ts), off the caller's event loop, and its events come back as typed messages. A thread
 * that dies (a native abort, out of memory, terminate) rejects with {@link TrainerExitedError}; the run keeps its
 * last checkpoint and resumes from it. Used by `musilingo train` and by the app.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TrainThreadMessage } from '../../trainer/train-thread';
import type { TrainExecutor } from './service';

/** The trainer thread ended without finishing its job. */
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

/** Runs each job in a new worker thread started from `entry`; `onThread` sees it (tests kill it). */
export function workerThreadExecutor(entry: URL = trainThreadEntry(), onThread?: (w: Worker) => void): TrainExecutor {
  return (job, emit, signal) =>
    new Promise((resolveRun, reject) => {
      const worker = new Worker(entry, { workerData: { job } });
      onThread?.(worker);
      let settled = false;
      const onAbort = (): void => worker.postMessage({ type: 'cancel' });
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      worker.on('message', (m: TrainThreadMessage) => {
        if (m.type === 'event') {
          try {
            emit(m.event);
          } catch (e) {
            settle(() => reject(e instanceof Error ? e : new Error(String(e))));
            void worker.terminate();
          }
        } else if (m.type === 'finished') {
          settle(() => resolveRun(m.outcome));
          void worker.terminate(); // the job is over; its thread would otherwise keep the process alive
        } else {
          settle(() => reject(new Error(m.message)));
          void worker.terminate();
        }
      });
      worker.on('error', (e) => settle(() => reject(e)));
      worker.on('exit', (code) => settle(() => reject(new TrainerExitedError(code))));
    });
}
