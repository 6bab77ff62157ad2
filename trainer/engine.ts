/**
 * @file Gradient engines: one training step's loss and d(loss)/d(inputs_embeds) for one sequence.
 * The ONNX Runtime engine runs the training graph; the reference engine runs the float64 TS model (tiny models
 * only). Runs in the trainer utility process, the CLI's worker, or tests.
 */
import * as ort from 'onnxruntime-node';
import { referenceLossAndGrad, type LlamaWeights } from './reference/llama-reference';
import { TRAIN_GRAPH_IO } from './graph/llama-train-graph';

/** Loss and input-embedding gradient of one sequence. */
export interface StepResult {
  readonly loss: number;
  /** [S, hidden] float32 */
  readonly grad: Float32Array;
}

/** Computes loss and gradient for one sequence; see [Note: Training graph]. */
export interface GradientEngine {
  readonly hidden: number;
  /** Human-readable description for logs ("onnxruntime cpu float32 dense"). */
  readonly label: string;
  lossAndGrad(inputsEmbeds: Float32Array, labels: readonly number[]): Promise<StepResult>;
  release(): Promise<void>;
}

/** Options of {@link createOrtEngine}. */
export interface OrtEngineOptions {
  /** Execution providers in order of preference (default ['cpu']). */
  readonly executionProviders?: readonly string[];
  /** CPU threads for intra-op parallelism (default 1: deterministic and kind to a busy machine). */
  readonly threads?: number;
  readonly label?: string;
}

/**
 * Creates an engine over a training graph (ONNX bytes or a file path).
 *
 * [Note: No constant folding in training graphs]
 * The 'int4-dequant' layout rebuilds each frozen W from its int4 blocks inside the graph, from initializers
 * only, so ORT's constant folding would precompute every dense W at session creation and keep it: measured on
 * a mid-size model, +1.8 GiB instead of +0.1 GiB. Nothing else in a training graph gains from folding (RoPE
 * frequencies are a few floats), so the optimizer is switched off for every training session.
 */
export async function createOrtEngine(model: Uint8Array | string, hidden: number, opts: OrtEngineOptions = {}): Promise<GradientEngine> {
  const eps = opts.executionProviders ?? ['cpu'];
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: [...eps],
    intraOpNumThreads: opts.threads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
    logSeverityLevel: 3,
    // See [Note: No constant folding in training graphs].
    extra: { 'optimization.disable_specified_optimizers': 'ConstantFolding' },
  };
  const session =
    typeof model === 'string' ? await ort.InferenceSession.create(model, sessionOptions) : await ort.InferenceSession.create(model, sessionOptions);
  return {
    hidden,
    label: opts.label ?? `onnxruntime ${eps.join('/')}`,
    async lossAndGrad(inputsEmbeds, labels) {
      const s = labels.length;
      if (inputsEmbeds.length !== s * hidden) throw new Error(`inputs_embeds has ${inputsEmbeds.length} values; expected ${s}×${hidden}`);
      const feeds = {
        [TRAIN_GRAPH_IO.inputsEmbeds]: new ort.Tensor('float32', inputsEmbeds, [s, hidden]),
        [TRAIN_GRAPH_IO.labels]: new ort.Tensor('int64', BigInt64Array.from(labels, (v) => BigInt(v)), [s]),
      };
      const out = await session.run(feeds);
      const loss = out[TRAIN_GRAPH_IO.loss];
      const grad = out[TRAIN_GRAPH_IO.gradInputsEmbeds];
      if (!loss || !grad) throw new Error('training graph returned no loss or gradient');
      const result = { loss: (loss.data as Float32Array)[0] ?? NaN, grad: (grad.data as Float32Array).slice() };
      loss.dispose();
      grad.dispose();
      return result;
    },
    release: () => session.release(),
  };
}

/** An engine over the float64 TS reference (tiny models; tests). */
export function createReferenceEngine(w: LlamaWeights<ArrayLike<number>>): GradientEngine {
  return {
    hidden: w.dims.hiddenSize,
    label: 'float64 reference',
    async lossAndGrad(inputsEmbeds, labels) {
      const r = referenceLossAndGrad(w, inputsEmbeds, labels);
      return { loss: r.loss, grad: Float32Array.from(r.gradInputsEmbeds) };
    },
    async release() {},
  };
}
