/**
 * @file Entry of the trainer worker thread (bundled as out/cli/train.thread.mjs): receives one TrainJob, runs
 * it (trainer/job.ts) and posts its events back; a 'cancel' message aborts it (a checkpoint is written and
 * 'cancelled' posted). Electron-free, so the CLI and the app run the same file.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runTrainJob, type TrainJob } from './job';

/** Messages the thread posts. */
export type TrainThreadMessage =
  | { readonly type: 'event'; readonly event: import('./job').TrainJobEvent }
  | { readonly type: 'finished'; readonly outcome: 'done' | 'cancelled' }
  | { readonly type: 'failed'; readonly message: string };

const port = parentPort;
if (!port) throw new Error('train.thread must run as a worker thread.');
const controller = new AbortController();
// Fault injection for the worker-fault tests: { type: 'crash-at', kind: 'step' | 'checkpoint', step } ends the
// thread right after that event, between two ONNX Runtime calls (ending it during one aborts the process, which
// no test can survive).
let crashAt: { kind: string; step: number } | null = null;
port.on('message', (m: { type?: string; kind?: string; step?: number }) => {
  if (m?.type === 'cancel') controller.abort();
  if (m?.type === 'crash-at' && typeof m.kind === 'string' && typeof m.step === 'number') crashAt = { kind: m.kind, step: m.step };
});
const job = (workerData as { job: TrainJob }).job;
runTrainJob(job, (event) => {
  port.postMessage({ type: 'event', event } satisfies TrainThreadMessage);
  if (crashAt && event.type === 'progress' && event.progress.kind === crashAt.kind && event.progress.step === crashAt.step) process.exit(70);
}, controller.signal).then(
  (outcome) => port.postMessage({ type: 'finished', outcome } satisfies TrainThreadMessage),
  (e: unknown) => port.postMessage({ type: 'failed', message: e instanceof Error ? e.message : String(e) } satisfies TrainThreadMessage),
);
