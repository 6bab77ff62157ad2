/**
 * @file One training run as a self-contained job: plain-data inputs, plain-data events. This is what a trainer
 * utility process runs (main/workers/trainer.worker.ts forwards {@link TrainJob} and the events over its port)
 * and what `musilingo train` runs in-process. Electron-free; opens the library database read-only.
 */
import Database from 'better-sqlite3';
import llamaTokenizer from 'llama-tokenizer-js';
import { loadLlamaTokenizer } from '../model/tokenizer/llama-tokenizer';
import type { DataReport } from './data/dataset';
import { readLibraryForTraining } from './data/library-source';
import type { LlamaDims } from './reference/llama-reference';
import { readAdapterFile } from './run/checkpoint';
import type { TrainOptions, TrainProgress } from './run/train-loop';
import { saveAdapterVersion, trainFromLibrary, type GraphSettings } from './session';

/** Everything one run needs (structured-clone-safe). */
export interface TrainJob {
  readonly runId: number;
  /** The library database (opened read-only here; main stays the only writer). */
  readonly dbPath: string;
  /** windows.model_id of the pooled embeddings to use. */
  readonly encoderModelId: string;
  /** The frozen decoder's safetensors files and dimensions. */
  readonly checkpoint: readonly string[];
  readonly dims: LlamaDims;
  /** The adapter the run starts from (any file with llama_proj.weight/bias). */
  readonly initialAdapterPath: string;
  /** Folder with tokenizer.model / tokenizer.json; null = the built-in LLaMA-1 vocabulary. */
  readonly tokenizerDir: string | null;
  readonly options: TrainOptions;
  readonly heldOutFraction: number;
  readonly graph: GraphSettings;
  /** The run's resumable checkpoint (resumed when present). */
  readonly checkpointPath: string;
  /** Where the finished adapter is written, and the metadata stored in it. */
  readonly adapterPath: string;
  readonly adapterMeta: Readonly<Record<string, string>>;
}

/** Events of a job, in order: tokenizer, data, progress…, then done or cancelled (or the promise rejects). */
export type TrainJobEvent =
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'tokenizer'; readonly source: string }
  | { readonly type: 'data'; readonly report: DataReport }
  | { readonly type: 'progress'; readonly progress: TrainProgress }
  | {
      readonly type: 'done';
      readonly step: number;
      readonly adapterPath: string;
      readonly sha256: string;
      readonly inDim: number;
      readonly outDim: number;
      readonly heldOutLoss: number | null;
      readonly initialHeldOutLoss: number | null;
    }
  | { readonly type: 'cancelled'; readonly step: number };

/** Text → ids without special tokens, from `dir`'s tokenizer or the built-in LLaMA-1 vocabulary. */
export async function loadTextEncoder(dir: string | null): Promise<{ encode: (text: string) => number[]; bosId: number; source: string }> {
  if (dir === null) {
    // Vicuna v0 shares LLaMA-1's ids below 32000 (its [PAD] 32000 never occurs in text).
    return { encode: (t) => llamaTokenizer.encode(t, false, true), bosId: 1, source: 'built-in LLaMA-1 vocabulary' };
  }
  const tok = await loadLlamaTokenizer(dir);
  return { encode: (t) => tok.encode(t), bosId: tok.bosId, source: dir };
}

/** Runs (or resumes) a job; cancel with `signal` (a checkpoint is written and 'cancelled' emitted). */
export async function runTrainJob(job: TrainJob, emit: (e: TrainJobEvent) => void | Promise<void>, signal?: AbortSignal): Promise<'done' | 'cancelled'> {
  const { adapter } = await readAdapterFile(job.initialAdapterPath).catch((e: unknown) => {
    throw new Error(`Cannot read the starting adapter ${job.initialAdapterPath}: ${(e as Error).message}`);
  });
  const db = new Database(job.dbPath, { readonly: true, fileMustExist: true });
  let library;
  try {
    db.pragma('busy_timeout = 5000');
    library = readLibraryForTraining(db, job.encoderModelId);
  } finally {
    db.close();
  }
  const tokenizer = await loadTextEncoder(job.tokenizerDir);
  await emit({ type: 'tokenizer', source: tokenizer.source });
  const res = await trainFromLibrary({
    checkpoint: job.checkpoint,
    dims: job.dims,
    initialAdapter: adapter,
    encode: tokenizer.encode,
    bosId: tokenizer.bosId,
    library,
    options: job.options,
    heldOutFraction: job.heldOutFraction,
    checkpointPath: job.checkpointPath,
    resume: true,
    graph: job.graph,
    meta: { run_id: String(job.runId) },
    ...(signal ? { signal } : {}),
    log: (line) => void emit({ type: 'log', line }),
    onDataReport: (report) => emit({ type: 'data', report }),
    onProgress: (progress) => emit({ type: 'progress', progress }),
  });
  const r = res.run;
  if (r.cancelled) {
    await emit({ type: 'cancelled', step: r.step });
    return 'cancelled';
  }
  const sha256 = await saveAdapterVersion(job.adapterPath, r.adapter, {
    ...job.adapterMeta,
    run_id: String(job.runId),
    held_out_loss: r.heldOutLoss === undefined ? '' : String(r.heldOutLoss),
  });
  await emit({
    type: 'done',
    step: r.step,
    adapterPath: job.adapterPath,
    sha256,
    inDim: r.adapter.inDim,
    outDim: r.adapter.outDim,
    heldOutLoss: r.heldOutLoss ?? null,
    initialHeldOutLoss: r.initialHeldOutLoss ?? null,
  });
  return 'done';
}
