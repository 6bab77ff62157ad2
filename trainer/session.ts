/**
 * @file One fine-tuning session from a library snapshot: dataset, tokenization, training graph, the loop, and
 * the new adapter file. Electron-free; the CLI calls it directly and the trainer utility process wraps it.
 * Persistence (runs, loss points, adapter rows) stays with the caller through `onProgress`/the result.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openCheckpoint, type Checkpoint } from '../model/safetensors';
import type { AdapterWeights } from './adapter';
import { buildDataset, type DataReport, type LibraryTrack } from './data/dataset';
import type { LlamaDims } from './reference/llama-reference';
import { cachedEmbedLookup, tokenizeExample, type Encode } from './data/sequence';
import { createOrtEngine } from './engine';
import { checkpointEmbedder, checkpointWeightSource, readLlamaDims } from './graph/checkpoint-source';
import { isPackDir, openPackDecoder, type PackDecoder } from './graph/pack-source';
import { buildLlamaTrainingGraph, type WeightStorage } from './graph/llama-train-graph';
import { writeAdapterFile } from './run/checkpoint';
import { runTraining, TrainingSetupError, type TrainOptions, type TrainProgress, type TrainRunResult } from './run/train-loop';

/** How the training graph runs. */
export interface GraphSettings {
  readonly dtype?: 'float32' | 'float16';
  readonly weights?: WeightStorage;
  /** ORT execution providers in order (default ['cpu']). */
  readonly executionProviders?: readonly string[];
  readonly threads?: number;
  /** Folder to keep built training graphs in (reused while the checkpoint is unchanged); default: in memory. */
  readonly cacheDir?: string;
}

/** Inputs of {@link trainFromLibrary}. */
export interface TrainSessionInput {
  /**
   * The frozen decoder's weights: a Hugging Face-style folder (config.json + safetensors), or the shard files
   * of a merged MusiLingo checkpoint (tensors are found by suffix).
   */
  readonly checkpoint: string | readonly string[];
  /** The decoder's dimensions; default: `<checkpoint folder>/config.json`. */
  readonly dims?: LlamaDims;
  /** The adapter to start from (the model's own llama_proj or a parent version). */
  readonly initialAdapter: AdapterWeights;
  readonly encode: Encode;
  readonly bosId?: number;
  readonly library: readonly LibraryTrack[];
  readonly options: TrainOptions;
  readonly heldOutFraction?: number;
  /** The run's resumable checkpoint file. */
  readonly checkpointPath: string;
  readonly resume?: boolean;
  readonly graph?: GraphSettings;
  readonly meta?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: TrainProgress) => void | Promise<void>;
  /** Called once the data is known, before any training. */
  readonly onDataReport?: (r: DataReport) => void | Promise<void>;
  /** Extra line-oriented log (graph build time, engine). */
  readonly log?: (line: string) => void;
}

/** Outcome of {@link trainFromLibrary}. */
export interface TrainSessionResult {
  readonly run: TrainRunResult;
  readonly report: DataReport;
}

/** sha256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/** Where the frozen decoder's weights come from: checkpoint shards or a pack (same shape as a PackDecoder). */
type DecoderFiles = PackDecoder;

/** The checkpoint shards as a {@link DecoderFiles}. */
function checkpointFiles(ck: Checkpoint): DecoderFiles {
  return {
    files: ck.files,
    weightSource: (dims) => checkpointWeightSource(ck, dims),
    embedder: (hidden) => checkpointEmbedder(ck, hidden),
    close: () => ck.close(),
  };
}

/** Trains an adapter on the library; see the file header. */
export async function trainFromLibrary(input: TrainSessionInput): Promise<TrainSessionResult> {
  const log = input.log ?? (() => {});
  const where = typeof input.checkpoint === 'string' ? input.checkpoint : input.checkpoint.join(', ');
  if (input.dims === undefined && typeof input.checkpoint !== 'string') throw new TrainingSetupError('Give the decoder dimensions for a list of checkpoint files');
  const dims = input.dims ?? (await readLlamaDims(input.checkpoint as string));
  if (input.initialAdapter.outDim !== dims.hiddenSize) {
    throw new TrainingSetupError(`The adapter maps to ${input.initialAdapter.outDim} values but the decoder in ${where} has hidden size ${dims.hiddenSize}`);
  }
  const ds = buildDataset(input.library, {
    inDim: input.initialAdapter.inDim,
    heldOutFraction: input.heldOutFraction ?? 0.1,
    fileExists: (p) => existsSync(p),
  });
  await input.onDataReport?.(ds.report);
  const train = ds.train.map((e) => tokenizeExample(input.encode, e));
  const heldOut = ds.heldOut.map((e) => tokenizeExample(input.encode, e));
  if (train.length === 0) {
    throw new TrainingSetupError(
      `Nothing to train on: ${ds.report.tracksSeen} track(s) seen, none usable (${Object.entries(ds.report.skippedByReason).map(([k, n]) => `${k} ${n}`).join(', ') || 'empty library'}).`,
    );
  }
  // A pack folder instead of checkpoint files: the frozen decoder is read from the pack's own graph (see
  // [Note: Decoder weights from a pack]); the embedder reads its embed.safetensors.
  const sources = typeof input.checkpoint === 'string' ? [input.checkpoint] : input.checkpoint;
  const ck: DecoderFiles = sources.length === 1 && isPackDir(sources[0]!) ? await openPackDecoder(sources[0]!) : checkpointFiles(await openCheckpoint(input.checkpoint));
  const g = input.graph ?? {};
  let graphPath: string | undefined;
  try {
    const t0 = Date.now();
    let model: Uint8Array | string;
    const tag = `${g.dtype ?? 'float32'}-${g.weights ?? 'dense'}`;
    if (g.cacheDir) {
      await mkdir(g.cacheDir, { recursive: true });
      graphPath = join(g.cacheDir, `train-${tag}.onnx`);
      // Rebuilt when any source file is newer than the cached graph.
      const newest = Math.max(...ck.files.map((f) => statSync(f).mtimeMs));
      if (!existsSync(graphPath) || statSync(graphPath).mtimeMs < newest) {
        // Built in a private folder and renamed into place (data file first), so a concurrent or killed build
        // never leaves a half-written graph under the cached name. The .onnx names its data file by basename.
        const tmpDir = join(g.cacheDir, `build-${process.pid}`);
        await rm(tmpDir, { recursive: true, force: true });
        await mkdir(tmpDir);
        try {
          const tmpPath = join(tmpDir, `train-${tag}.onnx`);
          const b = await buildLlamaTrainingGraph(ck.weightSource(dims), { dtype: g.dtype ?? 'float32', weights: g.weights ?? 'dense', outPath: tmpPath });
          try {
            await b.save();
          } catch (e) {
            await b.discard();
            throw e;
          }
          await rm(graphPath, { force: true });
          if (existsSync(`${tmpPath}.data`)) await rename(`${tmpPath}.data`, `${graphPath}.data`);
          await rename(tmpPath, graphPath);
        } finally {
          await rm(tmpDir, { recursive: true, force: true });
        }
      }
      model = graphPath;
    } else {
      const b = await buildLlamaTrainingGraph(ck.weightSource(dims), { dtype: g.dtype ?? 'float32', weights: g.weights ?? 'dense' });
      model = b.toBytes('unused.data');
    }
    log(`[trainer] training graph ${tag} ready in ${Date.now() - t0} ms`);
    const engine = await createOrtEngine(model, dims.hiddenSize, {
      executionProviders: g.executionProviders ?? ['cpu'],
      threads: g.threads ?? 1,
      label: `onnxruntime ${(g.executionProviders ?? ['cpu']).join('/')} ${tag}`,
    });
    try {
      const embed = cachedEmbedLookup(ck.embedder(dims.hiddenSize), dims.hiddenSize);
      const run = await runTraining({
        engine,
        embed,
        train,
        heldOut,
        initialAdapter: input.initialAdapter,
        options: input.options,
        checkpointPath: input.checkpointPath,
        resume: input.resume ?? false,
        bosId: input.bosId ?? 1,
        ...(input.signal ? { signal: input.signal } : {}),
        ...(input.onProgress ? { onProgress: input.onProgress } : {}),
        ...(input.meta ? { meta: input.meta } : {}),
      });
      return { run, report: ds.report };
    } finally {
      await engine.release();
    }
  } finally {
    await ck.close();
  }
}

/** Writes a finished run's adapter as a versioned file and returns its sha256. */
export async function saveAdapterVersion(path: string, adapter: AdapterWeights, meta: Record<string, string>): Promise<string> {
  await writeAdapterFile(path, adapter, meta);
  return sha256File(path);
}
