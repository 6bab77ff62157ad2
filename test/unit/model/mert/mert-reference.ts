/**
 * @file A plain float64 MERT-v1 (HuBERT, group-norm features, stable layer norm) forward pass for tests,
 * written from the PyTorch module definitions, independent of the graph builder (its own weight-norm math,
 * its own name handling). Slow and simple: only for tiny models.
 */

/** Shapes of the reference model. */
export interface RefConfig {
  hidden: number;
  layers: number;
  heads: number;
  ffn: number;
  convDim: number[];
  convKernel: number[];
  convStride: number[];
  convBias: boolean;
  posKernel: number;
  posGroups: number;
  eps: number;
}

/** Weights by HuBERT name (no prefix), float64, with the positional conv still weight-normed (g, v). */
export type RefWeights = Record<string, Float64Array>;

/** erf with |error| < 1.2e-7 (Numerical Recipes erfc, Chebyshev fit). */
function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r : r - 1;
}

function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

function w(ws: RefWeights, name: string): Float64Array {
  const t = ws[name];
  if (!t) throw new Error(`reference: missing ${name}`);
  return t;
}

/** x: [T][C] rows; LayerNorm over C. */
function layerNorm(x: Float64Array[], g: Float64Array, b: Float64Array, eps: number): Float64Array[] {
  return x.map((row) => {
    const n = row.length;
    let m = 0;
    for (const v of row) m += v;
    m /= n;
    let s = 0;
    for (const v of row) s += (v - m) ** 2;
    const inv = 1 / Math.sqrt(s / n + eps);
    return row.map((v, i) => (v - m) * inv * g[i]! + b[i]!);
  });
}

/** torch Linear: W [out][in] row-major. */
function linear(x: Float64Array[], W: Float64Array, b: Float64Array, nIn: number, nOut: number): Float64Array[] {
  return x.map((row) => {
    const out = new Float64Array(nOut);
    for (let o = 0; o < nOut; o++) {
      let acc = b[o]!;
      for (let i = 0; i < nIn; i++) acc += W[o * nIn + i]! * row[i]!;
      out[o] = acc;
    }
    return out;
  });
}

/** Conv1d over channel-major input [C][T]. */
function conv1d(x: Float64Array[], W: Float64Array, bias: Float64Array | undefined, cout: number, k: number, stride: number, pad: number, groups: number): Float64Array[] {
  const cin = x.length;
  const T = x[0]!.length;
  const tOut = Math.floor((T + 2 * pad - k) / stride) + 1;
  const cinG = cin / groups;
  const coutG = cout / groups;
  const out: Float64Array[] = [];
  for (let o = 0; o < cout; o++) {
    const row = new Float64Array(tOut);
    const grp = Math.floor(o / coutG);
    for (let t = 0; t < tOut; t++) {
      let acc = bias ? bias[o]! : 0;
      for (let ci = 0; ci < cinG; ci++) {
        const xr = x[grp * cinG + ci]!;
        for (let j = 0; j < k; j++) {
          const p = t * stride + j - pad;
          if (p >= 0 && p < T) acc += W[(o * cinG + ci) * k + j]! * xr[p]!;
        }
      }
      row[t] = acc;
    }
    out.push(row);
  }
  return out;
}

/** Returns the MusiLingo-order hidden states ([L+1][T][D]) and the conv features ([T][C]). */
export function mertReference(cfg: RefConfig, ws: RefWeights, audio: Float32Array): { conv: Float64Array[]; hidden: Float64Array[][] } {
  // Conv feature encoder.
  let x: Float64Array[] = [Float64Array.from(audio)];
  for (let i = 0; i < cfg.convDim.length; i++) {
    const p = `feature_extractor.conv_layers.${i}`;
    x = conv1d(x, w(ws, `${p}.conv.weight`), cfg.convBias ? w(ws, `${p}.conv.bias`) : undefined, cfg.convDim[i]!, cfg.convKernel[i]!, cfg.convStride[i]!, 0, 1);
    if (i === 0) {
      const g = w(ws, `${p}.layer_norm.weight`);
      const b = w(ws, `${p}.layer_norm.bias`);
      x = x.map((row, c) => {
        let m = 0;
        for (const v of row) m += v;
        m /= row.length;
        let s = 0;
        for (const v of row) s += (v - m) ** 2;
        const inv = 1 / Math.sqrt(s / row.length + 1e-5);
        return row.map((v) => (v - m) * inv * g[c]! + b[c]!);
      });
    }
    x = x.map((row) => row.map(gelu));
  }
  const T = x[0]!.length;
  const C = x.length;
  const conv: Float64Array[] = [];
  for (let t = 0; t < T; t++) conv.push(Float64Array.from({ length: C }, (_, c) => x[c]![t]!));
  // Projection.
  const D = cfg.hidden;
  const proj = linear(layerNorm(conv, w(ws, 'feature_projection.layer_norm.weight'), w(ws, 'feature_projection.layer_norm.bias'), cfg.eps),
    w(ws, 'feature_projection.projection.weight'), w(ws, 'feature_projection.projection.bias'), C, D);
  // Positional conv with weight norm over dim 2 (g [1,1,K]).
  const K = cfg.posKernel;
  const g = w(ws, 'encoder.pos_conv_embed.conv.parametrizations.weight.original0');
  const v = w(ws, 'encoder.pos_conv_embed.conv.parametrizations.weight.original1');
  const inG = D / cfg.posGroups;
  const Wp = new Float64Array(v.length);
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let o = 0; o < D; o++) for (let i = 0; i < inG; i++) s += v[(o * inG + i) * K + k]! ** 2;
    const f = g[k]! / Math.sqrt(s);
    for (let o = 0; o < D; o++) for (let i = 0; i < inG; i++) Wp[(o * inG + i) * K + k] = v[(o * inG + i) * K + k]! * f;
  }
  const chanMajor = Array.from({ length: D }, (_, d) => Float64Array.from({ length: T }, (_, t) => proj[t]![d]!));
  let pos = conv1d(chanMajor, Wp, w(ws, 'encoder.pos_conv_embed.conv.bias'), D, K, 1, Math.floor(K / 2), cfg.posGroups);
  if (K % 2 === 0) pos = pos.map((row) => row.subarray(0, T));
  let h = proj.map((row, t) => row.map((val, d) => val + gelu(pos[d]![t]!)));
  // Pre-LN layers.
  const hidden: Float64Array[][] = [];
  const H = cfg.heads;
  const dh = D / H;
  for (let l = 0; l < cfg.layers; l++) {
    hidden.push(h);
    const p = `encoder.layers.${l}`;
    const a = layerNorm(h, w(ws, `${p}.layer_norm.weight`), w(ws, `${p}.layer_norm.bias`), cfg.eps);
    const q = linear(a, w(ws, `${p}.attention.q_proj.weight`), w(ws, `${p}.attention.q_proj.bias`), D, D);
    const k = linear(a, w(ws, `${p}.attention.k_proj.weight`), w(ws, `${p}.attention.k_proj.bias`), D, D);
    const vv = linear(a, w(ws, `${p}.attention.v_proj.weight`), w(ws, `${p}.attention.v_proj.bias`), D, D);
    const ctx = Array.from({ length: T }, () => new Float64Array(D));
    for (let hd = 0; hd < H; hd++) {
      for (let i = 0; i < T; i++) {
        const scores = new Float64Array(T);
        let mx = -Infinity;
        for (let j = 0; j < T; j++) {
          let s = 0;
          for (let e = 0; e < dh; e++) s += q[i]![hd * dh + e]! * k[j]![hd * dh + e]!;
          scores[j] = s / Math.sqrt(dh);
          mx = Math.max(mx, scores[j]!);
        }
        let z = 0;
        for (let j = 0; j < T; j++) z += (scores[j] = Math.exp(scores[j]! - mx));
        for (let j = 0; j < T; j++) {
          const pj = scores[j]! / z;
          for (let e = 0; e < dh; e++) ctx[i]![hd * dh + e]! += pj * vv[j]![hd * dh + e]!;
        }
      }
    }
    const att = linear(ctx, w(ws, `${p}.attention.out_proj.weight`), w(ws, `${p}.attention.out_proj.bias`), D, D);
    const h1 = h.map((row, t) => row.map((val, d) => val + att[t]![d]!));
    const f = layerNorm(h1, w(ws, `${p}.final_layer_norm.weight`), w(ws, `${p}.final_layer_norm.bias`), cfg.eps);
    const mid = linear(f, w(ws, `${p}.feed_forward.intermediate_dense.weight`), w(ws, `${p}.feed_forward.intermediate_dense.bias`), D, cfg.ffn)
      .map((row) => row.map(gelu));
    const ff = linear(mid, w(ws, `${p}.feed_forward.output_dense.weight`), w(ws, `${p}.feed_forward.output_dense.bias`), cfg.ffn, D);
    h = h1.map((row, t) => row.map((val, d) => val + ff[t]![d]!));
  }
  hidden.push(layerNorm(h, w(ws, 'encoder.layer_norm.weight'), w(ws, 'encoder.layer_norm.bias'), cfg.eps));
  return { conv, hidden };
}

/** Random weights for {@link mertReference} (and, converted to float32, for a checkpoint file). */
export function randomMertWeights(cfg: RefConfig, seed: number): RefWeights {
  let s = seed >>> 0;
  const rnd = (): number => {
    // xorshift32 → roughly normal via the sum of 4 uniforms.
    let acc = 0;
    for (let i = 0; i < 4; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      acc += s / 4294967296;
    }
    return (acc - 2) * Math.sqrt(3);
  };
  const rand = (n: number, scale: number, offset = 0): Float64Array => Float64Array.from({ length: n }, () => offset + scale * rnd());
  // Round to float32 so the checkpoint and the reference hold the same numbers.
  const f32 = (a: Float64Array): Float64Array => Float64Array.from(Float32Array.from(a));
  const ws: RefWeights = {};
  const D = cfg.hidden;
  let cin = 1;
  cfg.convDim.forEach((c, i) => {
    const k = cfg.convKernel[i]!;
    ws[`feature_extractor.conv_layers.${i}.conv.weight`] = f32(rand(c * cin * k, 1 / Math.sqrt(cin * k)));
    if (cfg.convBias) ws[`feature_extractor.conv_layers.${i}.conv.bias`] = f32(rand(c, 0.1));
    cin = c;
  });
  ws['feature_extractor.conv_layers.0.layer_norm.weight'] = f32(rand(cfg.convDim[0]!, 0.1, 1));
  ws['feature_extractor.conv_layers.0.layer_norm.bias'] = f32(rand(cfg.convDim[0]!, 0.1));
  ws['feature_projection.layer_norm.weight'] = f32(rand(cin, 0.1, 1));
  ws['feature_projection.layer_norm.bias'] = f32(rand(cin, 0.1));
  ws['feature_projection.projection.weight'] = f32(rand(D * cin, 0.1));
  ws['feature_projection.projection.bias'] = f32(rand(D, 0.1));
  ws['encoder.pos_conv_embed.conv.parametrizations.weight.original0'] = f32(rand(cfg.posKernel, 0.5));
  ws['encoder.pos_conv_embed.conv.parametrizations.weight.original1'] = f32(rand(D * (D / cfg.posGroups) * cfg.posKernel, 0.1));
  ws['encoder.pos_conv_embed.conv.bias'] = f32(rand(D, 0.1));
  for (let l = 0; l < cfg.layers; l++) {
    const p = `encoder.layers.${l}`;
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      ws[`${p}.attention.${n}.weight`] = f32(rand(D * D, 0.15));
      ws[`${p}.attention.${n}.bias`] = f32(rand(D, 0.1));
    }
    for (const n of ['layer_norm', 'final_layer_norm']) {
      ws[`${p}.${n}.weight`] = f32(rand(D, 0.1, 1));
      ws[`${p}.${n}.bias`] = f32(rand(D, 0.1));
    }
    ws[`${p}.feed_forward.intermediate_dense.weight`] = f32(rand(cfg.ffn * D, 0.1));
    ws[`${p}.feed_forward.intermediate_dense.bias`] = f32(rand(cfg.ffn, 0.1));
    ws[`${p}.feed_forward.output_dense.weight`] = f32(rand(D * cfg.ffn, 0.1));
    ws[`${p}.feed_forward.output_dense.bias`] = f32(rand(D, 0.1));
  }
  ws['encoder.layer_norm.weight'] = f32(rand(D, 0.1, 1));
  ws['encoder.layer_norm.bias'] = f32(rand(D, 0.1));
  return ws;
}

/** Shapes of each weight, for writing a checkpoint. */
export function refWeightShapes(cfg: RefConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  const D = cfg.hidden;
  let cin = 1;
  cfg.convDim.forEach((c, i) => {
    shapes[`feature_extractor.conv_layers.${i}.conv.weight`] = [c, cin, cfg.convKernel[i]!];
    if (cfg.convBias) shapes[`feature_extractor.conv_layers.${i}.conv.bias`] = [c];
    cin = c;
  });
  shapes['feature_extractor.conv_layers.0.layer_norm.weight'] = [cfg.convDim[0]!];
  shapes['feature_extractor.conv_layers.0.layer_norm.bias'] = [cfg.convDim[0]!];
  shapes['feature_projection.layer_norm.weight'] = [cin];
  shapes['feature_projection.layer_norm.bias'] = [cin];
  shapes['feature_projection.projection.weight'] = [D, cin];
  shapes['feature_projection.projection.bias'] = [D];
  shapes['encoder.pos_conv_embed.conv.parametrizations.weight.original0'] = [1, 1, cfg.posKernel];
  shapes['encoder.pos_conv_embed.conv.parametrizations.weight.original1'] = [D, D / cfg.posGroups, cfg.posKernel];
  shapes['encoder.pos_conv_embed.conv.bias'] = [D];
  for (let l = 0; l < cfg.layers; l++) {
    const p = `encoder.layers.${l}`;
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      shapes[`${p}.attention.${n}.weight`] = [D, D];
      shapes[`${p}.attention.${n}.bias`] = [D];
    }
    for (const n of ['layer_norm', 'final_layer_norm']) {
      shapes[`${p}.${n}.weight`] = [D];
      shapes[`${p}.${n}.bias`] = [D];
    }
    shapes[`${p}.feed_forward.intermediate_dense.weight`] = [cfg.ffn, D];
    shapes[`${p}.feed_forward.intermediate_dense.bias`] = [cfg.ffn];
    shapes[`${p}.feed_forward.output_dense.weight`] = [D, cfg.ffn];
    shapes[`${p}.feed_forward.output_dense.bias`] = [D];
  }
  shapes['encoder.layer_norm.weight'] = [D];
  shapes['encoder.layer_norm.bias'] = [D];
  return shapes;
}
