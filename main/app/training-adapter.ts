/**
 * @file Wires adapter training (trainer/, main/db/training.ts) to the IPC contract (main process, E2E bridge):
 * runs, live loss points, adapters and the active one. A run is the bundled CLI's `train --from-tags` in its
 * own process (see [Note: Conversion runs in its own process]: the same reasons, and the CLI already records
 * runs, loss points and adapters in the database); main forwards new loss points as training:progress.
 */
import type Database from 'better-sqlite3';
import type { AdapterInfo, LossPoint, StaleCaptions, TrainingRun } from '../../preload/contract';
import { activateAdapter, getAdapter, listAdapters, listPoints, listRuns, TrainingNotFoundError } from '../db/training';
import { IpcError } from '../ipc/errors';
import { ModelNotFoundError, resolvePack, type ResolvedPack } from '../models/registry';
import type { EventHub } from './events';
import type { TrainingFacade } from './facades';
import type { CliRun, CliRunner } from './models-adapter';
import type { AppLog } from './services';

/** Options of {@link createTrainingFacade}. */
export interface TrainingFacadeOptions {
  readonly db: Database.Database;
  readonly events: EventHub;
  readonly log: AppLog;
  readonly runCli: CliRunner | null;
  /** The data folder (pack folders named by folder name are looked up under it). */
  readonly dataDir?: string;
  readonly pollMs?: number;
  /** How long start() waits for the trainer to record its run before giving up. */
  readonly startTimeoutMs?: number;
  /** The analysis side's re-caption hooks (null when this build has no inference worker). */
  readonly recaption?: { staleCaptions(): StaleCaptions; recaptionStale(): { queued: number } } | null;
}

function runNumber(runId: string): number {
  const n = Number(runId);
  if (!Number.isInteger(n) || n <= 0) throw new IpcError('invalid-argument', `"${runId}" is not a training run id.`);
  return n;
}

/** Creates the Training page facade. */
export function createTrainingFacade(opts: TrainingFacadeOptions): TrainingFacade & { close(): void } {
  const { db, events, log } = opts;
  const running = new Map<number, CliRun>();
  const pollMs = opts.pollMs ?? 500;

  function toLossPoints(runId: number): LossPoint[] {
    return listPoints(db, runId).map((p) => ({ step: p.step, loss: p.loss, split: p.kind === 'train' ? 'train' : 'heldout' }));
  }

  /** Forwards loss points recorded since the last look (the trainer process writes them). */
  function follow(runId: number, run: CliRun): void {
    let seen = 0;
    const forward = (): void => {
      const points = toLossPoints(runId);
      for (const p of points.slice(seen)) events.emit('training:progress', { runId: String(runId), ...p });
      seen = points.length;
    };
    const timer = setInterval(forward, pollMs);
    void run.exited.then(() => {
      clearInterval(timer);
      forward();
      running.delete(runId);
      events.emit('training:changed', { runId: String(runId) });
      const last = listRuns(db).find((r) => r.id === runId);
      if (last?.state === 'running') log('error', `Training run ${runId} ended without finishing; resume it with \`musilingo train --resume ${runId}\`.`);
    });
  }

  return {
    runs(): TrainingRun[] {
      return listRuns(db).map((r) => ({
        id: String(r.id),
        // A row still 'running' whose process is gone (app restart, crash) is shown as failed, with the way out.
        state: r.state === 'running' && !running.has(r.id) ? 'failed' : r.state,
        startedAt: r.createdAt,
        step: r.step,
        totalSteps: r.totalSteps,
        lastLoss: listPoints(db, r.id, 'train').at(-1)?.loss ?? null,
        adapterId: r.adapterId,
        error: r.state === 'running' && !running.has(r.id) ? `Interrupted at step ${r.step}; resume with \`musilingo train --resume ${r.id}\`.` : r.error,
      }));
    },

    async start(o) {
      if (!opts.runCli) throw new IpcError('unavailable', 'Training is not available in this build (the command-line tool is missing).');
      let pack: ResolvedPack;
      try {
        pack = resolvePack(db, opts.dataDir ?? '', o.modelId || undefined);
      } catch (e) {
        if (e instanceof ModelNotFoundError) throw new IpcError('model-unavailable', `${e.message} (Models page: download and convert one.)`);
        throw e;
      }
      const before = Math.max(0, ...listRuns(db).map((r) => r.id));
      const lines: string[] = [];
      const args = ['train', '--from-tags', '--model', pack.packId ?? pack.packDir, '--steps', String(o.steps), '--lr', String(o.learningRate), ...(o.activate ? ['--activate'] : [])];
      const run = opts.runCli(args, (line) => {
        lines.push(line);
        log('info', `[train] ${line}`);
      });
      let hasExited = false;
      void run.exited.then(() => (hasExited = true));
      const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
      for (;;) {
        const created = listRuns(db).find((r) => r.id > before);
        if (created) {
          running.set(created.id, run);
          follow(created.id, run);
          return { runId: String(created.id) };
        }
        if (hasExited || Date.now() > deadline) {
          run.kill();
          const why = lines.filter((l) => /error|cannot|no |not /i.test(l)).at(-1) ?? lines.at(-1) ?? 'the trainer stopped before it started a run';
          throw new IpcError('invalid-argument', `Training could not start: ${why}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },

    cancel(runId) {
      const run = running.get(runNumber(runId));
      if (!run) throw new IpcError('invalid-argument', `Training run ${runId} is not running.`);
      run.interrupt();
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
      for (const run of running.values()) run.interrupt();
    },
  };
}
