/**
 * @file `musilingo train`: fine-tune the adapter on the library's tags and edited captions; list and inspect runs.
 * Plain Node (CLI). The work itself is trainer/session.ts; this file resolves the model, talks to the database
 * and prints progress.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { loadAdapter } from '../../../model/adapter';
import { openCheckpoint } from '../../../model/safetensors';
import type { AdapterWeights } from '../../../trainer/adapter';
import { formatDataReport } from '../../../trainer/data/dataset';
import type { WeightStorage } from '../../../trainer/graph/llama-train-graph';
import { readAdapterFile } from '../../../trainer/run/checkpoint';
import { defaultTrainOptions, type TrainOptions } from '../../../trainer/run/train-loop';
import { runTrainJob, type TrainJob, type TrainJobEvent } from '../../../trainer/job';
import type { GraphSettings } from '../../../trainer/session';
import {
  activeAdapter,
  createRun,
  encoderModelIds,
  finishRun,
  getAdapter,
  getRun,
  listPoints,
  listRuns,
  recordProgress,
  updateRun,
  type TrainingRun,
} from '../../db/training';
import { readLlamaConfig, type LlamaConfig } from '../../../model/llama/config';
import { checkpointFiles, expandSources, inferLlamaConfig } from '../../models/checkpoint-files';
import { readPackManifest } from '../../models/pack';
import { ModelNotFoundError, resolvePack, type ResolvedPack } from '../../models/registry';
import { ExecutionProviderError, parseProviderList } from '../../../model/ort/providers';
import { isPackDir } from '../../../trainer/graph/pack-source';
import { parseCommandArgs, UsageError, type CliCommand, type CliContext } from '../command';

const USAGE = `Usage:
  musilingo train --from-tags [--model <pack, model or checkpoint folder>] [options]
  musilingo train --resume <run>
  musilingo train --list
  musilingo train --show <run>

Fine-tunes the adapter (llama_proj) on your library: tags (genre, mood, instruments, BPM, key, comments)
become captions and Q&A pairs, and captions you edited count most. Tracks need cached analysis windows
(run \`musilingo caption\` first); skipped tracks are listed with the reason.

Options:
  --model <m>            pack id (demo@float32), model id (demo), pack folder, or a checkpoint folder
                         (config.json + safetensors); default: this machine's pack (see \`models list\`)
  --adapter <id|file>    start from this adapter (default: the model's active adapter, else its own)
  --steps <n>            optimizer steps (default 200)
  --lr <x>               peak learning rate (default 3e-5; cosine to --min-lr)
  --min-lr <x>           final learning rate (default 1e-5)
  --warmup <n>           warmup steps (default steps/10, at most 100)
  --accumulation <n>     micro-batches per step (default 8)
  --batch <n>            sequences per micro-batch, one padded graph run (default 1)
  --weight-decay <x>     AdamW weight decay (default 0.05)
  --clip <x>             gradient-norm clip, 0 = off (default 1)
  --checkpoint-every <n> checkpoint interval in steps (default 25)
  --eval-every <n>       held-out loss interval in steps (default 25)
  --held-out <f>         fraction of tracks held out (default 0.1)
  --seed <n>             sampling seed (default 0)
  --encoder <id>         windows.model_id of the cached embeddings (default: the one with most windows)
  --dtype <t>            float32 | float16 (default float32)
  --weights <w>          dense | int4-transposed | int4-dequant (default dense)
  --ep <list>            execution providers, e.g. webgpu,cpu (default cpu)
  --threads <n>          CPU threads (default 1)
  --activate             make the new adapter active when the run finishes
  --json                 machine-readable output (one JSON object per line)`;


interface StoredConfig {
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

/** `--ep webgpu,cpu`: the shared parser (model/ort/providers.ts), so the names doctor and caption accept work here. */
function parseEpList(value: string): string[] {
  try {
    return parseProviderList(value, '--ep');
  } catch (e) {
    if (e instanceof ExecutionProviderError) throw new UsageError(e.message);
    throw e;
  }
}

function num(v: string | undefined, name: string, fallback: number, opts: { int?: boolean; min?: number } = {}): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min)) {
    throw new UsageError(`--${name} must be a${opts.int ? 'n integer' : ' number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}, got "${v}"`);
  }
  return n;
}

/**
 * What `--model` names: a pack through the model registry (no flag: this machine's default pack; `demo`,
 * `demo@float32`, a pack folder), whose frozen decoder is read from the checkpoint it was converted from; or,
 * when the registry knows no such pack, a checkpoint folder (config.json + safetensors) trained directly.
 */
async function resolveModel(db: Database.Database, arg: string | undefined, dataDir: string): Promise<ResolvedModel> {
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
    throw new UsageError(`${dir} is neither a model pack (manifest.json) nor a checkpoint folder (config.json, safetensors)`);
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

async function runOrResume(ctx: CliContext, runId: number, json: boolean): Promise<number> {
  const db = ctx.db();
  const run = getRun(db, runId);
  const cfg = JSON.parse(run.config) as StoredConfig;
  const checkpointPath = run.checkpointPath ?? join(ctx.dataDir, 'training', `run-${run.id}`, 'checkpoint.safetensors');
  await mkdir(join(checkpointPath, '..'), { recursive: true });
  const releaseLock = takeRunLock(join(checkpointPath, '..', 'run.lock'), run.id);
  try {
    return await trainLocked(ctx, run, cfg, checkpointPath, json);
  } finally {
    releaseLock();
  }
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

async function trainLocked(ctx: CliContext, run: TrainingRun, cfg: StoredConfig, checkpointPath: string, json: boolean): Promise<number> {
  const db = ctx.db();
  const out = (line: string, obj: object): void => {
    ctx.stdout.write(json ? `${JSON.stringify(obj)}\n` : `${line}\n`);
  };
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
  let code = 0;
  try {
    await runTrainJob(job, (e) => {
      switch (e.type) {
        case 'log':
          if (!json) ctx.stderr.write(`${e.line}\n`);
          break;
        case 'tokenizer':
          if (!json) ctx.stdout.write(`Run ${run.id}: tokenizer ${e.source}\n`);
          break;
        case 'data':
          updateRun(db, run.id, { dataReport: JSON.stringify(e.report) });
          out(formatDataReport(e.report), { event: 'data', report: e.report });
          break;
        case 'progress': {
          const p = e.progress;
          recordProgress(db, run.id, p);
          if (p.kind === 'step') {
            const rate = p.elapsedMs > 0 ? ` ${(1000 / (p.elapsedMs / p.step)).toFixed(2)} steps/s` : '';
            out(`step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} |g| ${p.gradNorm.toExponential(2)}${rate}`, { event: 'step', runId: run.id, ...p });
          } else if (p.kind === 'eval') {
            out(`held-out loss ${p.heldOutLoss.toFixed(4)} at step ${p.step} (${p.examples} examples)`, { event: 'eval', runId: run.id, ...p });
          } else {
            out(`checkpoint at step ${p.step}: ${p.path}`, { event: 'checkpoint', runId: run.id, ...p });
          }
          break;
        }
        case 'cancelled':
          updateRun(db, run.id, { state: 'cancelled', step: e.step });
          out(`Run ${run.id} stopped at step ${e.step}. Resume with: musilingo train --resume ${run.id}`, { event: 'cancelled', runId: run.id, step: e.step });
          code = 130;
          break;
        case 'done':
          finished = e;
          break;
      }
    }, ctx.signal);
  } catch (e) {
    updateRun(db, run.id, { state: 'failed', error: (e as Error).message });
    throw e;
  }
  if (!finished) return code;
  const r = finished;
  finishRun(
    db,
    run.id,
    { id: adapterId, name: `Run ${run.id} (${r.step} steps)`, path: r.adapterPath, sha256: r.sha256, inDim: r.inDim, outDim: r.outDim, heldOutLoss: r.heldOutLoss, createdAt: now },
    { step: r.step, activate: cfg.activate },
  );
  const before = getRun(db, run.id).initialHeldOutLoss;
  const cmp = r.heldOutLoss !== null && before !== null ? ` Held-out loss ${before.toFixed(4)} → ${r.heldOutLoss.toFixed(4)}.` : '';
  out(`Run ${run.id} done: adapter ${adapterId}${cfg.activate ? ' (active)' : ''}.${cmp}`, { event: 'done', runId: run.id, adapterId, adapterPath: r.adapterPath, heldOutLoss: r.heldOutLoss, initialHeldOutLoss: before });
  return 0;
}

/** `musilingo train` */
export const command: CliCommand = {
  name: 'train',
  summary: 'fine-tune the adapter on your tags and edited captions',
  usage: USAGE,
  async run(argv, ctx) {
    const values: Record<string, string | boolean | undefined> = parseCommandArgs(
      argv,
      {
        'from-tags': { type: 'boolean' }, resume: { type: 'string' }, list: { type: 'boolean' }, show: { type: 'string' },
        model: { type: 'string' }, adapter: { type: 'string' }, steps: { type: 'string' }, lr: { type: 'string' },
        'min-lr': { type: 'string' }, warmup: { type: 'string' }, accumulation: { type: 'string' }, 'weight-decay': { type: 'string' }, batch: { type: 'string' },
        clip: { type: 'string' }, 'checkpoint-every': { type: 'string' }, 'eval-every': { type: 'string' }, 'held-out': { type: 'string' },
        seed: { type: 'string' }, encoder: { type: 'string' }, dtype: { type: 'string' }, weights: { type: 'string' },
        ep: { type: 'string' }, threads: { type: 'string' }, activate: { type: 'boolean' }, json: { type: 'boolean' },
      },
      false,
    ).values;
    const json = values['json'] === true;
    const s = (k: string): string | undefined => values[k] as string | undefined;
    if (values['list']) {
      for (const r of listRuns(ctx.db())) {
        const line = `${String(r.id).padStart(4)}  ${r.state.padEnd(9)} step ${r.step}/${r.totalSteps}  held-out ${r.initialHeldOutLoss?.toFixed(4) ?? '-'} → ${r.heldOutLoss?.toFixed(4) ?? '-'}  ${r.adapterId ?? ''}  ${r.modelId}`;
        ctx.stdout.write(json ? `${JSON.stringify(r)}\n` : `${line}\n`);
      }
      return 0;
    }
    if (s('show') !== undefined) {
      const id = num(s('show'), 'show', 0, { int: true, min: 1 });
      const run = getRun(ctx.db(), id);
      const points = listPoints(ctx.db(), id);
      if (json) ctx.stdout.write(`${JSON.stringify({ run, points })}\n`);
      else {
        ctx.stdout.write(`Run ${run.id} (${run.state}), model ${run.modelId}, ${run.step}/${run.totalSteps} steps\n`);
        for (const p of points) ctx.stdout.write(`${p.kind.padEnd(8)} step ${String(p.step).padStart(5)} loss ${p.loss.toFixed(4)}\n`);
      }
      return 0;
    }
    if (s('resume') !== undefined) {
      const id = num(s('resume'), 'resume', 0, { int: true, min: 1 });
      const run = getRun(ctx.db(), id);
      if (run.state === 'done') throw new UsageError(`Run ${id} is already done (adapter ${run.adapterId ?? '?'})`);
      return runOrResume(ctx, id, json);
    }
    if (!values['from-tags']) throw new UsageError('Say what to train on: --from-tags (or --resume <run>, --list, --show <run>)');
    const steps = num(s('steps'), 'steps', 200, { int: true, min: 1 });
    const peakLr = num(s('lr'), 'lr', 3e-5, { min: 0 });
    const options = defaultTrainOptions(steps, {
      peakLr,
      minLr: num(s('min-lr'), 'min-lr', Math.min(1e-5, peakLr), { min: 0 }),
      warmupStartLr: Math.min(1e-6, peakLr),
      ...(s('warmup') !== undefined ? { warmupSteps: num(s('warmup'), 'warmup', 0, { int: true, min: 0 }) } : {}),
      accumulation: num(s('accumulation'), 'accumulation', 8, { int: true, min: 1 }),
      batchSize: num(s('batch'), 'batch', 1, { int: true, min: 1 }),
      weightDecay: num(s('weight-decay'), 'weight-decay', 0.05, { min: 0 }),
      maxGradNorm: num(s('clip'), 'clip', 1, { min: 0 }),
      checkpointEvery: num(s('checkpoint-every'), 'checkpoint-every', 25, { int: true, min: 1 }),
      evalEvery: num(s('eval-every'), 'eval-every', 25, { int: true, min: 1 }),
      seed: num(s('seed'), 'seed', 0, { int: true }),
    });
    const dtype = s('dtype') ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'float16') throw new UsageError(`--dtype "${dtype}" is not supported. Expected one of: float32, float16`);
    const weights = s('weights') ?? 'dense';
    if (!['dense', 'int4-transposed', 'int4-dequant'].includes(weights)) {
      throw new UsageError(`--weights "${weights}" is not supported. Expected one of: dense, int4-transposed, int4-dequant`);
    }
    const graph: GraphSettings = {
      dtype,
      weights: weights as WeightStorage,
      executionProviders: parseEpList(s('ep') ?? 'cpu'),
      threads: num(s('threads'), 'threads', 1, { int: true, min: 1 }),
    };
    const heldOutFraction = num(s('held-out'), 'held-out', 0.1, { min: 0 });
    if (heldOutFraction >= 1) throw new UsageError('--held-out must be below 1');
    const db = ctx.db();
    const model = await resolveModel(db, s('model'), ctx.dataDir);
    const start = await loadStartAdapter(db, s('adapter'), model);
    const encoders = encoderModelIds(db);
    const encoder = s('encoder') ?? encoders.find((e) => e.dim === start.adapter.inDim)?.modelId;
    if (encoder === undefined) {
      throw new Error(`No analysed tracks: the library has no cached windows of width ${start.adapter.inDim}. Run \`musilingo caption\` (or the embed job) first.`);
    }
    const config: StoredConfig = {
      options, graph, heldOutFraction, initialAdapterPath: start.path, activate: values['activate'] === true, tokenizerDir: findTokenizerDir(model.tokenizerDirs),
      dims: model.dims,
    };
    const runId = createRun(db, {
      modelId: model.modelId, modelPath: model.checkpointDir, encoderModelId: encoder, parentAdapterId: start.parentId,
      config: JSON.stringify(config), dataReport: null, totalSteps: steps, checkpointPath: null,
    });
    updateRun(db, runId, { checkpointPath: join(ctx.dataDir, 'training', `run-${runId}`, 'checkpoint.safetensors') });
    const decoderFrom = isPackDir(model.checkpointDir) ? 'pack' : 'checkpoint';
    if (!json) ctx.stdout.write(`Run ${runId}: model ${model.modelId}, encoder windows "${encoder}", ${steps} steps; frozen decoder from the ${decoderFrom === 'pack' ? `pack ${model.checkpointDir}` : `checkpoint ${model.checkpointDir}`}.\n`);
    else ctx.stdout.write(`${JSON.stringify({ event: 'started', runId, decoderFrom, decoderPath: model.checkpointDir })}\n`);
    return runOrResume(ctx, runId, json);
  },
};
