/**
 * @file Repository for training: runs, loss points, adapter versions (0030_training.sql), and the library
 * rows the trainer's dataset is built from (tracks, windows, captions). Main process and CLI.
 */
import type Database from 'better-sqlite3';
import type { LibraryTrack } from '../../trainer/data/dataset';
import { readLibraryForTraining } from '../../trainer/data/library-source';

/** Run states. */
export type RunState = 'running' | 'done' | 'failed' | 'cancelled';

/** A training run row. */
export interface TrainingRun {
  readonly id: number;
  readonly modelId: string;
  readonly modelPath: string;
  readonly encoderModelId: string;
  readonly parentAdapterId: string | null;
  readonly state: RunState;
  readonly config: string;
  readonly dataReport: string | null;
  readonly step: number;
  readonly totalSteps: number;
  readonly checkpointPath: string | null;
  readonly adapterId: string | null;
  readonly initialHeldOutLoss: number | null;
  readonly heldOutLoss: number | null;
  readonly error: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** One loss point. */
export interface TrainingPoint {
  readonly kind: 'train' | 'held_out';
  readonly step: number;
  readonly loss: number;
  readonly lr: number | null;
  readonly gradNorm: number | null;
  readonly tokens: number | null;
}

/** An adapter version. */
export interface AdapterRow {
  readonly id: string;
  readonly modelId: string;
  readonly name: string;
  readonly parentId: string | null;
  readonly runId: number | null;
  readonly path: string;
  readonly sha256: string;
  readonly inDim: number;
  readonly outDim: number;
  readonly heldOutLoss: number | null;
  readonly isActive: boolean;
  readonly createdAt: number;
}

/** An id that names no run or adapter; the message says which. */
export class TrainingNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingNotFoundError';
  }
}

type Row = Record<string, unknown>;

function toRun(r: Row): TrainingRun {
  return {
    id: r['id'] as number,
    modelId: r['model_id'] as string,
    modelPath: r['model_path'] as string,
    encoderModelId: r['encoder_model_id'] as string,
    parentAdapterId: (r['parent_adapter_id'] as string | null) ?? null,
    state: r['state'] as RunState,
    config: r['config'] as string,
    dataReport: (r['data_report'] as string | null) ?? null,
    step: r['step'] as number,
    totalSteps: r['total_steps'] as number,
    checkpointPath: (r['checkpoint_path'] as string | null) ?? null,
    adapterId: (r['adapter_id'] as string | null) ?? null,
    initialHeldOutLoss: (r['initial_held_out_loss'] as number | null) ?? null,
    heldOutLoss: (r['held_out_loss'] as number | null) ?? null,
    error: (r['error'] as string | null) ?? null,
    createdAt: r['created_at'] as number,
    updatedAt: r['updated_at'] as number,
  };
}

function toAdapter(r: Row): AdapterRow {
  return {
    id: r['id'] as string,
    modelId: r['model_id'] as string,
    name: r['name'] as string,
    parentId: (r['parent_id'] as string | null) ?? null,
    runId: (r['run_id'] as number | null) ?? null,
    path: r['path'] as string,
    sha256: r['sha256'] as string,
    inDim: r['in_dim'] as number,
    outDim: r['out_dim'] as number,
    heldOutLoss: (r['held_out_loss'] as number | null) ?? null,
    isActive: r['is_active'] === 1,
    createdAt: r['created_at'] as number,
  };
}

/** Fields of a new run. */
export interface NewRun {
  readonly modelId: string;
  readonly modelPath: string;
  readonly encoderModelId: string;
  readonly parentAdapterId: string | null;
  readonly config: string;
  readonly dataReport: string | null;
  readonly totalSteps: number;
  readonly checkpointPath: string | null;
}

/** Inserts a run in state 'running'; returns its id. */
export function createRun(db: Database.Database, r: NewRun, now = Date.now()): number {
  const info = db
    .prepare(
      `INSERT INTO training_runs (model_id, model_path, encoder_model_id, parent_adapter_id, state, config, data_report,
         total_steps, checkpoint_path, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)`,
    )
    .run(r.modelId, r.modelPath, r.encoderModelId, r.parentAdapterId, r.config, r.dataReport, r.totalSteps, r.checkpointPath, now, now);
  return Number(info.lastInsertRowid);
}

/** A run by id, or throws {@link TrainingNotFoundError}. */
export function getRun(db: Database.Database, id: number): TrainingRun {
  const r = db.prepare('SELECT * FROM training_runs WHERE id = ?').get(id) as Row | undefined;
  if (!r) throw new TrainingNotFoundError(`No training run ${id}. See \`musilingo train --list\`.`);
  return toRun(r);
}

/** All runs, newest first. */
export function listRuns(db: Database.Database): TrainingRun[] {
  return (db.prepare('SELECT * FROM training_runs ORDER BY id DESC').all() as Row[]).map(toRun);
}

/** Updates a run's mutable fields. */
export function updateRun(
  db: Database.Database,
  id: number,
  patch: Partial<Pick<TrainingRun, 'state' | 'step' | 'checkpointPath' | 'adapterId' | 'initialHeldOutLoss' | 'heldOutLoss' | 'error' | 'dataReport' | 'config'>>,
  now = Date.now(),
): void {
  const cols: Record<string, string> = {
    state: 'state', step: 'step', checkpointPath: 'checkpoint_path', adapterId: 'adapter_id',
    initialHeldOutLoss: 'initial_held_out_loss', heldOutLoss: 'held_out_loss', error: 'error', dataReport: 'data_report', config: 'config',
  };
  const keys = Object.keys(patch).filter((k) => k in cols);
  if (keys.length === 0) return;
  const sets = keys.map((k) => `${cols[k]} = @${k}`).join(', ');
  db.prepare(`UPDATE training_runs SET ${sets}, updated_at = @now WHERE id = @id`).run({ ...patch, id, now });
}

/** Stores (or, after a resume, replaces) a loss point. */
export function addPoint(db: Database.Database, runId: number, p: TrainingPoint, now = Date.now()): void {
  db.prepare(
    `INSERT INTO training_points (run_id, kind, step, loss, lr, grad_norm, tokens, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (run_id, kind, step) DO UPDATE SET loss = excluded.loss, lr = excluded.lr,
       grad_norm = excluded.grad_norm, tokens = excluded.tokens, created_at = excluded.created_at`,
  ).run(runId, p.kind, p.step, p.loss, p.lr, p.gradNorm, p.tokens, now);
}

/** The loss curve of a run, in step order. */
export function listPoints(db: Database.Database, runId: number, kind?: 'train' | 'held_out'): TrainingPoint[] {
  const rows = (kind === undefined
    ? db.prepare('SELECT * FROM training_points WHERE run_id = ? ORDER BY kind DESC, step').all(runId)
    : db.prepare('SELECT * FROM training_points WHERE run_id = ? AND kind = ? ORDER BY step').all(runId, kind)) as Row[];
  return rows.map((r) => ({
    kind: r['kind'] as 'train' | 'held_out',
    step: r['step'] as number,
    loss: r['loss'] as number,
    lr: (r['lr'] as number | null) ?? null,
    gradNorm: (r['grad_norm'] as number | null) ?? null,
    tokens: (r['tokens'] as number | null) ?? null,
  }));
}

/** Fields of a new adapter version. */
export type NewAdapter = Omit<AdapterRow, 'isActive' | 'createdAt'> & { readonly createdAt?: number };

/** Records an adapter version (inactive). */
export function insertAdapter(db: Database.Database, a: NewAdapter): void {
  db.prepare(
    `INSERT INTO adapters (id, model_id, name, parent_id, run_id, path, sha256, in_dim, out_dim, held_out_loss, is_active, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
  ).run(a.id, a.modelId, a.name, a.parentId, a.runId, a.path, a.sha256, a.inDim, a.outDim, a.heldOutLoss, a.createdAt ?? Date.now());
}

/** Adapter versions, newest first; only those of `modelId` when given. */
export function listAdapters(db: Database.Database, modelId?: string): AdapterRow[] {
  const rows = (modelId === undefined
    ? db.prepare('SELECT * FROM adapters ORDER BY created_at DESC, id DESC').all()
    : db.prepare('SELECT * FROM adapters WHERE model_id = ? ORDER BY created_at DESC, id DESC').all(modelId)) as Row[];
  return rows.map(toAdapter);
}

/** An adapter by id (a unique prefix is enough), or throws {@link TrainingNotFoundError}. */
export function getAdapter(db: Database.Database, idOrPrefix: string): AdapterRow {
  const exact = db.prepare('SELECT * FROM adapters WHERE id = ?').get(idOrPrefix) as Row | undefined;
  if (exact) return toAdapter(exact);
  const hits = db.prepare("SELECT * FROM adapters WHERE id LIKE ? ESCAPE '\\' LIMIT 3").all(`${idOrPrefix.replace(/[\\%_]/g, '\\$&')}%`) as Row[];
  if (hits.length === 1) return toAdapter(hits[0]!);
  throw new TrainingNotFoundError(
    hits.length === 0 ? `No adapter "${idOrPrefix}". See \`musilingo adapters list\`.` : `Adapter id "${idOrPrefix}" is ambiguous; give more characters.`,
  );
}

/**
 * Makes `id` the active adapter of its model (or, with `id` null, goes back to the model's own adapter for
 * `modelId`). One transaction: at no moment are two adapters active.
 */
export function activateAdapter(db: Database.Database, id: string | null, modelId?: string): AdapterRow | null {
  return db.transaction(() => {
    const a = id === null ? null : getAdapter(db, id);
    const model = a?.modelId ?? modelId;
    if (model === undefined) throw new TrainingNotFoundError('Say which model goes back to its own adapter');
    db.prepare('UPDATE adapters SET is_active = 0 WHERE model_id = ? AND is_active = 1').run(model);
    if (a) db.prepare('UPDATE adapters SET is_active = 1 WHERE id = ?').run(a.id);
    return a ? { ...a, isActive: true } : null;
  })();
}

/** The active adapter of a model, or null when it uses its own. The inference side loads `path`. */
export function activeAdapter(db: Database.Database, modelId: string): AdapterRow | null {
  const r = db.prepare('SELECT * FROM adapters WHERE model_id = ? AND is_active = 1').get(modelId) as Row | undefined;
  return r ? toAdapter(r) : null;
}

/** Encoder ids that have cached windows, most windows first (to pick a default). */
export function encoderModelIds(db: Database.Database): { modelId: string; windows: number; dim: number }[] {
  return (db.prepare('SELECT model_id, count(*) AS n, max(dim) AS dim FROM windows GROUP BY model_id ORDER BY n DESC').all() as Row[]).map((r) => ({
    modelId: r['model_id'] as string,
    windows: r['n'] as number,
    dim: r['dim'] as number,
  }));
}

/**
 * Every track with its tags, cached windows of `encoderModelId` and user captions: the trainer's raw data
 * (vanished tracks included; the dataset reports them). See [Note: Training reads the library itself].
 */
export function libraryForTraining(db: Database.Database, encoderModelId: string): LibraryTrack[] {
  return readLibraryForTraining(db, encoderModelId);
}

/** A trainer progress event as the loop emits it (trainer/run/train-loop.ts TrainProgress, structurally). */
export type ProgressEvent =
  | { readonly kind: 'step'; readonly step: number; readonly loss: number; readonly lr: number; readonly gradNorm: number; readonly tokens: number }
  | { readonly kind: 'eval'; readonly step: number; readonly heldOutLoss: number }
  | { readonly kind: 'checkpoint'; readonly step: number; readonly path: string };

/**
 * Stores one progress event of run `runId`: a loss point per step and evaluation (the step-0 evaluation is the
 * starting adapter's held-out loss), the step and path of each checkpoint. Main calls it for every
 * 'trainer:progress' message of the trainer process; the CLI for every event.
 */
export function recordProgress(db: Database.Database, runId: number, p: ProgressEvent, now = Date.now()): void {
  if (p.kind === 'step') {
    addPoint(db, runId, { kind: 'train', step: p.step, loss: p.loss, lr: p.lr, gradNorm: p.gradNorm, tokens: p.tokens }, now);
  } else if (p.kind === 'eval') {
    db.transaction(() => {
      addPoint(db, runId, { kind: 'held_out', step: p.step, loss: p.heldOutLoss, lr: null, gradNorm: null, tokens: null }, now);
      updateRun(db, runId, p.step === 0 ? { initialHeldOutLoss: p.heldOutLoss, heldOutLoss: p.heldOutLoss } : { heldOutLoss: p.heldOutLoss }, now);
    })();
  } else {
    updateRun(db, runId, { step: p.step, checkpointPath: p.path }, now);
  }
}

/**
 * Records the adapter a finished run produced (the file is already written) and marks the run done, in one
 * transaction; activates it when asked. Returns the adapter row.
 */
export function finishRun(
  db: Database.Database,
  runId: number,
  a: Omit<NewAdapter, 'runId' | 'parentId' | 'modelId'>,
  opts: { step: number; activate?: boolean },
): AdapterRow {
  return db.transaction(() => {
    const run = getRun(db, runId);
    insertAdapter(db, { ...a, runId, parentId: run.parentAdapterId, modelId: run.modelId });
    updateRun(db, runId, { state: 'done', step: opts.step, adapterId: a.id, heldOutLoss: a.heldOutLoss });
    if (opts.activate) activateAdapter(db, a.id);
    return getAdapter(db, a.id);
  })();
}
