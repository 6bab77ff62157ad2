/**
 * @file Adapter files and resumable training checkpoints (safetensors), written atomically. Any Node process.
 *
 * [Note: Atomic checkpoint writes]
 * A checkpoint is written to `<path>.tmp-<pid>`, flushed to disk (fsync) and renamed over `<path>`. A rename
 * within one folder is atomic, so a kill -9 or power cut at any moment leaves either the previous checkpoint
 * or the new one, never a torn file. The adapter tensors use the released checkpoints' names
 * (llama_proj.weight / llama_proj.bias), so a checkpoint also loads anywhere an adapter does; optimizer
 * moments live under `optimizer.*` (names that do not end in `llama_proj.*`).
 */
import { open, rename, rm } from 'node:fs/promises';
import { CheckpointError, openCheckpoint, writeSafetensors, type TensorToWrite } from '../../model/safetensors';
import { loadAdapter } from '../../model/adapter';
import type { AdapterWeights } from '../adapter';
import type { AdamWState } from '../optim/adamw';

/** Everything needed to continue a run exactly where it stopped. */
export interface TrainingCheckpoint {
  readonly adapter: AdapterWeights;
  readonly weightState: AdamWState;
  readonly biasState: AdamWState;
  /** Optimizer steps completed. */
  readonly step: number;
  /** Free-form string metadata (run id, options, data hash…). */
  readonly meta: Readonly<Record<string, string>>;
}

async function writeAtomic(path: string, tensors: Record<string, TensorToWrite>, meta: Record<string, string>): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeSafetensors(tmp, tensors, meta);
    const h = await open(tmp, 'r+');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new CheckpointError(`Cannot write ${path}: ${(e as Error).message}`, { file: path });
  }
}

/** Writes an adapter file (llama_proj.weight/bias + metadata) atomically. */
export async function writeAdapterFile(path: string, a: AdapterWeights, meta: Record<string, string> = {}): Promise<void> {
  await writeAtomic(
    path,
    {
      'llama_proj.weight': { data: a.weight, shape: [a.outDim, a.inDim] },
      'llama_proj.bias': { data: a.bias, shape: [a.outDim] },
    },
    { format: 'pt', kind: 'musilingo-adapter', ...meta },
  );
}

/** Reads an adapter (any file with llama_proj.weight/bias, e.g. a released checkpoint shard). */
export async function readAdapterFile(path: string): Promise<{ adapter: AdapterWeights; meta: Record<string, string> }> {
  const ck = await openCheckpoint(path);
  try {
    const a = await loadAdapter(ck);
    return { adapter: { ...a, weight: a.weight.slice(), bias: a.bias.slice() }, meta: { ...ck.metadata } };
  } finally {
    await ck.close();
  }
}

/** Writes a training checkpoint atomically ([Note: Atomic checkpoint writes]). */
export async function writeTrainingCheckpoint(path: string, c: TrainingCheckpoint): Promise<void> {
  const { adapter: a } = c;
  await writeAtomic(
    path,
    {
      'llama_proj.weight': { data: a.weight, shape: [a.outDim, a.inDim] },
      'llama_proj.bias': { data: a.bias, shape: [a.outDim] },
      'optimizer.weight.exp_avg': { data: c.weightState.expAvg, shape: [a.outDim, a.inDim] },
      'optimizer.weight.exp_avg_sq': { data: c.weightState.expAvgSq, shape: [a.outDim, a.inDim] },
      'optimizer.bias.exp_avg': { data: c.biasState.expAvg, shape: [a.outDim] },
      'optimizer.bias.exp_avg_sq': { data: c.biasState.expAvgSq, shape: [a.outDim] },
    },
    {
      format: 'pt',
      kind: 'musilingo-training-checkpoint',
      ...c.meta,
      step: String(c.step),
      'optimizer.weight.step': String(c.weightState.step),
      'optimizer.bias.step': String(c.biasState.step),
    },
  );
}

/** Reads a training checkpoint; throws a CheckpointError naming the file when it is not one. */
export async function readTrainingCheckpoint(path: string): Promise<TrainingCheckpoint> {
  const ck = await openCheckpoint(path);
  try {
    if (ck.metadata['kind'] !== 'musilingo-training-checkpoint') {
      throw new CheckpointError(`${path} is not a training checkpoint (kind "${ck.metadata['kind'] ?? 'none'}")`, { file: path });
    }
    const a = await loadAdapter(ck);
    const adapter: AdapterWeights = { ...a, weight: a.weight.slice(), bias: a.bias.slice() };
    const st = async (p: string): Promise<AdamWState> => ({
      expAvg: (await ck.readF32(`optimizer.${p}.exp_avg`)).slice(),
      expAvgSq: (await ck.readF32(`optimizer.${p}.exp_avg_sq`)).slice(),
      step: Number(ck.metadata[`optimizer.${p}.step`] ?? 0),
    });
    const { step, ...meta } = ck.metadata;
    return { adapter, weightState: await st('weight'), biasState: await st('bias'), step: Number(step ?? 0), meta };
  } finally {
    await ck.close();
  }
}
