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

/** One sequence of a batch. */
export interface BatchItem {
  /** [S_b, hidden] */
  readonly inputsEmbeds: Float32Array;
  readonly labels: readonly number[];
}

/** Loss and per-sequence gradients of a batch. */
export interface BatchResult {
  /** Mean cross-entropy over every labelled position of the batch (HF's batch loss). */
  readonly loss: number;
  /** d(loss)/d(inputs_embeds) per sequence, [S_b, hidden] each. */
  readonly grads: Float32Array[];
}

/** Computes loss and gradient for one sequence or a batch; see [Note: Training graph]. */
export interface GradientEngine {
  readonly hidden: number;
  /** Human-readable description for logs ("onnxruntime cpu float32 dense"). */
  readonly label: string;
  lossAndGrad(inputsEmbeds: Float32Array, labels: readonly number[]): Promise<StepResult>;
  /** A batch, right-padded to its longest sequence in one graph run. */
  lossAndGradBatch(items: readonly BatchItem[]): Promise<BatchResult>;
  release(): Promise<void>;
}

/** Labelled positions of a sequence under the shift-by-one convention. */
function countLabels(labels: readonly number[]): number {
  let n = 0;
  for (let t = 1; t < labels.length; t++) if (labels[t] !== -100) n++;
  return n;
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
 *
 * [Note: No memory pattern in training sessions]
 * ORT's memory pattern records the first run's allocations and, from the second run of the same shapes on,
 * places every intermediate in one pre-planned block. For 'int4-dequant' that block kept the transient dense
 * weights side by side: +430 MiB from the second step on (mid-size bench model), against +22 MiB without it.
 * Sequence lengths change every step anyway, so the pattern would rarely be reused; it is off.
 */
export async function createOrtEngine(model: Uint8Array | string, hidden: number, opts: OrtEngineOptions = {}): Promise<GradientEngine> {
  const eps = opts.executionProviders ?? ['cpu'];
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: [...eps],
    intraOpNumThreads: opts.threads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
    // See [Note: No memory pattern in training sessions].
    enableMemPattern: false,
    logSeverityLevel: 3,
    // See [Note: No constant folding in training graphs].
    extra: { 'optimization.disable_specified_optimizers': 'ConstantFolding' },
  };
  const session =
    typeof model === 'string' ? await ort.InferenceSession.create(model, sessionOptions) : await ort.InferenceSession.create(model, sessionOptions);
  async function runBatch(items: readonly BatchItem[]): Promise<BatchResult> {
    const B = items.length;
    if (B === 0) throw new Error('empty batch');
    const S = Math.max(...items.map((it) => it.labels.length));
    const x = new Float32Array(B * S * hidden);
    const labels = new BigInt64Array(B * S).fill(-100n);
    items.forEach((it, b) => {
      const s = it.labels.length;
      if (it.inputsEmbeds.length !== s * hidden) throw new Error(`inputs_embeds of sequence ${b} has ${it.inputsEmbeds.length} values; expected ${s}×${hidden}`);
      x.set(it.inputsEmbeds, b * S * hidden);
      it.labels.forEach((v, i) => (labels[b * S + i] = BigInt(v)));
    });
    const out = await session.run({
      [TRAIN_GRAPH_IO.inputsEmbeds]: new ort.Tensor('float32', x, [B, S, hidden]),
      [TRAIN_GRAPH_IO.labels]: new ort.Tensor('int64', labels, [B, S]),
    });
    const loss = out[TRAIN_GRAPH_IO.loss];
    const grad = out[TRAIN_GRAPH_IO.gradInputsEmbeds];
    if (!loss || !grad) throw new Error('training graph returned no loss or gradient');
    const g = grad.data as Float32Array;
    const result = {
      loss: (loss.data as Float32Array)[0] ?? NaN,
      grads: items.map((it, b) => g.slice(b * S * hidden, (b * S + it.labels.length) * hidden)),
    };
    loss.dispose();
    grad.dispose();
    return result;
  }
  return {
    hidden,
    label: opts.label ?? `onnxruntime ${eps.join('/')}`,
    async lossAndGrad(inputsEmbeds, labels) {
      const r = await runBatch([{ inputsEmbeds, labels }]);
      return { loss: r.loss, grad: r.grads[0]! };
    },
    lossAndGradBatch: runBatch,
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
    async lossAndGradBatch(items) {
      // The batch mean over all labelled positions = per-sequence means weighted by their label counts.
      const counts = items.map((it) => countLabels(it.labels));
      const total = Math.max(1, counts.reduce((a, b) => a + b, 0));
      let loss = 0;
      const grads = items.map((it, b) => {
        const r = referenceLossAndGrad(w, it.inputsEmbeds, it.labels);
        const f = (counts[b] ?? 0) / total;
        loss += r.loss * f;
        return Float32Array.from(r.gradInputsEmbeds, (v) => v * f);
      });
      return { loss, grads };
    },
    async release() {},
  };
}
