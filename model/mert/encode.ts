/**
 * @file Runs a built MERT encoder on one 24 kHz window and pools it into MusiLingo's music vectors
 * (utility process / CLI worker: ORT calls block their thread).
 */
import * as ort from 'onnxruntime-node';
import { MUSILINGO_POOL_FRAMES, poolFrames } from './pool';

/** Options of {@link createMertSession}. */
export interface MertSessionOptions {
  /** Execution providers in order of preference (default ['cpu']). */
  readonly executionProviders?: ort.InferenceSession.ExecutionProviderConfig[];
  readonly intraOpNumThreads?: number;
}

/** Opens an encoder.onnx (its .onnx.data beside it) with explicit session options (STYLE B5). */
export async function createMertSession(onnxPath: string, opts: MertSessionOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(onnxPath, {
    executionProviders: opts.executionProviders ?? ['cpu'],
    intraOpNumThreads: opts.intraOpNumThreads ?? 0,
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
  });
}

/** What {@link encodeWindow} returns. */
export interface EncodedWindow {
  readonly frames: number;
  readonly dim: number;
  /** [ceil(frames / 325), dim]: the music vectors the adapter maps to the decoder. */
  readonly pooled: Float32Array;
  readonly tokens: number;
  /** [frames, dim], only when asked for (`keepLayerMean`). */
  readonly layerMean?: Float32Array;
  /** Debug builds: every extra output by name ([frames, …]). */
  readonly debug?: Readonly<Record<string, Float32Array>>;
  readonly runMs: number;
}

/** Options of {@link encodeWindow}. */
export interface EncodeWindowOptions {
  readonly keepLayerMean?: boolean;
  readonly poolWindow?: number;
  /** Receives one timing line per run (`[model] mert.encode 412 ms (frames=2249)`). */
  readonly log?: (line: string) => void;
}

/** Raised when a window is too short for the conv front end. */
export class MertInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MertInputError';
  }
}

/**
 * Encodes one window of 24 kHz mono float32 (batch 1). The window must hold at least the conv stack's
 * receptive field (400 samples for MERT-v1).
 */
export async function encodeWindow(session: ort.InferenceSession, pcm24k: Float32Array, opts: EncodeWindowOptions = {}): Promise<EncodedWindow> {
  if (pcm24k.length === 0) throw new MertInputError('Cannot encode an empty window');
  const input = new ort.Tensor('float32', pcm24k, [1, pcm24k.length]);
  const t0 = performance.now();
  let out: ort.InferenceSession.ReturnType;
  try {
    out = await session.run({ audio: input });
  } catch (e) {
    throw new MertInputError(`MERT encoder failed on a window of ${pcm24k.length} samples (${(e as Error).message})`);
  }
  const runMs = performance.now() - t0;
  const lm = out.layer_mean;
  if (!lm) throw new MertInputError('The encoder graph has no layer_mean output');
  const [, frames, dim] = lm.dims as [number, number, number];
  // The one unavoidable cast of ORT output data (STYLE B5).
  const layerMean = lm.data as Float32Array;
  const pooled = poolFrames(layerMean, frames, dim, opts.poolWindow ?? MUSILINGO_POOL_FRAMES);
  opts.log?.(`[model] mert.encode ${runMs.toFixed(0)} ms (samples=${pcm24k.length}, frames=${frames})`);
  const debug: Record<string, Float32Array> = {};
  for (const name of session.outputNames) if (name !== 'layer_mean') debug[name] = out[name]!.data as Float32Array;
  return {
    frames, dim, pooled, tokens: pooled.length / dim, runMs,
    ...(opts.keepLayerMean ? { layerMean } : {}),
    ...(Object.keys(debug).length > 0 ? { debug } : {}),
  };
}

/**
 * Encodes several windows of the same length in one run ([batch, samples]; GPUs do several windows for about
 * the price of one). Returns one {@link EncodedWindow} per input, in order; `runMs` is the batch time shared
 * equally. Windows of different lengths must go in separate calls.
 */
export async function encodeBatch(session: ort.InferenceSession, windows: readonly Float32Array[], opts: EncodeWindowOptions = {}): Promise<EncodedWindow[]> {
  if (windows.length === 0) return [];
  const len = windows[0]!.length;
  if (len === 0) throw new MertInputError('Cannot encode an empty window');
  if (windows.some((w) => w.length !== len)) {
    throw new MertInputError(`encodeBatch needs windows of one length, got ${[...new Set(windows.map((w) => w.length))].join(', ')} samples`);
  }
  const x = new Float32Array(windows.length * len);
  windows.forEach((w, i) => x.set(w, i * len));
  const t0 = performance.now();
  let out: ort.InferenceSession.ReturnType;
  try {
    out = await session.run({ audio: new ort.Tensor('float32', x, [windows.length, len]) });
  } catch (e) {
    throw new MertInputError(`MERT encoder failed on ${windows.length} windows of ${len} samples (${(e as Error).message})`);
  }
  const runMs = performance.now() - t0;
  const lm = out.layer_mean;
  if (!lm) throw new MertInputError('The encoder graph has no layer_mean output');
  const [, frames, dim] = lm.dims as [number, number, number];
  const all = lm.data as Float32Array;
  opts.log?.(`[model] mert.encode ${runMs.toFixed(0)} ms (batch=${windows.length}, samples=${len}, frames=${frames})`);
  return windows.map((_, b) => {
    const layerMean = all.subarray(b * frames * dim, (b + 1) * frames * dim);
    const pooled = poolFrames(layerMean, frames, dim, opts.poolWindow ?? MUSILINGO_POOL_FRAMES);
    return { frames, dim, pooled, tokens: pooled.length / dim, runMs: runMs / windows.length, ...(opts.keepLayerMean ? { layerMean: layerMean.slice() } : {}) };
  });
}
