/**
 * @file The adapter training loop: sampling, gradient accumulation, clipping, AdamW with warmup + cosine,
 * held-out evaluation, checkpoints, resume and cancel. Runs in the trainer utility process or the CLI.
 *
 * [Note: Deterministic resume]
 * Nothing in the loop depends on wall time or on how often it was interrupted: the i-th sequence of the run
 * (i = (step·accumulation + micro-batch)·batchSize + b) comes from a seeded permutation of epoch ⌊i / N⌋ and
 * its window from a hash of (seed, i). A checkpoint
 * holds the adapter, both AdamW moment tensors and the step count, so a run killed after checkpoint k and
 * resumed from it replays exactly the steps an uninterrupted run would have taken (the gradient engine is
 * deterministic on one CPU thread). Steps after the last checkpoint are simply recomputed.
 */
import { existsSync } from 'node:fs';
import { cloneAdapter, accumulateAdapterGrads, zeroAdapterGrads, type AdapterWeights } from '../adapter';
import type { GradientEngine } from '../engine';
import { adamwStep, createAdamWState, type AdamWState } from '../optim/adamw';
import { clipGlobalNorm } from '../optim/clip';
import { learningRateAt } from '../optim/schedule';
import { mulberry32 } from '../../model/random';
import { fnv1a } from '../data/templates';
import { assembleSequence, type EmbedLookup, type TokenizedExample } from '../data/sequence';
import { readTrainingCheckpoint, writeTrainingCheckpoint } from './checkpoint';

/** Hyper-parameters of a run. Defaults follow MusiLingo's stage 2 where it makes sense for a small library. */
export interface TrainOptions {
  /** Optimizer steps. */
  readonly steps: number;
  /** Peak learning rate (reference 3e-5). */
  readonly peakLr: number;
  /** Final learning rate (reference 1e-5). */
  readonly minLr: number;
  readonly warmupStartLr: number;
  readonly warmupSteps: number;
  /** AdamW decoupled weight decay on the weight matrix (reference 0.05; biases are not decayed, as in LAVIS). */
  readonly weightDecay: number;
  /** Micro-batches per optimizer step (reference: 16). */
  readonly accumulation: number;
  /** Sequences per micro-batch, run as one right-padded graph call (reference: 2). */
  readonly batchSize: number;
  /** Global gradient-norm clip; 0 turns clipping off. */
  readonly maxGradNorm: number;
  /** Checkpoint every N optimizer steps (and always at the end or on cancel). */
  readonly checkpointEvery: number;
  /** Held-out loss every N optimizer steps (and at the start and the end). */
  readonly evalEvery: number;
  /** Most held-out examples per evaluation. */
  readonly heldOutLimit: number;
  readonly seed: number;
}

/** Defaults for {@link TrainOptions} given a step count. */
export function defaultTrainOptions(steps = 200, overrides: Partial<TrainOptions> = {}): TrainOptions {
  return {
    steps,
    peakLr: 3e-5,
    minLr: 1e-5,
    warmupStartLr: 1e-6,
    warmupSteps: Math.min(100, Math.floor(steps / 10)),
    weightDecay: 0.05,
    accumulation: 8,
    batchSize: 1,
    maxGradNorm: 1,
    checkpointEvery: 25,
    evalEvery: 25,
    heldOutLimit: 64,
    seed: 0,
    ...overrides,
  };
}

/** Progress events of a run (structured-clone-safe). */
export type TrainProgress =
  | { readonly kind: 'step'; readonly step: number; readonly totalSteps: number; readonly loss: number; readonly lr: number; readonly gradNorm: number; readonly tokens: number; readonly elapsedMs: number }
  | { readonly kind: 'eval'; readonly step: number; readonly heldOutLoss: number; readonly examples: number }
  | { readonly kind: 'checkpoint'; readonly step: number; readonly path: string };

/** Inputs of {@link runTraining}. */
export interface TrainRunInput {
  readonly engine: GradientEngine;
  readonly embed: EmbedLookup;
  readonly train: readonly TokenizedExample[];
  readonly heldOut: readonly TokenizedExample[];
  /** The adapter to start from (the model's own or a parent adapter); ignored when resuming. */
  readonly initialAdapter: AdapterWeights;
  readonly options: TrainOptions;
  /** Where the resumable checkpoint lives (replaced atomically). */
  readonly checkpointPath: string;
  /** Continue from `checkpointPath` when it exists. */
  readonly resume?: boolean;
  readonly bosId?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: TrainProgress) => void | Promise<void>;
  /** Extra metadata stored in every checkpoint (run id…). */
  readonly meta?: Readonly<Record<string, string>>;
  /** Test hook: stop (as if killed) right after this optimizer step, without a final checkpoint. */
  readonly haltAfterStep?: number;
}

/** Outcome of {@link runTraining}. */
export interface TrainRunResult {
  readonly adapter: AdapterWeights;
  /** Optimizer steps completed. */
  readonly step: number;
  readonly cancelled: boolean;
  readonly halted: boolean;
  /** Held-out loss of the starting adapter (undefined when resumed or no held-out data). */
  readonly initialHeldOutLoss: number | undefined;
  readonly heldOutLoss: number | undefined;
  readonly lastTrainLoss: number | undefined;
}

/** A run's options or data do not allow training; the message says what to change. */
export class TrainingSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingSetupError';
  }
}

/** Examples repeated by weight, in a stable order. */
function expandByWeight(train: readonly TokenizedExample[]): TokenizedExample[] {
  const out: TokenizedExample[] = [];
  const sorted = [...train].sort((a, b) => (a.example.id < b.example.id ? -1 : a.example.id > b.example.id ? 1 : 0));
  for (const t of sorted) for (let k = 0; k < Math.max(1, Math.round(t.example.weight)); k++) out.push(t);
  return out;
}

/** The sampler of [Note: Deterministic resume]. */
function makeSampler(pool: readonly TokenizedExample[], seed: number): (i: number) => { t: TokenizedExample; windowIndex: number } {
  const perms = new Map<number, number[]>();
  return (i) => {
    const n = pool.length;
    const epoch = Math.floor(i / n);
    let perm = perms.get(epoch);
    if (!perm) {
      const rand = mulberry32(fnv1a(`${seed}:epoch:${epoch}`));
      perm = Array.from({ length: n }, (_, k) => k);
      for (let k = n - 1; k > 0; k--) {
        const j = Math.floor(rand() * (k + 1));
        [perm[k], perm[j]] = [perm[j]!, perm[k]!];
      }
      perms.clear();
      perms.set(epoch, perm);
    }
    const t = pool[perm[i % n]!]!;
    return { t, windowIndex: fnv1a(`${seed}:window:${i}`) % t.example.windows.length };
  };
}

/** Token-weighted mean loss of `examples` (middle window each) under `adapter`. */
export async function heldOutLoss(
  engine: GradientEngine,
  embed: EmbedLookup,
  examples: readonly TokenizedExample[],
  adapter: AdapterWeights,
  bosId = 1,
): Promise<number | undefined> {
  let sum = 0;
  let tokens = 0;
  for (const t of examples) {
    const w = t.example.windows[Math.floor(t.example.windows.length / 2)];
    if (!w || t.answerIds.length === 0) continue;
    const seq = await assembleSequence(t, w, adapter, embed, bosId);
    const { loss } = await engine.lossAndGrad(seq.inputsEmbeds, seq.labels);
    sum += loss * seq.answerTokens;
    tokens += seq.answerTokens;
  }
  return tokens > 0 ? sum / tokens : undefined;
}

/** Runs (or resumes) training; see [Note: Deterministic resume]. Cancels cleanly on `signal`, with a checkpoint. */
export async function runTraining(input: TrainRunInput): Promise<TrainRunResult> {
  const o = input.options;
  const batchSize = o.batchSize ?? 1;
  if (!(o.steps > 0) || !(o.accumulation > 0) || !(batchSize > 0)) {
    throw new TrainingSetupError(`steps (${o.steps}), accumulation (${o.accumulation}) and batch size (${batchSize}) must be positive`);
  }
  const usable = input.train.filter((t) => t.answerIds.length > 0 && t.example.windows.length > 0);
  if (usable.length === 0) throw new TrainingSetupError('No training examples: tag some tracks or edit captions, and analyse them first');
  const pool = expandByWeight(usable);
  const sample = makeSampler(pool, o.seed);
  const heldOut = input.heldOut.slice(0, o.heldOutLimit);
  const bosId = input.bosId ?? 1;

  let adapter = cloneAdapter(input.initialAdapter);
  let wState: AdamWState = createAdamWState(adapter.weight.length);
  let bState: AdamWState = createAdamWState(adapter.bias.length);
  let step = 0;
  let initialHeldOutLoss: number | undefined;
  if (input.resume && existsSync(input.checkpointPath)) {
    const c = await readTrainingCheckpoint(input.checkpointPath);
    if (c.adapter.inDim !== adapter.inDim || c.adapter.outDim !== adapter.outDim) {
      throw new TrainingSetupError(`${input.checkpointPath} holds a ${c.adapter.outDim}×${c.adapter.inDim} adapter; this model needs ${adapter.outDim}×${adapter.inDim}`);
    }
    adapter = c.adapter;
    wState = c.weightState;
    bState = c.biasState;
    step = c.step;
  }
  const emit = async (p: TrainProgress): Promise<void> => {
    await input.onProgress?.(p);
  };
  const evaluate = async (): Promise<number | undefined> => {
    const loss = await heldOutLoss(input.engine, input.embed, heldOut, adapter, bosId);
    if (loss !== undefined) await emit({ kind: 'eval', step, heldOutLoss: loss, examples: heldOut.length });
    return loss;
  };
  const checkpoint = async (): Promise<void> => {
    await writeTrainingCheckpoint(input.checkpointPath, {
      adapter,
      weightState: wState,
      biasState: bState,
      step,
      meta: { ...(input.meta ?? {}), seed: String(o.seed), options: JSON.stringify(o) },
    });
    await emit({ kind: 'checkpoint', step, path: input.checkpointPath });
  };

  if (step === 0) initialHeldOutLoss = await evaluate();
  let lastHeldOut = initialHeldOutLoss;
  let lastTrainLoss: number | undefined;
  const started = Date.now();
  const schedule = { peakLr: o.peakLr, minLr: o.minLr, warmupStartLr: o.warmupStartLr, warmupSteps: o.warmupSteps, totalSteps: o.steps };
  while (step < o.steps) {
    if (input.signal?.aborted) {
      await checkpoint();
      return { adapter, step, cancelled: true, halted: false, initialHeldOutLoss, heldOutLoss: lastHeldOut, lastTrainLoss };
    }
    const grads = zeroAdapterGrads(adapter);
    let lossSum = 0;
    let tokens = 0;
    for (let m = 0; m < o.accumulation; m++) {
      const seqs = [];
      for (let b = 0; b < batchSize; b++) {
        const { t, windowIndex } = sample((step * o.accumulation + m) * batchSize + b);
        seqs.push(await assembleSequence(t, t.example.windows[windowIndex]!, adapter, input.embed, bosId));
      }
      const { loss, grads: g } = await input.engine.lossAndGradBatch(seqs);
      if (!Number.isFinite(loss)) throw new Error(`Loss became ${loss} at step ${step + 1}; lower the learning rate`);
      seqs.forEach((seq, b) => {
        accumulateAdapterGrads(grads, g[b]!, seq.musicOffset, seq.window.embedding, seq.window.rows, adapter, 1 / o.accumulation);
        tokens += seq.answerTokens;
      });
      lossSum += loss;
    }
    const gradNorm = clipGlobalNorm([grads.weight, grads.bias], o.maxGradNorm);
    const lr = learningRateAt(step, schedule);
    adamwStep(adapter.weight, grads.weight, wState, { lr, weightDecay: o.weightDecay });
    adamwStep(adapter.bias, grads.bias, bState, { lr, weightDecay: 0 });
    step++;
    lastTrainLoss = lossSum / o.accumulation;
    await emit({ kind: 'step', step, totalSteps: o.steps, loss: lastTrainLoss, lr, gradNorm, tokens, elapsedMs: Date.now() - started });
    if (input.haltAfterStep !== undefined && step >= input.haltAfterStep) {
      return { adapter, step, cancelled: false, halted: true, initialHeldOutLoss, heldOutLoss: lastHeldOut, lastTrainLoss };
    }
    if (step % o.evalEvery === 0 && step < o.steps) lastHeldOut = await evaluate();
    if (step % o.checkpointEvery === 0 && step < o.steps) await checkpoint();
  }
  lastHeldOut = (await evaluate()) ?? lastHeldOut;
  await checkpoint();
  return { adapter, step, cancelled: false, halted: false, initialHeldOutLoss, heldOutLoss: lastHeldOut, lastTrainLoss };
}
