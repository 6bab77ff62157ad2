/**
 * @file Entry of the trainer worker (bundled as out/cli/train.thread.mjs for the CLI's worker thread, and as a
 * utility-process entry of the app's main bundle): receives one TrainJob, runs it (trainer/job.ts) and posts
 * its events back as {@link TrainThreadMessage}s; a 'cancel' message aborts it (a checkpoint is written and
 * 'cancelled' posted). The same messages cross a worker thread's port and a utility process's MessagePort
 * (model/worker-host.ts). Electron-free, so the CLI and the app run the same file.
 */
import { connectToParent } from '../model/worker-host';
import { runTrainJob, type TrainJob, type TrainJobEvent } from './job';

/** What the trainer worker is started with. */
export interface TrainThreadData {
  readonly job: TrainJob;
}

/** Messages the trainer worker posts (the one protocol of both runtimes). */
export type TrainThreadMessage =
  | { readonly type: 'event'; readonly event: TrainJobEvent }
  | { readonly type: 'finished'; readonly outcome: 'done' | 'cancelled' }
  | { readonly type: 'failed'; readonly message: string };

/** Messages the trainer worker takes. */
export type TrainThreadCommand =
  | { readonly type: 'cancel' }
  // Fault injection for the worker-fault tests: ends the worker right after that progress event, between two
  // ONNX Runtime calls (ending it during one aborts the process, which no test can survive).
  | { readonly type: 'crash-at'; readonly kind: 'step' | 'checkpoint'; readonly step: number };

void connectToParent('train.thread').then(({ data, port }) => {
  const controller = new AbortController();
  let crashAt: { kind: string; step: number } | null = null;
  port.onMessage((raw) => {
    const m = raw as Partial<TrainThreadCommand> | null;
    if (m?.type === 'cancel') controller.abort();
    if (m?.type === 'crash-at' && typeof m.kind === 'string' && typeof m.step === 'number') crashAt = { kind: m.kind, step: m.step };
  });
  const post = (m: TrainThreadMessage): void => port.postMessage(m);
  const { job } = data as TrainThreadData;
  runTrainJob(job, (event) => {
    post({ type: 'event', event });
    if (crashAt && event.type === 'progress' && event.progress.kind === crashAt.kind && event.progress.step === crashAt.step) process.exit(70);
  }, controller.signal).then(
    (outcome) => post({ type: 'finished', outcome }),
    (e: unknown) => post({ type: 'failed', message: e instanceof Error ? e.message : String(e) }),
  );
});
