/**
 * @file Wires adapter training to the IPC contract (main process, E2E bridge): runs, live loss points, adapters
 * and the active one. A run goes through the training service (main/training/service.ts), the same one
 * `musilingo train` uses: the run row exists before any work (its id is returned at once), the job runs in a
 * trainer worker off main's event loop (a utility process in the app, a worker thread elsewhere: `execute`),
 * and its typed events become training:progress / training:changed
 * pushes as they arrive (main writes them to the database in transactions). Nothing is polled or parsed.
 */
import type Database from 'better-sqlite3';
import type { AdapterInfo, LossPoint, StaleCaptions, TrainingRun } from '../../preload/contract';
import { activateAdapter, getAdapter, listAdapters, listPoints, listRuns, TrainingNotFoundError } from '../db/training';
import { IpcError } from '../ipc/errors';
import { ModelNotFoundError } from '../models/registry';
import { runTraining, startTraining, TrainingRequestError, type TrainExecutor, type TrainingEvent } from '../training/service';
import { TrainerExitedError, workerThreadExecutor } from '../training/worker-thread';
import { createSupervisor, type Supervisor } from '../workers/supervisor';
import { supervisedJob } from '../workers/job-worker';
import { defaultTrainOptions } from '../../trainer/run/train-loop';
import type { EventHub } from './events';
import type { TrainingFacade } from './facades';
import type { AppLog } from './services';

/** Options of {@link createTrainingFacade}. */
export interface TrainingFacadeOptions {
  readonly db: Database.Database;
  /** The library database file (the trainer opens it read-only). */
  readonly dbPath: string;
  readonly events: EventHub;
  readonly log: AppLog;
  /**
   * Runs a job; the app passes a utility-process executor (main/app/services.ts); default: a worker thread on the
   * bundled out/cli/train.thread.mjs. Null when training is unavailable.
   */
  readonly execute?: TrainExecutor | null;
  /** The data folder (runs, adapters and graph caches live under it). */
  readonly dataDir: string;
  /** The analysis side's re-caption hooks (null when this build has no inference worker). */
  readonly recaption?: { staleCaptions(): StaleCaptions; recaptionStale(): { queued: number } } | null;
  /** Crashes of a run's trainer thread the supervisor restarts from (default 3), and its base backoff. */
  readonly maxRestarts?: number;
  readonly restartDelayMs?: number;
}

/** A run id as the renderer holds it: decimal digits only (Number() would also take '0x10', '1e3', ' 7 '). */
function runNumber(runId: string): number {
  const n = /^[1-9][0-9]{0,14}$/.test(runId) ? Number(runId) : NaN;
  if (!Number.isSafeInteger(n)) throw new IpcError('invalid-argument', `"${runId}" is not a training run id.`);
  return n;
}

/** Creates the Training page facade. */
export function createTrainingFacade(opts: TrainingFacadeOptions): TrainingFacade & { close(): void } {
  const { db, events, log } = opts;
  const running = new Map<number, AbortController>();
  const ctx = { db, dbPath: opts.dbPath, dataDir: opts.dataDir };

  function toLossPoints(runId: number): LossPoint[] {
    return listPoints(db, runId).map((p) => ({ step: p.step, loss: p.loss, split: p.kind === 'train' ? 'train' : 'heldout' }));
  }

  /**
   * Runs `runId` through the service under a "trainer" supervisor (main/workers/supervisor.ts, the one that
   * keeps the inference worker): a trainer worker that dies mid-run is reported (workers:changed, status
   * restarting with the reason) and started again with backoff, and the run resumes from its last checkpoint
   * in the same run row; after `maxRestarts` crashes the supervisor gives up (status failed) and the run stays
   * failed, resumable by hand. A run that ends (done, cancelled, a real error) stops its supervisor.
   */
  function launch(runId: number, execute: TrainExecutor): void {
    const controller = new AbortController();
    running.set(runId, controller);
    let isFinished = false;
    const finish = (): void => {
      if (isFinished) return;
      isFinished = true;
      running.delete(runId);
      events.emit('training:changed', { runId: String(runId) });
    };
    const onEvent = (e: TrainingEvent): void => {
      if (e.event === 'step') events.emit('training:progress', { runId: String(runId), step: e.step, loss: e.loss, split: 'train' });
      else if (e.event === 'eval') events.emit('training:progress', { runId: String(runId), step: e.step, loss: e.heldOutLoss, split: 'heldout' });
      else if (e.event === 'log') log('info', `[train] ${e.line}`);
    };
    const supervisor: Supervisor<null> = createSupervisor<null>({
      name: 'trainer',
      maxRestarts: opts.maxRestarts ?? 3,
      baseDelayMs: opts.restartDelayMs ?? 500,
      launch: () => {
        const job = supervisedJob(() => controller.abort());
        const { exit } = job;
        const end = (code: number): void => {
          void supervisor.stop(0);
          exit(code);
          finish();
        };
        void runTraining(ctx, runId, { execute, onEvent, signal: controller.signal }).then(
          () => end(0),
          (e: unknown) => {
            if (e instanceof TrainerExitedError && !controller.signal.aborted) {
              exit(e.code); // a crash: the supervisor reports it and starts the run again (it resumes)
              return;
            }
            log('error', `Training run ${runId} failed: ${e instanceof Error ? e.message : String(e)}`);
            end(1);
          },
        );
        return job.worker;
      },
      onStatus: (status) => {
        events.emit('workers:changed', status);
        if (status.state === 'restarting' || status.state === 'failed') log('error', status.lastError ?? `trainer ${status.state}`);
        if (status.state === 'failed') finish();
      },
    });
    supervisor.start();
  }

  return {
    runs(): TrainingRun[] {
      return listRuns(db).map((r) => {
        // The row's step moves at checkpoints; the loss points move every step. Show the furthest.
        const lastPointStep = listPoints(db, r.id).reduce((m, p) => Math.max(m, p.step), -1);
        return {
        id: String(r.id),
        // A row still 'running' whose process is gone (app restart, crash) is shown as failed, with the way out.
        state: r.state === 'running' && !running.has(r.id) ? 'failed' : r.state,
        startedAt: r.createdAt,
        step: Math.max(r.step, lastPointStep),
        totalSteps: r.totalSteps,
        lastLoss: listPoints(db, r.id, 'train').at(-1)?.loss ?? null,
        adapterId: r.adapterId,
        error: r.state === 'running' && !running.has(r.id) ? `Interrupted at step ${r.step}; resume with \`musilingo train --resume ${r.id}\`.` : r.error,
        };
      });
    },

    async start(o) {
      const execute = opts.execute === undefined ? workerThreadExecutor() : opts.execute;
      if (!execute) throw new IpcError('unavailable', 'Training is not available in this build.');
      let started;
      try {
        started = await startTraining(ctx, {
          model: o.modelId || undefined,
          options: defaultTrainOptions(o.steps, { peakLr: o.learningRate, minLr: Math.min(1e-5, o.learningRate), warmupStartLr: Math.min(1e-6, o.learningRate) }),
          graph: { dtype: 'float32', weights: 'dense', executionProviders: ['cpu'], threads: 1 },
          heldOutFraction: 0.1,
          activate: o.activate,
        });
      } catch (e) {
        if (e instanceof ModelNotFoundError) throw new IpcError('model-unavailable', `${e.message} (Models page: download and convert one.)`);
        if (e instanceof TrainingRequestError) throw new IpcError('invalid-argument', `Training could not start: ${e.message}`);
        throw e;
      }
      launch(started.runId, execute);
      events.emit('training:changed', { runId: String(started.runId) });
      return { runId: String(started.runId) };
    },

    cancel(runId) {
      const run = running.get(runNumber(runId));
      if (!run) throw new IpcError('invalid-argument', `Training run ${runId} is not running.`);
      run.abort(); // the trainer writes a checkpoint and the run becomes 'cancelled'
    },

    loss: (runId) => toLossPoints(runNumber(runId)),

    adapters(): AdapterInfo[] {
      return listAdapters(db).map((a) => ({
        id: a.id,
        name: a.name,
        createdAt: a.createdAt,
        runId: a.runId === null ? null : String(a.runId),
        isActive: a.isActive,
        heldoutLoss: a.heldOutLoss,
      }));
    },

    activate(adapterId) {
      let runId: number | null;
      try {
        runId = getAdapter(db, adapterId).runId;
        activateAdapter(db, adapterId);
      } catch (e) {
        if (e instanceof TrainingNotFoundError) throw new IpcError('not-found', e.message);
        throw e;
      }
      // Captions now come from another adapter: the re-caption offer and the adapter list reload.
      events.emit('training:changed', { runId: runId === null ? '' : String(runId) });
    },

    staleCaptions(): StaleCaptions {
      return opts.recaption?.staleCaptions() ?? { count: 0, adapterId: '', adapterName: null, modelId: null };
    },

    recaptionStale() {
      if (!opts.recaption) throw new IpcError('unavailable', 'Captions are not available in this build.');
      return opts.recaption.recaptionStale();
    },

    close() {
      for (const run of running.values()) run.abort();
    },
  };
}
