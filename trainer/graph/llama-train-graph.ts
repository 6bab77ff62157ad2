/**
 * @file The Llama training graph: forward with explicit attention and a hand-written backward to the input
 * embeddings, as one ONNX graph built in TS (any Node process; run by the trainer utility process).
 *
 * [Note: Training graph]
 * onnxruntime-node has no autograd, and only the adapter learns, so the graph computes exactly two things:
 * the mean cross-entropy over answer positions and d(loss)/d(inputs_embeds). Frozen weights are initializers;
 * nothing trainable is inside (the adapter is applied in TS, see [Note: Adapter gradient]).
 * - Inputs: `inputs_embeds` float32 [B, S, H], `labels` int64 [B, S] in HF's convention (logits at t predict
 *   labels[t+1]; −100 = ignored). The shift, the mask and the mean (over every labelled position of the batch,
 *   as HF's loss) happen inside the graph. Shorter sequences are right-padded with labels −100: causal
 *   attention never lets a real position see a pad, so no attention mask is needed.
 * - Outputs: `loss` float32 [] and `grad_inputs_embeds` float32 [B, S, H].
 * - Forward: RMSNorm (ReduceMean, Sqrt, Reciprocal), q/k/v via Gemm(transB) on the [out, in] weights,
 *   RoPE (rotate_half form) from Range(S), causal mask via Where, Softmax, P·V, SiLU-gated MLP, residuals.
 * - Backward, layer by layer in reverse: products with W use MatMul(dy, W) on the same [out, in] weight, so a
 *   dense graph holds one copy of every weight. RMSNorm: dx = r·(dy⊙w) − x·r³·Σ(dy⊙w⊙x)/H. Softmax:
 *   dS = P⊙(dP − Σ dP⊙P). RoPE's inverse (its transpose): dx = dy⊙cos − rotate_half(dy⊙sin). GQA: the
 *   expanded K/V gradients are summed over each group of query heads.
 * - float16: matmuls in float16; RMSNorm, Softmax, the loss and their backward run in float32 (HF upcasts the
 *   same places), and the logits' gradient is multiplied by `lossScale` before the float16 backward and divided
 *   out at the end, so small gradients do not flush to zero.
 * - int4 frozen weights: the forward uses com.microsoft.MatMulNBits. Backward products need W rather than Wᵀ:
 *   'int4-transposed' stores a second int4 copy quantized from Wᵀ (two int4 copies, no dequantized weights at
 *   run time); 'int4-dequant' rebuilds each W in the activation dtype from the forward's own blocks with plain
 *   ops (Cast, Floor, Sub, Mul; no bitwise ops, which some EPs lack) right before its MatMul (one int4 copy,
 *   transient dense weights). bench/train-step.ts measures both.
 */
import { GraphBuilder, ONNX_DTYPE, type AttrValue, type OnnxDtype } from '../../model/onnx/graph-builder';
import type { LlamaDims, LlamaLayerWeights } from '../reference/llama-reference';
import { quantizeInt4, transpose2d } from '../../model/llama/quantize';

/** How frozen weights are stored. */
export type WeightStorage = 'dense' | 'int4-transposed' | 'int4-dequant';

/** All weight storages, for messages and benches. */
export const WEIGHT_STORAGES: readonly WeightStorage[] = ['dense', 'int4-transposed', 'int4-dequant'];

/** Streams the frozen decoder weights (float32 values, PyTorch layout), one layer at a time. */
export interface LlamaWeightSource {
  readonly dims: LlamaDims;
  layer(index: number): Promise<LlamaLayerWeights<Float32Array>>;
  finalNorm(): Promise<Float32Array>;
  lmHead(): Promise<Float32Array>;
}

/** Options of {@link buildLlamaTrainingGraph}. */
export interface TrainingGraphOptions {
  /** Activation and dense-weight dtype (default float32). */
  readonly dtype?: 'float32' | 'float16';
  /** Frozen weight storage (default dense). */
  readonly weights?: WeightStorage;
  /** float16 only: factor on the logits' gradient during the float16 backward (default 1024). */
  readonly lossScale?: number;
  /** int4-dequant: most weights dequantized at once (default 2^22: 8 MiB in float16); larger W go in row chunks. */
  readonly dequantChunkElements?: number;
  /** Stream initializers to `outPath` + '.data' (large models). Without it everything stays in memory. */
  readonly outPath?: string;
}

/** Input and output names of the training graph. */
export const TRAIN_GRAPH_IO = {
  inputsEmbeds: 'inputs_embeds',
  labels: 'labels',
  loss: 'loss',
  gradInputsEmbeds: 'grad_inputs_embeds',
} as const;

interface Linear {
  forward(x: string): string;
  backward(dy: string): string;
}

/** The HF default RoPE inverse frequencies in float32 (1 / θ^(2i/d)). */
function invFreqs(d: number, theta: number): Float32Array {
  const half = d / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) out[i] = 1 / Math.fround(theta ** Math.fround((2 * i) / d));
  return out;
}

/** A GraphBuilder with the few helpers the training graph needs. */
class TrainGraph {
  readonly act: 'float32' | 'float16';
  constructor(readonly g: GraphBuilder, act: 'float32' | 'float16') {
    this.act = act;
  }
  op(t: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    return this.g.op(t, inputs, attrs);
  }
  i64(v: readonly number[]): string {
    return this.g.constI64(v);
  }
  f32(v: number): string {
    return this.g.constF32([v]);
  }
  actConst(v: number): string {
    return this.g.constFloat(this.act, [v]);
  }
  cast(x: string, to: OnnxDtype): string {
    return this.op('Cast', [x], { to: ONNX_DTYPE[to] });
  }
  toF32(x: string): string {
    return this.act === 'float32' ? x : this.cast(x, 'float32');
  }
  toAct(x: string): string {
    return this.act === 'float32' ? x : this.cast(x, this.act);
  }
  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }
  sub(a: string, b: string): string {
    return this.op('Sub', [a, b]);
  }
  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }
  sumLast(x: string, keep: 0 | 1): string {
    return this.op('ReduceSum', [x, this.i64([-1])], { keepdims: keep });
  }
  transpose(x: string, perm: number[]): string {
    return this.op('Transpose', [x], { perm });
  }
  reshape(x: string, shape: number[]): string {
    return this.op('Reshape', [x, this.i64(shape)]);
  }
  slice(x: string, start: number, end: number, axis: number): string {
    return this.op('Slice', [x, this.i64([start]), this.i64([end]), this.i64([axis])]);
  }
}

interface NormCache {
  readonly x32: string;
  readonly r: string;
  readonly w32: string;
}

/** y = x · rsqrt(mean(x²) + eps) · w, in float32; returns y in the activation dtype and the cache. */
function rmsNorm(t: TrainGraph, x: string, w: Float32Array, eps: number): { y: string; cache: NormCache } {
  const x32 = t.toF32(x);
  const w32 = t.g.constF32(w);
  const ms = t.op('ReduceMean', [t.mul(x32, x32), t.i64([-1])], { keepdims: 1 });
  const r = t.op('Reciprocal', [t.op('Sqrt', [t.add(ms, t.f32(eps))])]);
  const y = t.mul(t.mul(x32, r), w32);
  return { y: t.toAct(y), cache: { x32, r, w32 } };
}

/** dx = r·(dy⊙w) − x·r³·Σ(dy⊙w⊙x)/H, float32 inside. */
function rmsNormBack(t: TrainGraph, dy: string, c: NormCache, hidden: number): string {
  const g = t.mul(t.toF32(dy), c.w32);
  const dot = t.sumLast(t.mul(g, c.x32), 1);
  const r3 = t.mul(t.mul(c.r, c.r), c.r);
  const k = t.mul(t.mul(r3, dot), t.f32(1 / hidden));
  return t.toAct(t.sub(t.mul(g, c.r), t.mul(c.x32, k)));
}

/** rotate_half over the last axis of size d: [x1, x2] → [−x2, x1]. */
function rotateHalf(t: TrainGraph, x: string, d: number): string {
  const half = d / 2;
  const x1 = t.slice(x, 0, half, -1);
  const x2 = t.slice(x, half, d, -1);
  return t.op('Concat', [t.op('Neg', [x2]), x1], { axis: -1 });
}

function makeLinear(t: TrainGraph, name: string, w: Float32Array, out: number, inp: number, storage: WeightStorage, dequantChunk: number): Linear {
  const g = t.g;
  if (storage === 'dense') {
    const W = t.act === 'float16' ? g.initF16(name, w, [out, inp]) : g.initF32(name, w, [out, inp]);
    return {
      forward: (x) => t.op('Gemm', [x, W], { transB: 1 }),
      backward: (dy) => t.op('MatMul', [dy, W]),
    };
  }
  const addQ = (suffix: string, m: Float32Array, n: number, k: number): { b: string; s: string; kb: number } => {
    const q = quantizeInt4(m, n, k);
    const kb = q.blocks;
    const b = g.initializer(`${name}${suffix}.qweight`, 'uint8', [n, kb, 16], q.packed);
    const s = t.act === 'float16' ? g.initF16(`${name}${suffix}.scales`, q.scales, [n * kb]) : g.initF32(`${name}${suffix}.scales`, q.scales, [n * kb]);
    return { b, s, kb };
  };
  const nbits = (x: string, b: string, s: string, k: number, n: number): string =>
    g.msOp('MatMulNBits', [x, b, s], { K: k, N: n, bits: 4, block_size: 32 });
  const fwd = addQ('', w, out, inp);
  const forward = (x: string): string => nbits(x, fwd.b, fwd.s, inp, out);
  if (storage === 'int4-transposed') {
    const bwd = addQ('.T', transpose2d(w, out, inp), inp, out);
    return { forward, backward: (dy) => nbits(dy, bwd.b, bwd.s, out, inp) };
  }
  // int4-dequant: rebuild W [out, inp] from the forward's blocks, `rows` output rows at a time, so the dense
  // transient of a large W (lm_head) stays small: dy·W = Σ_c dy[:, c]·W[c, :]. Byte v = lo + 16·hi.
  const rows = Math.max(1, Math.min(out, Math.floor(dequantChunk / inp)));
  const scales2d = t.reshape(fwd.s, [out, fwd.kb, 1]);
  const dequantRows = (r0: number, r1: number, dyc: string): string => {
    const n = r1 - r0;
    const bc = n === out ? fwd.b : t.slice(fwd.b, r0, r1, 0);
    const sc = n === out ? scales2d : t.slice(scales2d, r0, r1, 0);
    // A reshape to a shape read from dy (same bytes) makes the chain wait for dy: without a runtime input it
    // could be scheduled at the start and every dense W would be alive at once.
    const rowsNow = t.slice(t.op('Shape', [dyc]), -1, Number.MAX_SAFE_INTEGER, 0);
    const b = t.op('Reshape', [bc, t.op('Concat', [rowsNow, t.i64([fwd.kb, 16])], { axis: 0 })]);
    const v = t.cast(b, t.act); // [n, kb, 16]
    const hi = t.op('Floor', [t.mul(v, t.actConst(1 / 16))]);
    const lo = t.sub(v, t.mul(hi, t.actConst(16)));
    const pair = t.op('Concat', [t.op('Unsqueeze', [lo, t.i64([3])]), t.op('Unsqueeze', [hi, t.i64([3])])], { axis: 3 });
    const q = t.sub(t.reshape(pair, [n, fwd.kb, 32]), t.actConst(8));
    const W = t.reshape(t.mul(q, sc), [n, fwd.kb * 32]);
    return fwd.kb * 32 === inp ? W : t.slice(W, 0, inp, 1);
  };
  return {
    forward,
    backward: (dy) => {
      let acc: string | undefined;
      for (let r0 = 0; r0 < out; r0 += rows) {
        const r1 = Math.min(out, r0 + rows);
        const dyc = r1 - r0 === out ? dy : t.slice(dy, r0, r1, -1);
        const part = t.op('MatMul', [dyc, dequantRows(r0, r1, dyc)]);
        acc = acc === undefined ? part : t.add(acc, part);
      }
      return acc!;
    },
  };
}

/**
 * Builds the training graph for a Llama decoder (any width, MHA or GQA). See [Note: Training graph].
 * Returns the builder: call `save()` (with `outPath`) or `toBytes()` for an in-memory session.
 */
export async function buildLlamaTrainingGraph(src: LlamaWeightSource, opts: TrainingGraphOptions = {}): Promise<GraphBuilder> {
  const dims = src.dims;
  const act = opts.dtype ?? 'float32';
  const storage = opts.weights ?? 'dense';
  const lossScale = act === 'float16' ? (opts.lossScale ?? 1024) : 1;
  const chunk = opts.dequantChunkElements ?? 2 ** 22;
  const { hiddenSize: H, intermediateSize: I, numHeads: nH, numKvHeads: nKV, headDim: d, vocabSize: V } = dims;
  if (d % 2 !== 0) throw new Error(`head_dim ${d} is odd; RoPE needs an even head size`);
  if (nH % nKV !== 0) throw new Error(`${nH} attention heads cannot share ${nKV} KV heads evenly`);
  const rep = nH / nKV;
  const g = new GraphBuilder({
    name: `llama-train-${act}-${storage}`,
    opset: 18, // ReduceMean takes its axes as an input from 18 on, like ReduceSum
    ...(opts.outPath === undefined ? { externalThresholdBytes: Infinity } : { outPath: opts.outPath }),
    docString: 'MusiLingo adapter training graph: loss and d(loss)/d(inputs_embeds)',
  });
  const t = new TrainGraph(g, act);
  const IO = TRAIN_GRAPH_IO;
  g.input(IO.inputsEmbeds, 'float32', ['batch', 'seq', H]);
  g.input(IO.labels, 'int64', ['batch', 'seq']);
  // The residual stream is [B·S, H] (projections are plain 2-D Gemms); attention reshapes to [B, n, S, d].
  const inShape = t.op('Shape', [IO.inputsEmbeds]); // [B, S, H]
  const batchSeq = t.slice(inShape, 0, 2, 0); // [B, S]
  const x0 = t.toAct(t.reshape(IO.inputsEmbeds, [-1, H]));

  // Positions, RoPE tables [1, 1, S, d] and the causal mask [S, S].
  const seqLen = t.slice(inShape, 1, 2, 0); // [1]
  const pos = t.op('Range', [t.g.constI64([0], []), t.op('Squeeze', [seqLen, t.i64([0])]), t.g.constI64([1], [])]);
  const posF = t.op('Unsqueeze', [t.cast(pos, 'float32'), t.i64([1])]); // [S, 1]
  const freqs = t.mul(posF, t.g.constF32(invFreqs(d, dims.ropeTheta), [1, d / 2]));
  const emb = t.op('Concat', [freqs, freqs], { axis: 1 });
  const cos = t.toAct(t.op('Unsqueeze', [t.op('Cos', [emb]), t.i64([0, 1])]));
  const sin = t.toAct(t.op('Unsqueeze', [t.op('Sin', [emb]), t.i64([0, 1])]));
  const future = t.op('Greater', [t.op('Unsqueeze', [pos, t.i64([0])]), t.op('Unsqueeze', [pos, t.i64([1])])]);
  const negBig = t.f32(-3.0e38);
  const scale = 1 / Math.sqrt(d);
  const ropeFwd = (x: string): string => t.add(t.mul(x, cos), t.mul(rotateHalf(t, x, d), sin));
  const ropeBack = (dy: string): string => t.sub(t.mul(dy, cos), rotateHalf(t, t.mul(dy, sin), d));
  // [B·S, n·d] → [B, n, S, d] and back.
  const heads = (x: string, n: number): string =>
    t.transpose(t.op('Reshape', [x, t.op('Concat', [batchSeq, t.i64([n, d])], { axis: 0 })]), [0, 2, 1, 3]);
  const unheads = (x: string, n: number): string => t.reshape(t.transpose(x, [0, 2, 1, 3]), [-1, n * d]);
  // [B, nKV, S, d] → [B, nH, S, d] (query head h reads KV head h // rep) and the adjoint (sum over each group).
  const expandKv = (x: string): string =>
    rep === 1 ? x : t.reshape(t.op('Expand', [t.op('Unsqueeze', [x, t.i64([2])]), t.i64([1, 1, rep, 1, 1])]), [0, nH, -1, d]);
  const reduceKv = (x: string): string =>
    rep === 1 ? x : t.op('ReduceSum', [t.reshape(x, [0, nKV, rep, -1, d]), t.i64([2])], { keepdims: 0 });
  const swapLast = (x: string): string => t.transpose(x, [0, 1, 3, 2]);

  interface LayerState {
    n1: NormCache; n2: NormCache; q: string; kE: string; vE: string; p: string;
    gate: string; up: string; sg: string; silu: string;
    lin: Record<'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down', Linear>;
  }
  const states: LayerState[] = [];
  let x = x0;
  for (let l = 0; l < dims.numLayers; l++) {
    const Lw = await src.layer(l);
    const p = `model.layers.${l}`;
    const lin = {
      q: makeLinear(t, `${p}.self_attn.q_proj.weight`, Lw.q, nH * d, H, storage, chunk),
      k: makeLinear(t, `${p}.self_attn.k_proj.weight`, Lw.k, nKV * d, H, storage, chunk),
      v: makeLinear(t, `${p}.self_attn.v_proj.weight`, Lw.v, nKV * d, H, storage, chunk),
      o: makeLinear(t, `${p}.self_attn.o_proj.weight`, Lw.o, H, nH * d, storage, chunk),
      gate: makeLinear(t, `${p}.mlp.gate_proj.weight`, Lw.gate, I, H, storage, chunk),
      up: makeLinear(t, `${p}.mlp.up_proj.weight`, Lw.up, I, H, storage, chunk),
      down: makeLinear(t, `${p}.mlp.down_proj.weight`, Lw.down, H, I, storage, chunk),
    };
    const { y: a, cache: n1 } = rmsNorm(t, x, Lw.inputNorm, dims.rmsNormEps);
    const q = ropeFwd(heads(lin.q.forward(a), nH));
    const kE = expandKv(ropeFwd(heads(lin.k.forward(a), nKV)));
    const vE = expandKv(heads(lin.v.forward(a), nKV));
    const scores = t.toF32(t.mul(t.op('MatMul', [q, swapLast(kE)]), t.actConst(scale)));
    const pr = t.op('Softmax', [t.op('Where', [future, negBig, scores])], { axis: -1 });
    const o = unheads(t.op('MatMul', [t.toAct(pr), vE]), nH);
    const h = t.add(x, lin.o.forward(o));
    const { y: b, cache: n2 } = rmsNorm(t, h, Lw.postNorm, dims.rmsNormEps);
    const gate = lin.gate.forward(b);
    const up = lin.up.forward(b);
    const sg = t.op('Sigmoid', [gate]);
    const silu = t.mul(gate, sg);
    x = t.add(h, lin.down.forward(t.mul(silu, up)));
    states.push({ n1, n2, q, kE, vE, p: pr, gate, up, sg, silu, lin });
  }
  const { y: f, cache: nf } = rmsNorm(t, x, await src.finalNorm(), dims.rmsNormEps);
  const lm = makeLinear(t, 'lm_head.weight', await src.lmHead(), V, H, storage, chunk);
  const logits = t.toF32(lm.forward(f)); // [B·S, V]

  // Loss: shift each row's labels left by one, mask −100, mean over the rest of the whole batch (HF's mean).
  const padCol = t.op('Expand', [t.g.constI64([-100], [1, 1]), t.op('Concat', [t.slice(inShape, 0, 1, 0), t.i64([1])], { axis: 0 })]);
  const shifted = t.reshape(t.op('Concat', [t.slice(IO.labels, 1, Number.MAX_SAFE_INTEGER, 1), padCol], { axis: 1 }), [-1]);
  const valid = t.op('Not', [t.op('Equal', [shifted, t.g.constI64([-100], [])])]);
  const mask = t.cast(valid, 'float32');
  const count = t.op('Max', [t.op('ReduceSum', [mask], { keepdims: 0 }), t.f32(1)]);
  const weights = t.op('Div', [mask, count]); // [B·S]
  const target = t.op('Where', [valid, shifted, t.g.constI64([0], [])]);
  const lsm = t.op('LogSoftmax', [logits], { axis: -1 });
  const onehot = t.op('OneHot', [target, t.g.constI64([V], []), t.g.constF32([0, 1])], { axis: -1 });
  const picked = t.sumLast(t.mul(lsm, onehot), 0); // [B·S]
  t.g.op('Neg', [t.op('ReduceSum', [t.mul(picked, weights)], { keepdims: 0 })], {}, { output: IO.loss });
  g.output(IO.loss, 'float32', []);

  // Backward.
  const wCol = t.op('Unsqueeze', [weights, t.i64([1])]);
  let dlogits = t.mul(t.sub(t.op('Exp', [lsm]), onehot), wCol);
  if (lossScale !== 1) dlogits = t.mul(dlogits, t.f32(lossScale));
  let dx = rmsNormBack(t, lm.backward(t.toAct(dlogits)), nf, H);
  for (let l = dims.numLayers - 1; l >= 0; l--) {
    const s = states[l]!;
    const Lw = { inputNorm: s.n1, postNorm: s.n2 };
    // MLP: x' = h + down(silu(gate)·up).
    const dm = s.lin.down.backward(dx);
    const dup = t.mul(dm, s.silu);
    const one = t.actConst(1);
    const dsilu = t.mul(s.sg, t.add(one, t.mul(s.gate, t.sub(one, s.sg))));
    const dgate = t.mul(t.mul(dm, s.up), dsilu);
    const db = t.add(s.lin.gate.backward(dgate), s.lin.up.backward(dup));
    const dh = t.add(rmsNormBack(t, db, Lw.postNorm, H), dx);
    // Attention: h = x + o(softmax(q kᵀ·scale + mask) v).
    const dO = heads(s.lin.o.backward(dh), nH); // [B, nH, S, d]
    const dP = t.toF32(t.op('MatMul', [dO, swapLast(s.vE)]));
    const dvE = t.op('MatMul', [t.toAct(swapLast(s.p)), dO]);
    const dS = t.mul(t.mul(s.p, t.sub(dP, t.sumLast(t.mul(dP, s.p), 1))), t.f32(scale));
    const dSa = t.toAct(dS);
    const dq = ropeBack(t.op('MatMul', [dSa, s.kE]));
    const dk = ropeBack(reduceKv(t.op('MatMul', [swapLast(dSa), s.q])));
    const dv = reduceKv(dvE);
    const da = t.add(
      t.add(s.lin.q.backward(unheads(dq, nH)), s.lin.k.backward(unheads(dk, nKV))),
      s.lin.v.backward(unheads(dv, nKV)),
    );
    dx = t.add(rmsNormBack(t, da, Lw.inputNorm, H), dh);
  }
  let grad = t.toF32(dx);
  if (lossScale !== 1) grad = t.mul(grad, t.f32(1 / lossScale));
  t.g.op('Reshape', [grad, inShape], {}, { output: IO.gradInputsEmbeds });
  g.output(IO.gradInputsEmbeds, 'float32', ['batch', 'seq', H]);
  return g;
}

/** A weight source over in-memory float32 weights (tests, benches, tiny models). */
export function arrayWeightSource(w: {
  dims: LlamaDims;
  layers: readonly LlamaLayerWeights<Float32Array>[];
  norm: Float32Array;
  lmHead: Float32Array;
}): LlamaWeightSource {
  return {
    dims: w.dims,
    layer: async (i) => {
      const l = w.layers[i];
      if (!l) throw new Error(`layer ${i} is missing (the model has ${w.layers.length})`);
      return l;
    },
    finalNorm: async () => w.norm,
    lmHead: async () => w.lmHead,
  };
}
