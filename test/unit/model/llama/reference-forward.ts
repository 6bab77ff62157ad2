/**
 * @file A plain float64 Llama forward pass (test helper): an independent check of the ONNX decoder on
 * random configs that have no golden. Written from the HF modeling_llama equations, not from the graph.
 */

/** Llama weights in HF layout, float64. */
export interface RefWeights {
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  inter: number;
  eps: number;
  theta: number;
  layers: {
    inNorm: Float64Array; q: Float64Array; k: Float64Array; v: Float64Array; o: Float64Array;
    postNorm: Float64Array; gate: Float64Array; up: Float64Array; down: Float64Array;
  }[];
  norm: Float64Array;
  lmHead: Float64Array;
  vocab: number;
}

function matvec(w: Float64Array, x: Float64Array, n: number, k: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += w[i * k + j]! * x[j]!;
    out[i] = s;
  }
  return out;
}

function rms(x: Float64Array, w: Float64Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const inv = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * inv * w[i]!);
}

function rope(x: Float64Array, pos: number, hd: number, theta: number): Float64Array {
  const out = new Float64Array(hd);
  const half = hd / 2;
  for (let i = 0; i < half; i++) {
    const a = pos / theta ** ((2 * i) / hd);
    const c = Math.cos(a);
    const s = Math.sin(a);
    out[i] = x[i]! * c - x[i + half]! * s;
    out[i + half] = x[i + half]! * c + x[i]! * s;
  }
  return out;
}

/** Logits [S, vocab] of one unpadded sequence of embeddings [S, hidden]. */
export function referenceForward(w: RefWeights, embeds: Float64Array[]): Float64Array[] {
  const { hidden: H, heads: nh, kvHeads: kvh, headDim: hd } = w;
  const S = embeds.length;
  let xs: Float64Array[] = embeds.map((e) => Float64Array.from(e));
  for (const L of w.layers) {
    const ks: Float64Array[][] = [];
    const vs: Float64Array[][] = [];
    const qs: Float64Array[][] = [];
    for (let t = 0; t < S; t++) {
      const n = rms(xs[t]!, L.inNorm, w.eps);
      const q = matvec(L.q, n, nh * hd, H);
      const k = matvec(L.k, n, kvh * hd, H);
      const v = matvec(L.v, n, kvh * hd, H);
      qs.push(Array.from({ length: nh }, (_, h) => rope(q.subarray(h * hd, (h + 1) * hd), t, hd, w.theta)));
      ks.push(Array.from({ length: kvh }, (_, h) => rope(k.subarray(h * hd, (h + 1) * hd), t, hd, w.theta)));
      vs.push(Array.from({ length: kvh }, (_, h) => v.slice(h * hd, (h + 1) * hd)));
    }
    const next: Float64Array[] = [];
    for (let t = 0; t < S; t++) {
      const ctx = new Float64Array(nh * hd);
      for (let h = 0; h < nh; h++) {
        const kvIdx = Math.floor(h / (nh / kvh));
        const scores = new Float64Array(t + 1);
        for (let j = 0; j <= t; j++) {
          let s = 0;
          for (let d = 0; d < hd; d++) s += qs[t]![h]![d]! * ks[j]![kvIdx]![d]!;
          scores[j] = s / Math.sqrt(hd);
        }
        const m = Math.max(...scores);
        let z = 0;
        for (let j = 0; j <= t; j++) z += (scores[j] = Math.exp(scores[j]! - m));
        for (let j = 0; j <= t; j++) for (let d = 0; d < hd; d++) ctx[h * hd + d]! += (scores[j]! / z) * vs[j]![kvIdx]![d]!;
      }
      const o = matvec(L.o, ctx, H, nh * hd);
      const h1 = xs[t]!.map((x, i) => x + o[i]!);
      const n2 = rms(h1, L.postNorm, w.eps);
      const g = matvec(L.gate, n2, w.inter, H);
      const u = matvec(L.up, n2, w.inter, H);
      const a = g.map((x, i) => (x / (1 + Math.exp(-x))) * u[i]!);
      const d = matvec(L.down, a, H, w.inter);
      next.push(h1.map((x, i) => x + d[i]!));
    }
    xs = next;
  }
  return xs.map((x) => matvec(w.lmHead, rms(x, w.norm, w.eps), w.vocab, H));
}
