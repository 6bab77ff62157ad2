/**
 * @file Wires adapter training (trainer/, main/db/training.ts) to the IPC contract (main process, E2E bridge):
 * runs, live loss points, adapters and the active one. A run is the bundled CLI's `train --from-tags` in its
 * own process (see [Note: Conversion runs in its own process]: the same reasons, and the CLI already records
 * runs, loss points and adapters in the database); main forwards new loss points as training:progress.
 */
import type Database from 'better-sqlite3';
import type { AdapterInfo, LossPoint, TrainingRun } from '../../preload/contract';
import { listModelPacks } from '../db/models';
import { activateAdapter, getAdapter, listAdapters, listPoints, listRuns, TrainingNotFoundError } from '../db/training';
import { IpcError } from '../ipc/errors';
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
  readonly pollMs?: number;
  /** How long start() waits for the trainer to record its run before giving up. */
  readonly startTimeoutMs?: number;
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
      if (!opts.runCli) throw new IpcError('unavailable', 'Training is not available in this build (the command-line tool is missing).');
      const pack = listModelPacks(db)
        .filter((p) => p.state === 'ready' && p.path && (p.id === o.modelId || p.modelId === o.modelId))
        .sort((a, b) => b.updatedAt - a.updatedAt)[0];
      if (!pack?.path) throw new IpcError('model-unavailable', `"${o.modelId}" has no converted model pack: download and convert it on the Models page first.`);
      const before = Math.max(0, ...listRuns(db).map((r) => r.id));
      const lines: string[] = [];
      const args = ['train', '--from-tags', '--model', pack.path, '--steps', String(o.steps), '--lr', String(o.learningRate), ...(o.activate ? ['--activate'] : [])];
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
      try {
        getAdapter(db, adapterId);
        activateAdapter(db, adapterId);
      } catch (e) {
        if (e instanceof TrainingNotFoundError) throw new IpcError('not-found', e.message);
        throw e;
      }
    },

    close() {
      for (const run of running.values()) run.interrupt();
    },
  };
}
