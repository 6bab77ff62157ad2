/**
 * @file Worker faults of the training service: the trainer thread killed mid-run → the service reports it (the
 * run is marked failed with the reason, the lock is released), and running the same run again resumes from its
 * checkpoint to the adapter an uninterrupted run makes, in the same run row (no duplicate). A second process
 * cannot take a run whose lock a live process holds. In the app, the run's supervisor reports a crashed thread
 * and restarts it. Uses the bundled thread (out/cli/train.thread.mjs).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventHub } from '../../../main/app/events';
import { createTrainingFacade } from '../../../main/app/training-adapter';
import { openDatabase } from '../../../main/db/open';
import { getRun, listRuns } from '../../../main/db/training';
import { runTraining, startTraining, TrainingRequestError, type TrainExecutor, type TrainingContext, type TrainingEvent } from '../../../main/training/service';
import { TrainerExitedError, workerThreadExecutor } from '../../../main/training/worker-thread';
import { mulberry32 } from '../../../model/random';
import { writeSafetensors } from '../../../model/safetensors';
import { readAdapterFile } from '../../../trainer/run/checkpoint';
import { defaultTrainOptions } from '../../../trainer/run/train-loop';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const ENTRY = new URL(`file://${join(ROOT, 'out', 'cli', 'train.thread.mjs')}`);
const IN_DIM = 8;

let tmp: string;
let db: Database.Database;
let ctx: TrainingContext;
let modelDir: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'ml-train-svc-'));
  modelDir = join(tmp, 'model');
  mkdirSync(modelDir);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(ROOT, 'test', 'fixtures', 'tiny-llama', f), join(modelDir, f));
  const r = mulberry32(7);
  await writeSafetensors(join(modelDir, 'adapter.safetensors'), {
    'llama_proj.weight': { data: Float32Array.from({ length: 64 * IN_DIM }, () => (r() - 0.5) * 0.2), shape: [64, IN_DIM] },
    'llama_proj.bias': { data: new Float32Array(64), shape: [64] },
  });
  const dbPath = join(tmp, 'lib.sqlite');
  db = openDatabase(dbPath);
  ctx = { db, dbPath, dataDir: join(tmp, 'data') };
  const now = Date.now();
  for (let i = 0; i < 6; i++) {
    const path = join(tmp, `t${i}.flac`);
    writeFileSync(path, 'x');
    const id = Number(db.prepare('INSERT INTO tracks (path, size_bytes, mtime_ms, fingerprint, genre, mood, added_at, updated_at) VALUES (?, 1, 0, ?, ?, ?, ?, ?)')
      .run(path, `fp-${i}`, i % 2 ? 'jazz' : 'rock', 'calm', now, now).lastInsertRowid);
    const emb = Float32Array.from({ length: 2 * IN_DIM }, () => r() - 0.5);
    db.prepare('INSERT INTO windows (track_id, model_id, start_ms, length_ms, rows, dim, embedding, created_at) VALUES (?, ?, 0, 30000, 2, ?, ?, ?)')
      .run(id, 'tiny-mert', IN_DIM, Buffer.from(emb.buffer), now);
  }
});
afterAll(() => {
  db?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const request = {
  model: undefined as string | undefined,
  options: defaultTrainOptions(8, { peakLr: 1e-3, minLr: 1e-4, warmupStartLr: 1e-6, accumulation: 2, batchSize: 1, weightDecay: 0.05, maxGradNorm: 1, checkpointEvery: 2, evalEvery: 100, seed: 3 }),
  graph: { dtype: 'float32' as const, weights: 'dense' as const, executionProviders: ['cpu'], threads: 1 },
  heldOutFraction: 0,
  activate: false,
};

describe.skipIf(!existsSync(ENTRY))('training service in a worker thread', () => {
  it('reports a killed trainer thread, keeps one run row and no lock, and resumes to the uninterrupted adapter', async () => {
    // Uninterrupted reference run.
    const ref = await startTraining(ctx, { ...request, model: modelDir });
    const refEvents: TrainingEvent[] = [];
    expect(await runTraining(ctx, ref.runId, { execute: workerThreadExecutor(ENTRY), onEvent: (e) => refEvents.push(e) })).toBe('done');
    const refDone = refEvents.find((e) => e.event === 'done') as Extract<TrainingEvent, { event: 'done' }>;
    expect(refEvents.filter((e) => e.event === 'step').map((e) => (e as { step: number }).step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

    // The same run, its thread killed after the step-4 checkpoint.
    const run = await startTraining(ctx, { ...request, model: modelDir });
    const rowsBefore = listRuns(db).length;
    const err = await runTraining(ctx, run.runId, {
      execute: workerThreadExecutor(ENTRY, (w) => w.postMessage({ type: 'crash-at', kind: 'checkpoint', step: 4 })),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainerExitedError);
    expect(getRun(db, run.runId)).toMatchObject({ state: 'failed' });
    expect(getRun(db, run.runId).error).toMatch(/trainer worker exited unexpectedly/);
    expect(existsSync(join(ctx.dataDir, 'training', `run-${run.runId}`, 'run.lock'))).toBe(false);
    expect(existsSync(join(ctx.dataDir, 'training', `run-${run.runId}`, 'checkpoint.safetensors'))).toBe(true);

    const resumed: TrainingEvent[] = [];
    expect(await runTraining(ctx, run.runId, { execute: workerThreadExecutor(ENTRY), onEvent: (e) => resumed.push(e) })).toBe('done');
    const steps = resumed.filter((e) => e.event === 'step').map((e) => (e as { step: number }).step);
    expect(steps[0]).toBeGreaterThan(1); // resumed from the checkpoint, not from scratch
    expect(steps.at(-1)).toBe(8);
    expect(listRuns(db).length).toBe(rowsBefore); // no duplicated run row
    const done = resumed.find((e) => e.event === 'done') as Extract<TrainingEvent, { event: 'done' }>;
    const [a, b] = [await readAdapterFile(refDone.adapterPath), await readAdapterFile(done.adapterPath)];
    expect(Array.from(b.adapter.weight)).toEqual(Array.from(a.adapter.weight));
    await expect(runTraining(ctx, run.runId, { execute: workerThreadExecutor(ENTRY) })).rejects.toBeInstanceOf(TrainingRequestError); // done is done
  });

  it('the app supervises a run: a crashed trainer thread is reported and restarted, and the run finishes in its row', async () => {
    const events = createEventHub();
    const seen: { channel: string; payload: unknown }[] = [];
    events.subscribe((channel, payload) => seen.push({ channel, payload }));
    let attempt = 0;
    const execute: TrainExecutor = (job, emit, signal) =>
      workerThreadExecutor(ENTRY, (w) => {
        if (attempt++ === 0) w.postMessage({ type: 'crash-at', kind: 'step', step: 3 });
      })(job, emit, signal);
    const facade = createTrainingFacade({ db, dbPath: ctx.dbPath, events, log: () => {}, dataDir: ctx.dataDir, execute, restartDelayMs: 10 });
    const rowsBefore = listRuns(db).length;
    const { runId } = await facade.start({ modelId: modelDir, steps: 6, learningRate: 1e-3, activate: false });
    await expect.poll(async () => (await facade.runs()).find((r) => r.id === runId)?.state, { timeout: 60_000 }).toBe('done');
    expect(attempt).toBe(2);
    expect(listRuns(db).length).toBe(rowsBefore + 1); // one row for the run, whatever happened to its thread
    const statuses = seen.filter((e) => e.channel === 'workers:changed').map((e) => e.payload as { name: string; state: string; lastError: string | null });
    expect(statuses.every((st) => st.name === 'trainer')).toBe(true);
    expect(statuses.find((st) => st.state === 'restarting')?.lastError).toMatch(/trainer worker exited unexpectedly/);
    expect(statuses.at(-1)?.state).toBe('stopped');
    const progress = seen.filter((e) => e.channel === 'training:progress').map((e) => (e.payload as { step: number }).step);
    expect(progress.at(-1)).toBe(6);
    expect(seen.some((e) => e.channel === 'training:changed' && (e.payload as { runId: string }).runId === runId)).toBe(true);
    expect(existsSync(join(ctx.dataDir, 'training', `run-${runId}`, 'run.lock'))).toBe(false);
  });

  it('refuses a run whose lock a live process holds, naming it', async () => {
    const run = await startTraining(ctx, { ...request, model: modelDir });
    const dir = join(ctx.dataDir, 'training', `run-${run.runId}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'run.lock'), String(process.ppid));
    await expect(runTraining(ctx, run.runId, { execute: workerThreadExecutor(ENTRY) })).rejects.toThrow(`being trained by process ${process.ppid}`);
    rmSync(join(dir, 'run.lock'));
  });
});
