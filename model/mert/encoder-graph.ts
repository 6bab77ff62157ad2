/**
 * @file Builds the MERT-v1 encoder as an ONNX graph from a checkpoint (model-pack converter; any Node process).
 *
 * [Note: MERT encoder graph]
 * Input `audio` float32 [batch, samples] at 24 kHz (do_normalize is false: the waveform goes in unchanged);
 * output `layer_mean` float32 [batch, frames, hidden]: the mean of the L+1 hidden states in MusiLingo's
 * order (inputs of layers 1..L, i.e. the raw residual stream, then the final LayerNorm of layer L's output).
 * Pooling (325-frame means) and the adapter run in TS (model/mert/pool.ts, model/adapter.ts).
 * - Conv feature encoder: Conv (no bias unless conv_bias) → GELU, with a GroupNorm of one group per channel
 *   after conv 0. That GroupNorm is exactly ONNX InstanceNormalization (per sample and channel, statistics
 *   over the whole window, eps 1e-5). GELU is the erf form, written as x·½·(1 + erf(x/√2)); ORT fuses it.
 * - Feature projection LayerNorm → MatMul; positional conv: grouped Conv with pads K/2 and the weight norm
 *   folded in at build time, last frame dropped when K is even, GELU, added to the projection.
 * - Pre-LN layers with biases everywhere; the 1/√head_dim query scaling is folded into q_proj.
 *   Attention is com.microsoft MultiHeadAttention ('mha', default for float32) or plain MatMul/Softmax ('ops',
 *   default for float16: ORT has no float16 MultiHeadAttention kernel on the CPU EP).
 * - float16 variant: weights and activations in float16 from conv 1 on; conv 0 + its GroupNorm (statistics
 *   over 144k samples) and the layer-mean accumulation stay float32, inputs and outputs are float32.
 * - Weights stream: each tensor is read, transformed and handed to the builder, which writes it to
 *   encoder.onnx.data at once, so a 330M model never has more than one tensor (plus its transposed copy)
 *   in memory.
 * - debug: extra outputs `conv_features` [batch, frames, conv_dim] and `hidden_state_k` (k = 0..L), float32.
 */
import { GraphBuilder, attrFloat } from '../onnx/graph-builder';
import type { MertConfig } from './config';
import { MertWeights } from './weights';
import type { WeightSource } from './weights';

/** Options of {@link buildMertEncoder}. */
export interface BuildMertEncoderOptions {
  /** Opened checkpoint (safetensors or torch .bin reader); the caller closes it. */
  readonly checkpoint: WeightSource;
  readonly config: MertConfig;
  readonly variant: 'float32' | 'float16';
  /** Where to write the .onnx (its external data goes to outPath + '.data'). */
  readonly outPath: string;
  /** Adds conv_features and hidden_state_k outputs. */
  readonly debug?: boolean;
  /**
   * 'mha': com.microsoft MultiHeadAttention (default for float32: 2.2× faster on the CPU EP); 'ops': plain
   * MatMul/Softmax (default for float16, whose MultiHeadAttention has no CPU kernel).
   */
  readonly attention?: 'ops' | 'mha';
  /**
   * float32 only: 'int8-dynamic' stores every Linear weight (projection, q/k/v/out, feed-forward) as int8
   * with one symmetric scale per output column and multiplies with com.microsoft DynamicQuantizeMatMul,
   * which quantizes the activations to uint8 per run. A CPU mode; see [Note: MERT int8 on the CPU].
   */
  readonly linearQuantization?: 'int8-dynamic';
}

/**
 * [Note: MERT int8 on the CPU]
 * Of MERT-v1-330M's work on a 30 s window, the Linear layers are most (24 layers × 2250 frames × 12.6 M
 * multiply-adds). Dynamic quantization — weights int8 per output column, activations uint8 per tensor and run,
 * int32 accumulation (MLAS's u8s8 kernels) — is ORT's standard CPU speed-up for transformer encoders. Convs,
 * attention scores, LayerNorm and the layer mean stay float32. bench/mert-cpu.ts measures speed at the real
 * shape and the error on the tiny-mert goldens; test/unit/model/mert/int8-dynamic.test.ts bounds the error.
 */
export function quantizeInt8PerColumn(wt: Float32Array, nIn: number, nOut: number): { q: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(nOut);
  for (let r = 0; r < nIn; r++) {
    for (let c = 0; c < nOut; c++) scales[c] = Math.max(scales[c]!, Math.abs(wt[r * nOut + c]!));
  }
  for (let c = 0; c < nOut; c++) scales[c] = scales[c]! / 127 || 1;
  const q = new Int8Array(wt.length);
  for (let r = 0; r < nIn; r++) {
    for (let c = 0; c < nOut; c++) q[r * nOut + c] = Math.max(-127, Math.min(127, Math.round(wt[r * nOut + c]! / scales[c]!)));
  }
  return { q, scales };
}

/** What {@link buildMertEncoder} wrote. */
export interface BuiltMertEncoder {
  readonly onnxPath: string;
  /** External data file, or undefined when every weight fitted inline. */
  readonly dataPath: string | undefined;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly variant: 'float32' | 'float16';
}

function transpose2d(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c]!;
  return out;
}

/**
 * Builds the encoder graph and writes it to `outPath` (+ `.data`). Throws a CheckpointError naming the tensor
 * and file when a weight is missing or misshapen; a failed build leaves no partial files.
 */
export async function buildMertEncoder(opts: BuildMertEncoderOptions): Promise<BuiltMertEncoder> {
  const cfg = opts.config;
  const w = new MertWeights(opts.checkpoint, cfg);
  const g = new GraphBuilder({ name: 'mert_encoder', outPath: opts.outPath, docString: `MERT-v1 encoder (${opts.variant})` });
  try {
    await emitEncoder(g, w, cfg, opts);
    await g.save();
  } catch (e) {
    await g.discard();
    throw e;
  }
  return {
    onnxPath: opts.outPath,
    dataPath: g.externalBytes > 0 ? `${opts.outPath}.data` : undefined,
    hiddenSize: cfg.hiddenSize,
    numLayers: cfg.numLayers,
    variant: opts.variant,
  };
}

async function emitEncoder(g: GraphBuilder, w: MertWeights, cfg: MertConfig, opts: BuildMertEncoderOptions): Promise<void> {
  const fp16 = opts.variant === 'float16';
  const dt = fp16 ? 'float16' : 'float32';
  const D = cfg.hiddenSize;
  const H = cfg.numHeads;
  const dh = D / H;
  const debug = opts.debug === true;
  const int8 = opts.linearQuantization === 'int8-dynamic';
  if (int8 && fp16) throw new RangeError('int8-dynamic Linear layers need the float32 encoder variant');
  const weight = (data: Float32Array, dims: number[], name?: string): string => (fp16 ? g.initF16(name, data, dims) : g.initF32(name, data, dims));
  const cst = (v: number): string => g.constFloat(dt, [v]);
  const half = cst(0.5);
  const one = cst(1);
  const invSqrt2 = cst(Math.SQRT1_2);
  const gelu = (x: string): string => {
    const e = g.op('Erf', [g.op('Mul', [x, invSqrt2])]);
    return g.op('Mul', [g.op('Mul', [x, half]), g.op('Add', [e, one])]);
  };
  const layerNorm = async (x: string, local: string, n: number): Promise<string> => {
    const s = weight(await w.read(local + '.weight', [n]), [n], local + '.weight');
    const b = weight(await w.read(local + '.bias', [n]), [n], local + '.bias');
    return g.op('LayerNormalization', [x, s, b], { axis: -1, epsilon: attrFloat(cfg.layerNormEps) });
  };
  const linear = async (x: string, local: string, nIn: number, nOut: number, scale = 1): Promise<string> => {
    const wt = transpose2d(await w.read(local + '.weight', [nOut, nIn]), nOut, nIn);
    const b = await w.read(local + '.bias', [nOut]);
    if (scale !== 1) {
      for (let i = 0; i < wt.length; i++) wt[i] = wt[i]! * scale;
      for (let i = 0; i < b.length; i++) b[i] = b[i]! * scale;
    }
    if (int8) {
      const { q, scales } = quantizeInt8PerColumn(wt, nIn, nOut);
      const qName = g.initializer(local + '.weight_q', 'int8', [nIn, nOut], new Uint8Array(q.buffer));
      // Symmetric weights: no zero point (input 3 left empty).
      return g.msOp('DynamicQuantizeMatMul', [x, qName, g.initF32(local + '.weight_scale', scales, [nOut]), '', g.initF32(local + '.bias', b, [nOut])]);
    }
    const y = g.op('MatMul', [x, weight(wt, [nIn, nOut], local + '.weight_t')]);
    return g.op('Add', [y, weight(b, [nOut], local + '.bias')]);
  };
  const toF32 = (x: string): string => (fp16 ? g.op('Cast', [x], { to: 1 }) : x);

  g.input('audio', 'float32', ['batch', 'samples']);
  // ---- conv feature encoder: [B, 1, S] → [B, C, T]
  let x = g.op('Unsqueeze', ['audio', g.constI64([1])]);
  let cin = 1;
  for (let i = 0; i < cfg.convDim.length; i++) {
    const cout = cfg.convDim[i]!;
    const k = cfg.convKernel[i]!;
    const local = `feature_extractor.conv_layers.${i}.conv`;
    const kw = await w.read(local + '.weight', [cout, cin, k]);
    const inF32 = i === 0; // conv 0 and its GroupNorm run in float32 (see the Note)
    const wName = inF32 ? g.initF32(local + '.weight', kw, [cout, cin, k]) : weight(kw, [cout, cin, k], local + '.weight');
    const inputs = [x, wName];
    if (cfg.convBias) {
      const b = await w.read(local + '.bias', [cout]);
      inputs.push(inF32 ? g.initF32(local + '.bias', b, [cout]) : weight(b, [cout], local + '.bias'));
    }
    x = g.op('Conv', inputs, { kernel_shape: [k], strides: [cfg.convStride[i]!] });
    if (i === 0) {
      const ln = 'feature_extractor.conv_layers.0.layer_norm';
      const s = g.initF32(ln + '.weight', await w.read(ln + '.weight', [cout]), [cout]);
      const b = g.initF32(ln + '.bias', await w.read(ln + '.bias', [cout]), [cout]);
      x = g.op('InstanceNormalization', [x, s, b], { epsilon: attrFloat(cfg.groupNormEps) });
      if (fp16) x = g.op('Cast', [x], { to: 10 });
    }
    x = gelu(x);
    cin = cout;
  }
  // [B, C, T] → [B, T, C]
  const feats = g.op('Transpose', [x], { perm: [0, 2, 1] });
  if (debug) {
    g.op('Identity', [toF32(feats)], {}, { output: 'conv_features' });
    g.output('conv_features', 'float32', ['batch', 'frames', cin]);
  }
  // ---- feature projection
  const normed = await layerNorm(feats, 'feature_projection.layer_norm', cin);
  const proj = await linear(normed, 'feature_projection.projection', cin, D);
  // ---- positional conv embedding
  const K = cfg.numConvPosEmbeddings;
  const G = cfg.numConvPosEmbeddingGroups;
  const pw = await w.positionalConvWeight();
  const pb = await w.read('encoder.pos_conv_embed.conv.bias', [D]);
  let pos = g.op('Conv', [g.op('Transpose', [proj], { perm: [0, 2, 1] }), weight(pw, [D, D / G, K], 'pos_conv.weight'), weight(pb, [D], 'pos_conv.bias')], {
    kernel_shape: [K], pads: [Math.floor(K / 2), Math.floor(K / 2)], group: G,
  });
  if (K % 2 === 0) pos = g.op('Slice', [pos, g.constI64([0]), g.constI64([-1]), g.constI64([2])]);
  pos = g.op('Transpose', [gelu(pos)], { perm: [0, 2, 1] });
  let h = g.op('Add', [proj, pos]);
  // ---- pre-LN transformer layers; sum the residual stream for the layer mean
  let sum = toF32(h);
  if (debug) {
    g.op('Identity', [sum], {}, { output: 'hidden_state_0' });
    g.output('hidden_state_0', 'float32', ['batch', 'frames', D]);
  }
  const plainAttention = (opts.attention ?? (fp16 ? 'ops' : 'mha')) === 'ops';
  const headShape = plainAttention ? g.constI64([0, 0, H, dh]) : '';
  const mergeShape = plainAttention ? g.constI64([0, 0, D]) : '';
  for (let l = 0; l < cfg.numLayers; l++) {
    const p = `encoder.layers.${l}`;
    const a = await layerNorm(h, `${p}.layer_norm`, D);
    const q = await linear(a, `${p}.attention.q_proj`, D, D, 1 / Math.sqrt(dh));
    const k = await linear(a, `${p}.attention.k_proj`, D, D);
    const v = await linear(a, `${p}.attention.v_proj`, D, D);
    let ctx: string;
    if (!plainAttention) {
      ctx = g.msOp('MultiHeadAttention', [q, k, v], { num_heads: H, scale: attrFloat(1) });
    } else {
      const qh = g.op('Transpose', [g.op('Reshape', [q, headShape])], { perm: [0, 2, 1, 3] });
      const kh = g.op('Transpose', [g.op('Reshape', [k, headShape])], { perm: [0, 2, 3, 1] });
      const vh = g.op('Transpose', [g.op('Reshape', [v, headShape])], { perm: [0, 2, 1, 3] });
      const probs = g.op('Softmax', [g.op('MatMul', [qh, kh])], { axis: -1 });
      ctx = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, vh])], { perm: [0, 2, 1, 3] }), mergeShape]);
    }
    const attnOut = await linear(ctx, `${p}.attention.out_proj`, D, D);
    const h1 = g.op('Add', [h, attnOut]);
    const f = await layerNorm(h1, `${p}.final_layer_norm`, D);
    const ff = await linear(gelu(await linear(f, `${p}.feed_forward.intermediate_dense`, D, cfg.intermediateSize)),
      `${p}.feed_forward.output_dense`, cfg.intermediateSize, D);
    h = g.op('Add', [h1, ff]);
    if (l < cfg.numLayers - 1) {
      const hf = toF32(h);
      sum = g.op('Add', [sum, hf]);
      if (debug) {
        g.op('Identity', [hf], {}, { output: `hidden_state_${l + 1}` });
        g.output(`hidden_state_${l + 1}`, 'float32', ['batch', 'frames', D]);
      }
    }
  }
  const last = toF32(await layerNorm(h, 'encoder.layer_norm', D));
  if (debug) {
    g.op('Identity', [last], {}, { output: `hidden_state_${cfg.numLayers}` });
    g.output(`hidden_state_${cfg.numLayers}`, 'float32', ['batch', 'frames', D]);
  }
  sum = g.op('Add', [sum, last]);
  g.op('Mul', [sum, g.constF32([1 / (cfg.numLayers + 1)])], {}, { output: 'layer_mean' });
  g.output('layer_mean', 'float32', ['batch', 'frames', D]);
}
