/**
 * @file The training service: starts, runs and resumes adapter training runs, for the CLI (`musilingo train`)
 * and the app (Training page) alike. It resolves the model through the registry, creates the run row, claims
 * the run with a lock file, hands the plain-data job (trainer/job.ts) to an executor (a worker thread: see
 * ./worker-thread.ts; in-process in tests), and turns the job's events into database writes (one transaction
 * each; main or the CLI is the only writer) and typed {@link TrainingEvent}s for whoever shows progress. No
 * stdout is parsed and no table is polled: progress arrives as events.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { loadAdapter } from '../../model/adapter';
import { readLlamaConfig, type LlamaConfig } from '../../model/llama/config';
import { openCheckpoint } from '../../model/safetensors';
import type { AdapterWeights } from '../../trainer/adapter';
import type { DataReport } from '../../trainer/data/dataset';
import { isPackDir } from '../../trainer/graph/pack-source';
import type { TrainJob, TrainJobEvent } from '../../trainer/job';
import { readAdapterFile } from '../../trainer/run/checkpoint';
import type { TrainOptions } from '../../trainer/run/train-loop';
import type { GraphSettings } from '../../trainer/session';
import {
  activeAdapter,
  createRun,
  encoderModelIds,
  finishRun,
  getAdapter,
  getRun,
  recordProgress,
  updateRun,
  type TrainingRun,
} from '../db/training';
import { checkpointFiles, expandSources, inferLlamaConfig } from '../models/checkpoint-files';
import { readPackManifest } from '../models/pack';
import { ModelNotFoundError, resolvePack, type ResolvedPack } from '../models/registry';

/** A training request that cannot be carried out as asked (bad --model, nothing analysed); the message says why. */
export class TrainingRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingRequestError';
  }
}

/** What every service call needs. */
export interface TrainingContext {
  readonly db: Database.Database;
  /** The library database file (the job opens it read-only). */
  readonly dbPath: string;
  readonly dataDir: string;
}

/** Runs one job somewhere (a worker thread, a utility process, in-process) and forwards its events. */
export type TrainExecutor = (job: TrainJob, emit: (e: TrainJobEvent) => void, signal?: AbortSignal) => Promise<'done' | 'cancelled'>;

/** Typed progress of a run, in order: started, tokenizer, data, step/eval/checkpoint…, then done or cancelled. */
export type TrainingEvent =
  | { readonly event: 'started'; readonly runId: number; readonly modelId: string; readonly encoder: string; readonly steps: number; readonly decoderFrom: 'pack' | 'checkpoint'; readonly decoderPath: string }
  | { readonly event: 'log'; readonly runId: number; readonly line: string }
  | { readonly event: 'tokenizer'; readonly runId: number; readonly source: string }
  | { readonly event: 'data'; readonly runId: number; readonly report: DataReport }
  | { readonly event: 'step'; readonly runId: number; readonly step: number; readonly totalSteps: number; readonly loss: number; readonly lr: number; readonly gradNorm: number; readonly tokens: number; readonly elapsedMs: number }
  | { readonly event: 'eval'; readonly runId: number; readonly step: number; readonly heldOutLoss: number; readonly examples: number }
  | { readonly event: 'checkpoint'; readonly runId: number; readonly step: number; readonly path: string }
  | { readonly event: 'cancelled'; readonly runId: number; readonly step: number }
  | { readonly event: 'done'; readonly runId: number; readonly adapterId: string; readonly adapterPath: string; readonly heldOutLoss: number | null; readonly initialHeldOutLoss: number | null; readonly activated: boolean };

/** What a new run is asked to do (the CLI's options, the Training page's form). */
export interface TrainingRequest {
  /** A model reference for the registry (none = this machine's pack), or a checkpoint folder. */
  readonly model?: string | undefined;
  /** The adapter to start from (id, name or file); default the model's active adapter, else its own. */
  readonly adapter?: string | undefined;
  /** windows.model_id of the cached embeddings; default the one matching the adapter's input width. */
  readonly encoder?: string | undefined;
  readonly options: TrainOptions;
  readonly graph: GraphSettings;
  readonly heldOutFraction: number;
  readonly activate: boolean;
}

/** A run's settings, stored with the run (JSON) so that a resume uses the same. */
export interface StoredConfig {
  readonly options: TrainOptions;
  readonly graph: GraphSettings;
  readonly heldOutFraction: number;
  readonly initialAdapterPath: string;
  readonly activate: boolean;
  /** Folder with tokenizer.model / tokenizer.json, or null for the built-in LLaMA-1 vocabulary. */
  readonly tokenizerDir: string | null;
  /** The decoder's config as resolved when the run started (a pack's recorded config needs no config.json). */
  readonly dims?: LlamaConfig;
}

/** What a --model argument resolves to. */
interface ResolvedModel {
  readonly modelId: string;
  /** Folder the checkpoint was named by (stored with the run). */
  readonly checkpointDir: string;
  /** Its safetensors shard files. */
  readonly files: readonly string[];
  readonly dims: LlamaConfig;
  /** The model's own adapter file, when known. */
  readonly ownAdapterPath: string | undefined;
  /** Where a tokenizer may be, in order of preference. */
  readonly tokenizerDirs: readonly string[];
}

/**
 * What `--model` names: a pack through the model registry (no flag: this machine's default pack; `demo`,
 * `demo@float32`, a pack folder), whose frozen decoder is read from the checkpoint it was converted from; or,
 * when the registry knows no such pack, a checkpoint folder (config.json + safetensors) trained directly.
 */
export async function resolveTrainingModel(db: Database.Database, arg: string | undefined, dataDir: string): Promise<ResolvedModel> {
  let pack: ResolvedPack | undefined;
  try {
    pack = resolvePack(db, dataDir, arg);
  } catch (e) {
    const isFolder = arg !== undefined && existsSync(resolve(arg)) && !existsSync(join(resolve(arg), 'manifest.json'));
    if (!(e instanceof ModelNotFoundError) || !isFolder) throw e;
  }
  if (pack) {
    const m = await readPackManifest(pack.packDir);
    // The row's source (a download, or a folder listing imported folders) first; then what the manifest names.
    let src: string | undefined;
    for (const p of [pack.sourcePath, m.source.path]) {
      if (typeof p === 'string' && p !== '' && existsSync(p) && (await hasCheckpointFiles(p))) {
        src = p;
        break;
      }
    }
    const tok = m.tokenizer ? [dirname(join(pack.packDir, m.tokenizer.model))] : [];
    // The pack records the decoder config the converter used (from config.json or, failing that, shapes);
    // the source folder need not hold a config.json of its own.
    const { from: _from, ...packConfig } = m.decoder.config as unknown as LlamaConfig & { from?: string };
    const ownAdapterPath = join(pack.packDir, m.adapter.file);
    // The checkpoint it was converted from when it is still there (exact weights); else the pack's own decoder
    // graph (see [Note: Decoder weights from a pack]). The run's model_path records which one was used.
    if (!src) return { modelId: m.modelId, checkpointDir: pack.packDir, files: [pack.packDir], dims: packConfig, ownAdapterPath, tokenizerDirs: tok };
    return { modelId: m.modelId, ...(await decoderOf(src, packConfig)), ownAdapterPath, tokenizerDirs: [...tok, src] };
  }
  const dir = resolve(arg as string);
  if (!existsSync(join(dir, 'config.json')) && !existsSync(join(dir, 'musilingo-sources.json')) && !readdirSync(dir).some((f) => f.endsWith('.safetensors'))) {
    throw new TrainingRequestError(`${dir} is neither a model pack (manifest.json) nor a checkpoint folder (config.json, safetensors)`);
  }
  const own = ['adapter.safetensors', 'llama_proj.safetensors'].map((f) => join(dir, f)).find((f) => existsSync(f));
  return { modelId: `checkpoint:${dir}`, ...(await decoderOf(dir)), ownAdapterPath: own, tokenizerDirs: [dir] };
}

/**
 * The decoder of a checkpoint folder (or a folder listing several with musilingo-sources.json): its shard files
 * and config: `known` (a pack's recorded config), else config.json (top level or nested, as the converter finds
 * it), else tensor shapes.
 */
async function decoderOf(dir: string, known?: LlamaConfig): Promise<{ checkpointDir: string; files: string[]; dims: LlamaConfig }> {
  if (isPackDir(dir)) {
    if (!known) throw new Error(`Run of pack ${dir} has no recorded decoder config; start a new run.`);
    return { checkpointDir: dir, files: [dir], dims: known };
  }
  const files = await checkpointFiles(dir);
  const dirs = await expandSources(dir);
  const ck = await openCheckpoint(files.filter((f) => !/(^|\/)(adapter|llama_proj)\.safetensors$/.test(f)));
  try {
    if (known && Number.isInteger(known.numHeads) && Number.isInteger(known.hiddenSize)) return { checkpointDir: dir, files: ck.files.slice(), dims: known };
    for (const d of dirs) {
      try {
        return { checkpointDir: dir, files: ck.files.slice(), dims: await readLlamaConfig(join(d, 'config.json')) };
      } catch {
        // not a plain Llama config: look further
      }
    }
    return { checkpointDir: dir, files: ck.files.slice(), dims: inferLlamaConfig(ck) };
  } finally {
    await ck.close();
  }
}

async function loadStartAdapter(db: Database.Database, arg: string | undefined, model: ResolvedModel): Promise<{ adapter: AdapterWeights; path: string; parentId: string | null }> {
  if (arg !== undefined) {
    if (existsSync(arg)) return { adapter: (await readAdapterFile(arg)).adapter, path: resolve(arg), parentId: null };
    const row = getAdapter(db, arg);
    return { adapter: (await readAdapterFile(row.path)).adapter, path: row.path, parentId: row.id };
  }
  const active = activeAdapter(db, model.modelId);
  if (active) return { adapter: (await readAdapterFile(active.path)).adapter, path: active.path, parentId: active.id };
  if (model.ownAdapterPath) return { adapter: (await readAdapterFile(model.ownAdapterPath)).adapter, path: model.ownAdapterPath, parentId: null };
  // A full MusiLingo checkpoint holds llama_proj beside the decoder.
  const ck = await openCheckpoint(model.files);
  try {
    if (ck.findBySuffix('llama_proj.weight') === undefined) {
      throw new Error(`No adapter found for ${model.checkpointDir}: it has no llama_proj weights. Pass --adapter <file>.`);
    }
    const a = await loadAdapter(ck);
    const file = ck.info(ck.requireBySuffix('llama_proj.weight')).file;
    return { adapter: { ...a, weight: a.weight.slice(), bias: a.bias.slice() }, path: file, parentId: null };
  } finally {
    await ck.close();
  }
}

/**
 * True when `dir` still holds the weights it was converted from: a deleted download leaves nothing, and an
 * imported model's sources file may list folders that are gone.
 */
async function hasCheckpointFiles(dir: string): Promise<boolean> {
  if (isPackDir(dir)) return false;
  try {
    return (await checkpointFiles(dir)).length > 0;
  } catch {
    return false;
  }
}

/** The first folder that holds a tokenizer, else null (the built-in LLaMA-1 vocabulary). */
function findTokenizerDir(dirs: readonly string[]): string | null {
  return dirs.find((d) => existsSync(join(d, 'tokenizer.model')) || existsSync(join(d, 'tokenizer.json'))) ?? null;
}


function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * Claims a run for this process: a lock file holding our pid. A lock left by a process that no longer exists
 * (kill -9, crash) is taken over; a live one means the run is being trained elsewhere.
 */
function takeRunLock(path: string, runId: number): () => void {
  try {
    const pid = Number(readFileSync(path, 'utf8'));
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
      if (alive) throw new Error(`Run ${runId} is being trained by process ${pid}; stop it first (or wait for it to finish)`);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  writeFileSync(path, String(process.pid));
  return () => rmSync(path, { force: true });
}

/**
 * Creates a run for `req` (model through the registry, start adapter, encoder windows) and returns it with the
 * `started` event; run it with {@link runTraining}. Creating the row here, before any work, is what lets the
 * caller know the run id at once (no "first run with a higher id" guess).
 */
export async function startTraining(ctx: TrainingContext, req: TrainingRequest): Promise<Extract<TrainingEvent, { event: 'started' }>> {
  const { db } = ctx;
  const model = await resolveTrainingModel(db, req.model, ctx.dataDir);
  const start = await loadStartAdapter(db, req.adapter, model);
  const encoders = encoderModelIds(db);
  const encoder = req.encoder ?? encoders.find((e) => e.dim === start.adapter.inDim)?.modelId;
  if (encoder === undefined) {
    throw new TrainingRequestError(`No analysed tracks: the library has no cached windows of width ${start.adapter.inDim}. Run \`musilingo caption\` (or the embed job) first.`);
  }
  const config: StoredConfig = {
    options: req.options, graph: req.graph, heldOutFraction: req.heldOutFraction, initialAdapterPath: start.path, activate: req.activate,
    tokenizerDir: findTokenizerDir(model.tokenizerDirs), dims: model.dims,
  };
  const runId = db.transaction(() => {
    const id = createRun(db, {
      modelId: model.modelId, modelPath: model.checkpointDir, encoderModelId: encoder, parentAdapterId: start.parentId,
      config: JSON.stringify(config), dataReport: null, totalSteps: req.options.steps, checkpointPath: null,
    });
    updateRun(db, id, { checkpointPath: join(ctx.dataDir, 'training', `run-${id}`, 'checkpoint.safetensors') });
    return id;
  })();
  return { event: 'started', runId, modelId: model.modelId, encoder, steps: req.options.steps, decoderFrom: isPackDir(model.checkpointDir) ? 'pack' : 'checkpoint', decoderPath: model.checkpointDir };
}

/**
 * Runs (or resumes) run `runId` with `execute`, under the run's lock; resolves 'done', 'cancelled' (abort
 * `signal`; the checkpoint is kept) or rejects after marking the run failed. A second process asking for a run
 * that is being trained gets an error naming that process; a lock left by a dead one is taken over.
 */
export async function runTraining(
  ctx: TrainingContext,
  runId: number,
  opts: { execute: TrainExecutor; onEvent?: (e: TrainingEvent) => void; signal?: AbortSignal },
): Promise<'done' | 'cancelled'> {
  const run = getRun(ctx.db, runId);
  if (run.state === 'done') throw new TrainingRequestError(`Run ${runId} is already done (adapter ${run.adapterId ?? '?'})`);
  const cfg = JSON.parse(run.config) as StoredConfig;
  const checkpointPath = run.checkpointPath ?? join(ctx.dataDir, 'training', `run-${run.id}`, 'checkpoint.safetensors');
  await mkdir(join(checkpointPath, '..'), { recursive: true });
  const releaseLock = takeRunLock(join(checkpointPath, '..', 'run.lock'), run.id);
  try {
    return await trainLocked(ctx, run, cfg, checkpointPath, opts);
  } finally {
    releaseLock();
  }
}

async function trainLocked(
  ctx: TrainingContext,
  run: TrainingRun,
  cfg: StoredConfig,
  checkpointPath: string,
  opts: { execute: TrainExecutor; onEvent?: (e: TrainingEvent) => void; signal?: AbortSignal },
): Promise<'done' | 'cancelled'> {
  const { db } = ctx;
  const emit = (e: TrainingEvent): void => opts.onEvent?.(e);
  const model = await decoderOf(run.modelPath, cfg.dims);
  const now = Date.now();
  const adapterId = `adp-${stamp(now)}-r${run.id}`;
  const adapterPath = join(ctx.dataDir, 'adapters', `${adapterId}.safetensors`);
  await mkdir(join(ctx.dataDir, 'adapters'), { recursive: true });
  updateRun(db, run.id, { state: 'running', error: null, checkpointPath });
  const job: TrainJob = {
    runId: run.id,
    dbPath: ctx.dbPath,
    encoderModelId: run.encoderModelId,
    checkpoint: model.files,
    dims: model.dims,
    initialAdapterPath: cfg.initialAdapterPath,
    tokenizerDir: cfg.tokenizerDir,
    options: cfg.options,
    heldOutFraction: cfg.heldOutFraction,
    // One cache per decoder: a 7B training graph takes minutes to build and gigabytes to store.
    graph: { ...cfg.graph, cacheDir: join(ctx.dataDir, 'training', 'graphs', createHash('sha256').update(run.modelPath).digest('hex').slice(0, 16)) },
    checkpointPath,
    adapterPath,
    adapterMeta: { adapter_id: adapterId, model_id: run.modelId, parent_id: run.parentAdapterId ?? '', created_at: new Date(now).toISOString() },
  };
  let finished: Extract<TrainJobEvent, { type: 'done' }> | undefined;
  let outcome: 'done' | 'cancelled' = 'done';
  try {
    await opts.execute(job, (e) => {
      switch (e.type) {
        case 'log':
          emit({ event: 'log', runId: run.id, line: e.line });
          break;
        case 'tokenizer':
          emit({ event: 'tokenizer', runId: run.id, source: e.source });
          break;
        case 'data':
          updateRun(db, run.id, { dataReport: JSON.stringify(e.report) });
          emit({ event: 'data', runId: run.id, report: e.report });
          break;
        case 'progress': {
          const p = e.progress;
          // One transaction per event: the point and the run's step move together.
          db.transaction(() => recordProgress(db, run.id, p))();
          if (p.kind === 'step') emit({ event: 'step', runId: run.id, step: p.step, totalSteps: p.totalSteps, loss: p.loss, lr: p.lr, gradNorm: p.gradNorm, tokens: p.tokens, elapsedMs: p.elapsedMs });
          else if (p.kind === 'eval') emit({ event: 'eval', runId: run.id, step: p.step, heldOutLoss: p.heldOutLoss, examples: p.examples });
          else emit({ event: 'checkpoint', runId: run.id, step: p.step, path: p.path });
          break;
        }
        case 'cancelled':
          updateRun(db, run.id, { state: 'cancelled', step: e.step });
          outcome = 'cancelled';
          emit({ event: 'cancelled', runId: run.id, step: e.step });
          break;
        case 'done':
          finished = e;
          break;
      }
    }, opts.signal);
  } catch (e) {
    updateRun(db, run.id, { state: 'failed', error: (e as Error).message });
    throw e;
  }
  if (!finished) return outcome;
  const r = finished;
  finishRun(
    db,
    run.id,
    { id: adapterId, name: `Run ${run.id} (${r.step} steps)`, path: r.adapterPath, sha256: r.sha256, inDim: r.inDim, outDim: r.outDim, heldOutLoss: r.heldOutLoss, createdAt: now },
    { step: r.step, activate: cfg.activate },
  );
  const before = getRun(db, run.id).initialHeldOutLoss;
  emit({ event: 'done', runId: run.id, adapterId, adapterPath: r.adapterPath, heldOutLoss: r.heldOutLoss, initialHeldOutLoss: before, activated: cfg.activate });
  return 'done';
}
