/**
 * @file A float64 TypeScript Llama forward and backward for tiny models: the trainer's independent check.
 * Plain TS, any process. Used by finite-difference tests and as a slow CPU gradient engine for tiny models.
 *
 * [Note: Why a TS reference] onnxruntime-node has no autograd, so the training graph's backward is written by
 * hand. A second, loop-level implementation in float64 (checked by central finite differences on random
 * configs) lets the tests tell a wrong graph from float32 rounding.
 */
import { mulberry32 } from '../../model/random';


/** The shape of a Llama decoder (HF LlamaConfig fields the math needs). */
export interface LlamaDims {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
}

/** One decoder layer's weights, PyTorch layout ([out, in] row-major for Linear). */
export interface LlamaLayerWeights<T extends ArrayLike<number> = Float64Array> {
  readonly inputNorm: T;
  readonly q: T;
  readonly k: T;
  readonly v: T;
  readonly o: T;
  readonly postNorm: T;
  readonly gate: T;
  readonly up: T;
  readonly down: T;
}

/** All weights of a Llama decoder. `embed` is [vocab, hidden]; `lmHead` is [vocab, hidden]. */
export interface LlamaWeights<T extends ArrayLike<number> = Float64Array> {
  readonly dims: LlamaDims;
  readonly embed: T;
  readonly layers: readonly LlamaLayerWeights<T>[];
  readonly norm: T;
  readonly lmHead: T;
}

/** Loss and d(loss)/d(inputs_embeds) for one sequence. */
export interface LossAndGrad {
  readonly loss: number;
  /** [S, hidden] */
  readonly gradInputsEmbeds: Float64Array;
  /** Number of positions that entered the mean. */
  readonly count: number;
}

/** y[m,n] = x[m,k] · W[n,k]ᵀ */
function linear(x: Float64Array, w: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const y = new Float64Array(m * n);
  for (let r = 0; r < m; r++) {
    const xr = r * k;
    for (let c = 0; c < n; c++) {
      const wc = c * k;
      let s = 0;
      for (let i = 0; i < k; i++) s += (x[xr + i] ?? 0) * (w[wc + i] ?? 0);
      y[r * n + c] = s;
    }
  }
  return y;
}

/** dx[m,k] = dy[m,n] · W[n,k] */
function linearBack(dy: Float64Array, w: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const dx = new Float64Array(m * k);
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      const g = dy[r * n + c] ?? 0;
      if (g === 0) continue;
      const wc = c * k;
      const xr = r * k;
      for (let i = 0; i < k; i++) dx[xr + i] = (dx[xr + i] ?? 0) + g * (w[wc + i] ?? 0);
    }
  }
  return dx;
}

interface NormCache {
  readonly x: Float64Array;
  readonly inv: Float64Array;
}

function rmsNorm(x: Float64Array, w: ArrayLike<number>, s: number, h: number, eps: number): { y: Float64Array; cache: NormCache } {
  const y = new Float64Array(s * h);
  const inv = new Float64Array(s);
  for (let t = 0; t < s; t++) {
    let ms = 0;
    for (let i = 0; i < h; i++) ms += (x[t * h + i] ?? 0) ** 2;
    const r = 1 / Math.sqrt(ms / h + eps);
    inv[t] = r;
    for (let i = 0; i < h; i++) y[t * h + i] = (x[t * h + i] ?? 0) * r * (w[i] ?? 0);
  }
  return { y, cache: { x, inv } };
}

/** dx_i = r·g_i − r³·x_i·(Σ_j g_j x_j)/H with g = dy ⊙ w. */
function rmsNormBack(dy: Float64Array, w: ArrayLike<number>, c: NormCache, s: number, h: number): Float64Array {
  const dx = new Float64Array(s * h);
  for (let t = 0; t < s; t++) {
    const r = c.inv[t] ?? 0;
    let dot = 0;
    for (let i = 0; i < h; i++) dot += (dy[t * h + i] ?? 0) * (w[i] ?? 0) * (c.x[t * h + i] ?? 0);
    const k = (r * r * r * dot) / h;
    for (let i = 0; i < h; i++) dx[t * h + i] = r * (dy[t * h + i] ?? 0) * (w[i] ?? 0) - k * (c.x[t * h + i] ?? 0);
  }
  return dx;
}

/** cos/sin tables [S, headDim/2] for HF's default RoPE (rotate_half layout). */
function ropeTables(s: number, d: number, theta: number): { cos: Float64Array; sin: Float64Array } {
  const half = d / 2;
  const cos = new Float64Array(s * half);
  const sin = new Float64Array(s * half);
  for (let i = 0; i < half; i++) {
    // HF computes inv_freq in float32: 1 / theta^(arange(0, d, 2)/d).
    const invFreq = Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / d)));
    for (let t = 0; t < s; t++) {
      const a = Math.fround(t * invFreq);
      cos[t * half + i] = Math.cos(a);
      sin[t * half + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/** Rotates (sign = 1) or applies the inverse/transpose rotation (sign = −1) in place; x is [S, heads·d]. */
function rope(x: Float64Array, s: number, heads: number, d: number, tab: { cos: Float64Array; sin: Float64Array }, sign: 1 | -1): void {
  const half = d / 2;
  for (let t = 0; t < s; t++) {
    for (let hh = 0; hh < heads; hh++) {
      const base = t * heads * d + hh * d;
      for (let i = 0; i < half; i++) {
        const c = tab.cos[t * half + i] ?? 0;
        const sn = (tab.sin[t * half + i] ?? 0) * sign;
        const a = x[base + i] ?? 0;
        const b = x[base + i + half] ?? 0;
        x[base + i] = a * c - b * sn;
        x[base + i + half] = b * c + a * sn;
      }
    }
  }
}

interface LayerCache {
  readonly n1: NormCache;
  readonly a: Float64Array;
  readonly q: Float64Array;
  readonly k: Float64Array;
  readonly v: Float64Array;
  readonly p: Float64Array;
  readonly attn: Float64Array;
  readonly n2: NormCache;
  readonly b: Float64Array;
  readonly gate: Float64Array;
  readonly up: Float64Array;
  readonly m: Float64Array;
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/**
 * Mean cross-entropy over the label positions (HF's shift-by-one: logits at t predict labels[t+1]; −100 is
 * ignored) and its gradient with respect to `inputsEmbeds` [S, hidden], computed in float64.
 */
export function referenceLossAndGrad(
  w: LlamaWeights<ArrayLike<number>>,
  inputsEmbeds: ArrayLike<number>,
  labels: ArrayLike<number>,
): LossAndGrad {
  const dm = w.dims;
  const H = dm.hiddenSize;
  const I = dm.intermediateSize;
  const nH = dm.numHeads;
  const nKV = dm.numKvHeads;
  const d = dm.headDim;
  const V = dm.vocabSize;
  const S = labels.length;
  if (inputsEmbeds.length !== S * H) throw new Error(`inputs_embeds has ${inputsEmbeds.length} values; expected ${S}×${H}`);
  const rep = nH / nKV;
  const scale = 1 / Math.sqrt(d);
  const tab = ropeTables(S, d, dm.ropeTheta);
  let x = Float64Array.from(inputsEmbeds);
  const caches: LayerCache[] = [];
  for (const L of w.layers) {
    const { y: a, cache: n1 } = rmsNorm(x, L.inputNorm, S, H, dm.rmsNormEps);
    const q = linear(a, L.q, S, H, nH * d);
    const k = linear(a, L.k, S, H, nKV * d);
    const v = linear(a, L.v, S, H, nKV * d);
    rope(q, S, nH, d, tab, 1);
    rope(k, S, nKV, d, tab, 1);
    const p = new Float64Array(nH * S * S);
    const attn = new Float64Array(S * nH * d);
    for (let hh = 0; hh < nH; hh++) {
      const g = Math.floor(hh / rep);
      for (let t = 0; t < S; t++) {
        let mx = -Infinity;
        const row = hh * S * S + t * S;
        for (let u = 0; u <= t; u++) {
          let s = 0;
          for (let i = 0; i < d; i++) s += (q[t * nH * d + hh * d + i] ?? 0) * (k[u * nKV * d + g * d + i] ?? 0);
          s *= scale;
          p[row + u] = s;
          if (s > mx) mx = s;
        }
        let z = 0;
        for (let u = 0; u <= t; u++) {
          const e = Math.exp((p[row + u] ?? 0) - mx);
          p[row + u] = e;
          z += e;
        }
        for (let u = 0; u <= t; u++) p[row + u] = (p[row + u] ?? 0) / z;
        for (let i = 0; i < d; i++) {
          let s = 0;
          for (let u = 0; u <= t; u++) s += (p[row + u] ?? 0) * (v[u * nKV * d + g * d + i] ?? 0);
          attn[t * nH * d + hh * d + i] = s;
        }
      }
    }
    const o = linear(attn, L.o, S, nH * d, H);
    const h = new Float64Array(S * H);
    for (let i = 0; i < S * H; i++) h[i] = (x[i] ?? 0) + (o[i] ?? 0);
    const { y: b, cache: n2 } = rmsNorm(h, L.postNorm, S, H, dm.rmsNormEps);
    const gate = linear(b, L.gate, S, H, I);
    const up = linear(b, L.up, S, H, I);
    const m = new Float64Array(S * I);
    for (let i = 0; i < S * I; i++) {
      const z = gate[i] ?? 0;
      m[i] = z * sigmoid(z) * (up[i] ?? 0);
    }
    const mlp = linear(m, L.down, S, I, H);
    const xn = new Float64Array(S * H);
    for (let i = 0; i < S * H; i++) xn[i] = (h[i] ?? 0) + (mlp[i] ?? 0);
    caches.push({ n1, a, q, k, v, p, attn, n2, b, gate, up, m });
    x = xn;
  }
  const { y: f, cache: nf } = rmsNorm(x, w.norm, S, H, dm.rmsNormEps);
  const logits = linear(f, w.lmHead, S, H, V);
  // Loss over shifted labels.
  const dlogits = new Float64Array(S * V);
  let count = 0;
  for (let t = 0; t + 1 < S; t++) if ((labels[t + 1] ?? -100) !== -100) count++;
  let loss = 0;
  if (count > 0) {
    for (let t = 0; t + 1 < S; t++) {
      const target = labels[t + 1] ?? -100;
      if (target === -100) continue;
      if (target < 0 || target >= V) throw new Error(`label ${target} at position ${t + 1} is outside the vocabulary (0…${V - 1})`);
      let mx = -Infinity;
      for (let c = 0; c < V; c++) mx = Math.max(mx, logits[t * V + c] ?? 0);
      let z = 0;
      for (let c = 0; c < V; c++) z += Math.exp((logits[t * V + c] ?? 0) - mx);
      const lse = mx + Math.log(z);
      loss += lse - (logits[t * V + target] ?? 0);
      for (let c = 0; c < V; c++) dlogits[t * V + c] = Math.exp((logits[t * V + c] ?? 0) - lse) / count;
      dlogits[t * V + target] = (dlogits[t * V + target] ?? 0) - 1 / count;
    }
    loss /= count;
  }
  // Backward.
  let dx = rmsNormBack(linearBack(dlogits, w.lmHead, S, H, V), w.norm, nf, S, H);
  for (let l = w.layers.length - 1; l >= 0; l--) {
    const L = w.layers[l];
    const c = caches[l];
    if (!L || !c) throw new Error('internal: layer cache missing');
    // MLP branch: x_next = h + down(silu(gate(b)) * up(b)), b = norm(h).
    const dmm = linearBack(dx, L.down, S, I, H);
    const dgate = new Float64Array(S * I);
    const dup = new Float64Array(S * I);
    for (let i = 0; i < S * I; i++) {
      const z = c.gate[i] ?? 0;
      const sg = sigmoid(z);
      dup[i] = (dmm[i] ?? 0) * z * sg;
      dgate[i] = (dmm[i] ?? 0) * (c.up[i] ?? 0) * sg * (1 + z * (1 - sg));
    }
    const db = linearBack(dgate, L.gate, S, H, I);
    const db2 = linearBack(dup, L.up, S, H, I);
    for (let i = 0; i < S * H; i++) db[i] = (db[i] ?? 0) + (db2[i] ?? 0);
    const dh = rmsNormBack(db, L.postNorm, c.n2, S, H);
    for (let i = 0; i < S * H; i++) dh[i] = (dh[i] ?? 0) + (dx[i] ?? 0);
    // Attention branch: h = x + o(attn(norm(x))).
    const dattn = linearBack(dh, L.o, S, nH * d, H);
    const dq = new Float64Array(S * nH * d);
    const dk = new Float64Array(S * nKV * d);
    const dv = new Float64Array(S * nKV * d);
    for (let hh = 0; hh < nH; hh++) {
      const g = Math.floor(hh / rep);
      for (let t = 0; t < S; t++) {
        const row = hh * S * S + t * S;
        const dp = new Float64Array(t + 1);
        let dot = 0;
        for (let u = 0; u <= t; u++) {
          let s = 0;
          for (let i = 0; i < d; i++) {
            const go = dattn[t * nH * d + hh * d + i] ?? 0;
            s += go * (c.v[u * nKV * d + g * d + i] ?? 0);
            dv[u * nKV * d + g * d + i] = (dv[u * nKV * d + g * d + i] ?? 0) + (c.p[row + u] ?? 0) * go;
          }
          dp[u] = s;
          dot += s * (c.p[row + u] ?? 0);
        }
        for (let u = 0; u <= t; u++) {
          const ds = (c.p[row + u] ?? 0) * ((dp[u] ?? 0) - dot) * scale;
          if (ds === 0) continue;
          for (let i = 0; i < d; i++) {
            dq[t * nH * d + hh * d + i] = (dq[t * nH * d + hh * d + i] ?? 0) + ds * (c.k[u * nKV * d + g * d + i] ?? 0);
            dk[u * nKV * d + g * d + i] = (dk[u * nKV * d + g * d + i] ?? 0) + ds * (c.q[t * nH * d + hh * d + i] ?? 0);
          }
        }
      }
    }
    rope(dq, S, nH, d, tab, -1);
    rope(dk, S, nKV, d, tab, -1);
    const da = linearBack(dq, L.q, S, H, nH * d);
    const da2 = linearBack(dk, L.k, S, H, nKV * d);
    const da3 = linearBack(dv, L.v, S, H, nKV * d);
    for (let i = 0; i < S * H; i++) da[i] = (da[i] ?? 0) + (da2[i] ?? 0) + (da3[i] ?? 0);
    const dxn = rmsNormBack(da, L.inputNorm, c.n1, S, H);
    for (let i = 0; i < S * H; i++) dxn[i] = (dxn[i] ?? 0) + (dh[i] ?? 0);
    dx = dxn;
  }
  return { loss, gradInputsEmbeds: dx, count };
}

/** Loss only (same convention as {@link referenceLossAndGrad}); for finite differences. */
export function referenceLoss(w: LlamaWeights<ArrayLike<number>>, inputsEmbeds: ArrayLike<number>, labels: ArrayLike<number>): number {
  return referenceLossAndGrad(w, inputsEmbeds, labels).loss;
}


/** Random tiny Llama weights (normal·std, norms 1 + 0.1·normal), like the fixture generator; for tests and benches. */
export function randomLlamaWeights(dims: LlamaDims, seed: number, std = 0.08): LlamaWeights<Float32Array> {
  const rand = mulberry32(seed);
  const normal = (): number => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
  const mat = (n: number, s = std): Float32Array => Float32Array.from({ length: n }, () => normal() * s);
  const norm = (n: number): Float32Array => Float32Array.from({ length: n }, () => 1 + 0.1 * normal());
  const { hiddenSize: H, intermediateSize: I, numHeads: nH, numKvHeads: nKV, headDim: d, vocabSize: V } = dims;
  const layers: LlamaLayerWeights<Float32Array>[] = [];
  for (let l = 0; l < dims.numLayers; l++) {
    layers.push({
      inputNorm: norm(H),
      q: mat(nH * d * H),
      k: mat(nKV * d * H),
      v: mat(nKV * d * H),
      o: mat(H * nH * d),
      postNorm: norm(H),
      gate: mat(I * H),
      up: mat(I * H),
      down: mat(H * I),
    });
  }
  return { dims, embed: mat(V * H, 1), layers, norm: norm(H), lmHead: mat(V * H) };
}
