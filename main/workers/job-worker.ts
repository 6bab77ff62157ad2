/**
 * @file Job workers (trainer, converter): one job per worker, started with plain data, speaking typed messages
 * over a {@link WorkerPort}. A {@link JobLauncher} hides the runtime: a Node worker thread in the CLI
 * ({@link threadLauncher}), an Electron utility process in the app (main/workers/utility-launcher.ts), a fake
 * one in tests. The worker side is model/worker-host.ts; both ends use the same message types.
 */
import { Worker } from 'node:worker_threads';
import { fromNodePort } from '../../model/inference/protocol';
import type { WorkerPort } from './port';
import type { LaunchedWorker } from './supervisor';

/** Starts one job worker with its start data (structured-clone-safe). */
export type JobLauncher = (data: unknown) => LaunchedWorker<WorkerPort>;

/** A launcher of worker threads on `entry` (a bundled *.thread.mjs); `onThread` sees each one (tests). */
export function threadLauncher(entry: URL, onThread?: (w: Worker) => void): JobLauncher {
  return (data) => {
    const worker = new Worker(entry, { workerData: data });
    // An uncaught error in the thread is followed by 'exit' (code 1), which is what the caller sees; without a
    // listener the 'error' event would throw in main.
    worker.on('error', () => undefined);
    onThread?.(worker);
    return {
      port: fromNodePort(worker),
      kill: () => void worker.terminate(),
      onExit: (listener) => void worker.once('exit', (code: number) => listener(code)),
    };
  };
}

/** How one message moves a job: keep going, or end it with a value or an error. */
export type JobStep<R> = { readonly end: 'resolve'; readonly value: R } | { readonly end: 'reject'; readonly error: Error } | null;

/**
 * Runs one job on a fresh worker from `launch`: each message goes to `onMessage`, which may end the job; a
 * worker that ends first rejects with `onExit(code)`'s error (a crash); `signal` posts `{type:'cancel'}`. The
 * worker is killed once the job is over (its port would otherwise keep it alive).
 */
export function runJobWorker<M, R>(
  launch: JobLauncher,
  data: unknown,
  onMessage: (m: M) => JobStep<R>,
  onExit: (code: number | null) => Error,
  signal?: AbortSignal,
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    let worker: LaunchedWorker<WorkerPort>;
    try {
      worker = launch(data);
    } catch (e) {
      reject(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    let settled = false;
    const onAbort = (): void => worker.port.postMessage({ type: 'cancel' });
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      off();
      fn();
      worker.kill();
    };
    const off = worker.port.onMessage((m) => {
      let step: JobStep<R>;
      try {
        step = onMessage(m as M);
      } catch (e) {
        step = { end: 'reject', error: e instanceof Error ? e : new Error(String(e)) };
      }
      if (step?.end === 'resolve') settle(() => resolve(step.value));
      else if (step?.end === 'reject') settle(() => reject(step.error));
    });
    worker.onExit((code) => settle(() => reject(onExit(code))));
  });
}

/**
 * A running job seen by the supervisor as a worker of its own (the facades supervise runJobWorker calls, not
 * the processes under them): `exit(code)` says how the job ended, and is kept until the supervisor listens.
 */
export function supervisedJob(kill: () => void): { readonly worker: LaunchedWorker<null>; exit(code: number | null): void } {
  let exitListener: ((code: number | null) => void) | null = null;
  let exitCode: number | null | undefined;
  return {
    worker: {
      port: null,
      kill,
      onExit: (listener) => {
        exitListener = listener;
        if (exitCode !== undefined) listener(exitCode);
      },
    },
    exit: (code) => {
      if (exitListener) exitListener(code);
      else exitCode = code;
    },
  };
}
