/**
 * @file AdamW with PyTorch's semantics (torch.optim.AdamW, decoupled weight decay). Plain TS, any process.
 */

/** Hyper-parameters of {@link adamwStep}; the defaults are PyTorch's. */
export interface AdamWOptions {
  readonly lr: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Decoupled weight decay: p ← p·(1 − lr·weightDecay) before the Adam update. */
  readonly weightDecay?: number;
}

/** Per-parameter optimizer state (PyTorch's exp_avg and exp_avg_sq), float32 like PyTorch's. */
export interface AdamWState {
  readonly expAvg: Float32Array;
  readonly expAvgSq: Float32Array;
  /** Number of updates already applied (PyTorch's `step`). */
  step: number;
}

/** Fresh zero state for a parameter of `size` values. */
export function createAdamWState(size: number): AdamWState {
  return { expAvg: new Float32Array(size), expAvgSq: new Float32Array(size), step: 0 };
}

/**
 * One AdamW update of `param` in place, exactly as torch.optim.AdamW (amsgrad off, maximize off):
 * decay, moment updates, bias corrections, `p -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps)`.
 * Arithmetic runs in float64 and is stored in float32.
 */
export function adamwStep(param: Float32Array, grad: ArrayLike<number>, state: AdamWState, opts: AdamWOptions): void {
  const n = param.length;
  if (grad.length !== n || state.expAvg.length !== n || state.expAvgSq.length !== n) {
    throw new Error(`AdamW: parameter has ${n} values but the gradient has ${grad.length} and the state ${state.expAvg.length}`);
  }
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  const eps = opts.eps ?? 1e-8;
  const wd = opts.weightDecay ?? 0.01;
  const lr = opts.lr;
  state.step += 1;
  const t = state.step;
  const bc1 = 1 - b1 ** t;
  const bc2Sqrt = Math.sqrt(1 - b2 ** t);
  const stepSize = lr / bc1;
  const decay = 1 - lr * wd;
  const m = state.expAvg;
  const v = state.expAvgSq;
  for (let i = 0; i < n; i++) {
    const g = grad[i] ?? 0;
    let p = param[i] ?? 0;
    if (wd !== 0) p *= decay;
    const mi = b1 * (m[i] ?? 0) + (1 - b1) * g;
    const vi = b2 * (v[i] ?? 0) + (1 - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const denom = Math.sqrt(Math.fround(vi)) / bc2Sqrt + eps;
    param[i] = p - (stepSize * Math.fround(mi)) / denom;
  }
}
