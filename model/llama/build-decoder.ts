/**
 * @file Llama decoder → ONNX graph builder (any Node process; used by the model-pack converter and tests).
 *
 * [Note: Llama decoder graph]
 * Inputs: `inputs_embeds` [batch, sequence_length, hidden] (the embedding lookup happens in TypeScript,
 * because MusiLingo splices adapter outputs between token embeddings), `attention_mask` int64
 * [batch, total_sequence_length] (1 = real token, 0 = left padding), `past_key_values.N.key/value`
 * [batch, kv_heads, past_sequence_length, head_dim]. Outputs: `logits` float32 [batch, S, vocab] (or
 * [batch, 1, vocab] with `lastTokenLogitsOnly`) and `present.N.key/value` [batch, kv_heads, total, head_dim].
 * These are the names onnxruntime-genai and transformers.js use.
 *
 * Attention is built from standard ops (MatMul, Where, Softmax) instead of com.microsoft
 * GroupQueryAttention: HF-exact semantics for left-padded batches (RoPE positions = cumsum(mask) - 1, as
 * HF generate computes them; padded keys masked), any head_dim (GQA's CPU kernel wants a multiple of 16),
 * and identical behaviour on every EP. Grouped-query attention reshapes queries to
 * [B, kv_heads, group, S, head_dim] and broadcasts keys over the group, so query head h reads KV head
 * h // group without copying the cache. RMSNorm uses SimplifiedLayerNormalization and the residual adds
 * are fused into SkipSimplifiedLayerNormalization; q/k/v and gate/up projections are each fused into one
 * MatMul (one weight read per token instead of three/two). The masked fill uses Where with the dtype's
 * lowest finite value (HF's `finfo.min`), so fully padded query rows stay finite instead of NaN.
 *
 * Variants: float32 (CPU, tests), float16 (GPU; softmax still in float16, logits cast to float32),
 * int4 (MatMulNBits, see [Note: int4 quantization for MatMulNBits]; activations float16 by default,
 * float32 on request for CPU). Weights are read one tensor at a time and streamed to external data
 * (see [Note: Building ONNX graphs in TypeScript]), so a 7B checkpoint converts with about 1 GB resident
 * (the largest tensor, lm_head, in float32 plus its transposed copy).
 */
import { attrFloat, GraphBuilder } from '../onnx/graph-builder';
import { CheckpointError, expectShape } from '../safetensors';
import type { Checkpoint } from '../safetensors';
import { f32ToF16 } from '../tensor/half';
import type { LlamaConfig } from './config';
import { quantizeInt4, transpose2d } from './quantize';

/** Weight formats of the decoder graph. */
export type DecoderVariant = 'float32' | 'float16' | 'int4';

/** Allowed variants, for messages and validation. */
export const DECODER_VARIANTS: readonly DecoderVariant[] = ['float32', 'float16', 'int4'];

/** What a runtime needs to know about a built decoder (store it beside the model). */
export interface DecoderSpec {
  variant: DecoderVariant;
  /** dtype of inputs_embeds (and of the KV cache unless `kvDtype` says otherwise). */
  dtype: 'float32' | 'float16';
  /** dtype of past_key_values.* / present.* when it differs from `dtype` (see [Note: float16 KV cache on the CPU]). */
  kvDtype?: 'float16';
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  hiddenSize: number;
  vocabSize: number;
  lastTokenLogitsOnly: boolean;
  /** Attention implementation; 'gqa' graphs need prompts without padding (see [Note: GroupQueryAttention]). */
  attention: DecoderAttention;
}

/** Attention implementations: standard ops (default) or com.microsoft GroupQueryAttention. */
export type DecoderAttention = 'ops' | 'gqa';

/** Progress of a build: `done` of `total` weight tensors written. */
export interface BuildProgress {
  done: number;
  total: number;
  tensor: string;
}

/** Options of {@link buildLlamaDecoder}. */
export interface BuildLlamaDecoderOptions {
  checkpoint: Checkpoint;
  config: LlamaConfig;
  variant: DecoderVariant;
  /** The .onnx path; weights go to `outPath + '.data'`. */
  outPath: string;
  /** int4 only: activation dtype (default float16, for GPUs; float32 for CPU). */
  int4ActivationDtype?: 'float32' | 'float16';
  /** int4 only: also quantize lm_head (default true). */
  quantizeLmHead?: boolean;
  /** int4 only: MatMulNBits accuracy_level (0 = as the activations; 4 = int8 compute on CPU). */
  accuracyLevel?: number;
  /** Emit logits for the last position only (generation; saves the vocab projection of the prompt). */
  lastTokenLogitsOnly?: boolean;
  /** 'ops' (default) or 'gqa'; see [Note: GroupQueryAttention]. */
  attention?: DecoderAttention;
  /** 'gqa' only: rows of the RoPE cos/sin caches (default max_position_embeddings, at least 4096). */
  maxSequenceLength?: number;
  /** 'gqa' with float32 activations only: a float16 KV cache (see [Note: float16 KV cache on the CPU]). */
  kvCacheDtype?: 'float16';
  /** Tensor-name prefix of the Llama weights (e.g. "llama_model.model."); found from embed_tokens when absent. */
  prefix?: string;
  onProgress?: (p: BuildProgress) => void;
}

const INT64_MAX = 9007199254740991; // Number.MAX_SAFE_INTEGER: an "until the end" slice bound

/** Resolved tensor names of a Llama checkpoint. */
export interface LlamaWeightNames {
  embed: string;
  lmHead: string;
  norm: string;
  layer(i: number, part: string): string;
}

/**
 * Finds the Llama weights in a checkpoint that may hold other models too (MusiLingo's shards also hold
 * MERT and the adapter): the prefix comes from the unique `*embed_tokens.weight`.
 */
export function resolveLlamaWeights(ck: Checkpoint, config: LlamaConfig, prefix?: string): LlamaWeightNames {
  let p = prefix;
  if (p === undefined) {
    const embed = ck.findBySuffix('embed_tokens.weight');
    if (embed === undefined) {
      throw new CheckpointError(`No Llama weights in checkpoint ${ck.files.join(', ')}: no tensor named "*embed_tokens.weight"`, { tensor: 'embed_tokens.weight' });
    }
    p = embed.slice(0, embed.length - 'embed_tokens.weight'.length);
  }
  const embed = `${p}embed_tokens.weight`;
  ck.info(embed);
  const outer = p.endsWith('model.') ? p.slice(0, -'model.'.length) : p;
  let lmHead = `${outer}lm_head.weight`;
  if (!ck.has(lmHead)) {
    if (config.tieWordEmbeddings) lmHead = embed;
    else ck.info(lmHead); // throws naming the missing tensor
  }
  return { embed, lmHead, norm: `${p}norm.weight`, layer: (i, part) => `${p}layers.${i}.${part}.weight` };
}

/** The decoder's spec without building it. */
export function decoderSpec(config: LlamaConfig, variant: DecoderVariant, opts: { int4ActivationDtype?: 'float32' | 'float16'; lastTokenLogitsOnly?: boolean; vocabSize?: number; attention?: DecoderAttention; kvCacheDtype?: 'float16' } = {}): DecoderSpec {
  const dtype = variant === 'float32' ? 'float32' : variant === 'float16' ? 'float16' : (opts.int4ActivationDtype ?? 'float16');
  if (opts.kvCacheDtype === 'float16' && (dtype !== 'float32' || opts.attention !== 'gqa')) {
    throw new Error(`kvCacheDtype "float16" needs float32 activations and attention "gqa" (got ${dtype} activations, attention "${opts.attention ?? 'ops'}")`);
  }
  return {
    variant,
    dtype,
    ...(opts.kvCacheDtype === 'float16' ? { kvDtype: 'float16' as const } : {}),
    numLayers: config.numLayers,
    numHeads: config.numHeads,
    numKvHeads: config.numKvHeads,
    headDim: config.headDim,
    hiddenSize: config.hiddenSize,
    vocabSize: opts.vocabSize ?? config.vocabSize,
    lastTokenLogitsOnly: opts.lastTokenLogitsOnly ?? false,
    attention: opts.attention ?? 'ops',
  };
}

/** RoPE inverse frequencies as HF computes them in float32. */
export function ropeInvFreq(headDim: number, theta: number): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) out[i] = 1 / Math.fround(theta ** Math.fround((2 * i) / headDim));
  return out;
}

/**
 * Builds the decoder graph for `config` from the checkpoint's weights and saves it to `outPath`
 * (+ `.data`). Validates every weight's shape against the config; errors name the tensor and file.
 */
export async function buildLlamaDecoder(opts: BuildLlamaDecoderOptions): Promise<DecoderSpec> {
  const { checkpoint: ck, config: cfg, variant } = opts;
  if (!DECODER_VARIANTS.includes(variant)) {
    throw new Error(`Unsupported decoder variant "${String(variant)}". Expected one of: ${DECODER_VARIANTS.join(', ')}`);
  }
  const names = resolveLlamaWeights(ck, cfg, opts.prefix);
  const H = cfg.hiddenSize;
  const nh = cfg.numHeads;
  const kvh = cfg.numKvHeads;
  const hd = cfg.headDim;
  const I = cfg.intermediateSize;
  const group = nh / kvh;
  const lmInfo = ck.info(names.lmHead);
  const V = lmInfo.shape[0] ?? 0;
  expectShape(names.lmHead, lmInfo.shape, [-1, H], lmInfo.file);
  expectShape(names.embed, ck.info(names.embed).shape, [V, H], ck.info(names.embed).file);
  const spec = decoderSpec(cfg, variant, { ...opts, vocabSize: V });
  const T = spec.dtype;
  const KV = spec.kvDtype ?? T;
  const g = new GraphBuilder({ name: 'llama_decoder', outPath: opts.outPath, docString: `Llama decoder (${variant})` });

  const total = cfg.numLayers * 9 + 2;
  let done = 0;
  function progress(tensor: string): void {
    done++;
    opts.onProgress?.({ done, total, tensor });
  }
  async function read(name: string, shape: number[]): Promise<Float32Array> {
    const info = ck.info(name);
    expectShape(name, info.shape, shape, info.file);
    const data = await ck.readF32(name);
    progress(name);
    return data;
  }
  function floatInit(data: Float32Array, dims: number[], name?: string): string {
    return T === 'float16' ? g.initF16(name, f32ToF16(data), dims) : g.initF32(name, data, dims);
  }
  /** y = x · Wᵀ for W [n, k] in HF layout. */
  function linear(x: string, w: Float32Array, n: number, k: number, name: string, quantize = variant === 'int4'): string {
    if (quantize) {
      const q = quantizeInt4(w, n, k, 32);
      const b = g.initializer(`${name}.qweight`, 'uint8', [n, q.blocks, 16], q.packed);
      const s = floatInit(q.scales, [n * q.blocks], `${name}.scales`);
      const attrs = { K: k, N: n, bits: 4, block_size: 32, ...(opts.accuracyLevel === undefined ? {} : { accuracy_level: opts.accuracyLevel }) };
      return g.msOp('MatMulNBits', [x, b, s], attrs);
    }
    const wt = transpose2d(w, n, k);
    const init = T === 'float32' ? g.initF32(`${name}.weight_t`, wt, [k, n]) : g.initF16(`${name}.weight_t`, f32ToF16(wt), [k, n]);
    return g.op('MatMul', [x, init]);
  }
  function concatRows(parts: Float32Array[]): Float32Array {
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }

  try {
    // ---- inputs / outputs
    g.input('inputs_embeds', T, ['batch_size', 'sequence_length', H]);
    g.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
    for (let i = 0; i < cfg.numLayers; i++) {
      g.input(`past_key_values.${i}.key`, KV, ['batch_size', kvh, 'past_sequence_length', hd]);
      g.input(`past_key_values.${i}.value`, KV, ['batch_size', kvh, 'past_sequence_length', hd]);
    }
    g.output('logits', 'float32', ['batch_size', spec.lastTokenLogitsOnly ? 1 : 'sequence_length', V]);
    for (let i = 0; i < cfg.numLayers; i++) {
      g.output(`present.${i}.key`, KV, ['batch_size', kvh, 'total_sequence_length', hd]);
      g.output(`present.${i}.value`, KV, ['batch_size', kvh, 'total_sequence_length', hd]);
    }

    const Tlen = g.op('Shape', ['attention_mask'], { start: 1, end: 2 });
    const tScalar = g.op('Squeeze', [Tlen, g.constI64([0])]);
    const ops = spec.attention === 'ops' ? standardAttentionInputs() : undefined;

    /** Positions (HF generate: cumsum(mask) - 1), RoPE tables and the causal + padding mask. */
    function standardAttentionInputs(): { cos: string; sin: string; allowed: string; negBig: string; scale: string; half: string } {
      const S = g.op('Shape', ['inputs_embeds'], { start: 1, end: 2 });
      const maskF = g.op('Cast', ['attention_mask'], { to: 1 });
      const cum = g.op('CumSum', [maskF, g.constI64([1], [])]);
      const posAll = g.op('Relu', [g.op('Sub', [cum, g.constF32([1])])]);
      const pos = g.op('Slice', [posAll, g.op('Neg', [S]), g.constI64([INT64_MAX]), g.constI64([1])]);
      const freqs = g.op('Mul', [g.op('Unsqueeze', [pos, g.constI64([2])]), g.constF32(ropeInvFreq(hd, cfg.ropeTheta), [hd / 2])]);
      const emb = g.op('Concat', [freqs, freqs], { axis: -1 });
      let cos = g.op('Unsqueeze', [g.op('Cos', [emb]), g.constI64([1])]);
      let sin = g.op('Unsqueeze', [g.op('Sin', [emb]), g.constI64([1])]);
      if (T === 'float16') {
        cos = g.op('Cast', [cos], { to: 10 });
        sin = g.op('Cast', [sin], { to: 10 });
      }
      // allowed[b, 1, (1,) q, k]
      const pastScalar = g.op('Squeeze', [g.op('Sub', [Tlen, S]), g.constI64([0])]);
      const one = g.constI64([1], []);
      const keyIdx = g.op('Unsqueeze', [g.op('Range', [g.constI64([0], []), tScalar, one]), g.constI64([0])]);
      const qIdx = g.op('Unsqueeze', [g.op('Range', [pastScalar, tScalar, one]), g.constI64([1])]);
      const causal = g.op('LessOrEqual', [keyIdx, qIdx]);
      const padOk = g.op('Unsqueeze', [g.op('Cast', ['attention_mask'], { to: 9 }), g.constI64(group > 1 ? [1, 2, 3] : [1, 2])]);
      return {
        cos,
        sin,
        allowed: g.op('And', [padOk, causal]),
        negBig: T === 'float16' ? g.constF16([-65504]) : g.constF32([-3.4028234663852886e38]),
        scale: g.constFloat(T, [1 / Math.sqrt(hd)]),
        half: g.constI64([hd / 2, hd / 2]),
      };
    }

    // [Note: GroupQueryAttention] The fused contrib op (rotary inside, KV concat inside) replaces ~25 nodes
    // per layer, which matters on GPUs where each dispatch costs microseconds. Its padding model is
    // seqlens_k (= valid length - 1 per row, right padding), not an arbitrary mask, and positions come from
    // it: so a 'gqa' graph serves unpadded prompts (batch 1, or rows of equal length); generateTokens
    // refuses left-padded batches for it. cos/sin caches hold HF's float32 angles.
    let gqaInputs: { seqlensK: string; totalLen: string; cosCache: string; sinCache: string } | undefined;
    if (spec.attention === 'gqa') {
      const maxPos = Math.max(opts.maxSequenceLength ?? cfg.maxPositionEmbeddings, 4096);
      const inv = ropeInvFreq(hd, cfg.ropeTheta);
      const cosC = new Float32Array(maxPos * (hd / 2));
      const sinC = new Float32Array(maxPos * (hd / 2));
      for (let p = 0; p < maxPos; p++) {
        for (let j = 0; j < hd / 2; j++) {
          const angle = Math.fround(p * inv[j]!);
          cosC[p * (hd / 2) + j] = Math.cos(angle);
          sinC[p * (hd / 2) + j] = Math.sin(angle);
        }
      }
      const lens = g.op('ReduceSum', ['attention_mask', g.constI64([1])], { keepdims: 0 });
      gqaInputs = {
        seqlensK: g.op('Cast', [g.op('Sub', [lens, g.constI64([1], [])])], { to: 6 }),
        totalLen: g.op('Cast', [tScalar], { to: 6 }),
        cosCache: KV === 'float16' && T === 'float32' ? g.initF16('rope.cos_cache', f32ToF16(cosC), [maxPos, hd / 2]) : floatInit(cosC, [maxPos, hd / 2], 'rope.cos_cache'),
        sinCache: KV === 'float16' && T === 'float32' ? g.initF16('rope.sin_cache', f32ToF16(sinC), [maxPos, hd / 2]) : floatInit(sinC, [maxPos, hd / 2], 'rope.sin_cache'),
      };
    }

    function rope(x: string, t: NonNullable<typeof ops>): string {
      const [x1, x2] = g.node('Split', [x, t.half], 2, { axis: -1 });
      const rot = g.op('Concat', [g.op('Neg', [x2!]), x1!], { axis: -1 });
      return g.op('Add', [g.op('Mul', [x, t.cos]), g.op('Mul', [rot, t.sin])]);
    }
    const eps = attrFloat(cfg.rmsNormEps);

    // ---- layers
    let residual = 'inputs_embeds';
    let normed = g.op('SimplifiedLayerNormalization', ['inputs_embeds', floatInit(await read(names.layer(0, 'input_layernorm'), [H]), [H], 'layers.0.input_layernorm.weight')], { axis: -1, epsilon: eps });
    let last = '';
    for (let i = 0; i < cfg.numLayers; i++) {
      const L = `layers.${i}`;
      const q = await read(names.layer(i, 'self_attn.q_proj'), [nh * hd, H]);
      const k = await read(names.layer(i, 'self_attn.k_proj'), [kvh * hd, H]);
      const v = await read(names.layer(i, 'self_attn.v_proj'), [kvh * hd, H]);
      const qkv = linear(normed, concatRows([q, k, v]), (nh + 2 * kvh) * hd, H, `${L}.attn.qkv_proj`);
      let merged: string;
      if (gqaInputs) {
        // [Note: float16 KV cache on the CPU] ORT's CPU GroupQueryAttention has float and MLFloat16 kernels,
        // and its cache has the query's type: there is no float32-query / float16-cache kernel. So a float16
        // cache in a float32 graph casts the fused q/k/v to float16 before the op (rotary and attention then
        // run in float16) and the attention output back to float32; everything else stays float32. The cache
        // takes half the memory and half the bandwidth per step.
        const halfKv = KV === 'float16' && T === 'float32';
        const out = g.node('GroupQueryAttention', [
          halfKv ? g.op('Cast', [qkv], { to: 10 }) : qkv, '', '', `past_key_values.${i}.key`, `past_key_values.${i}.value`,
          gqaInputs.seqlensK, gqaInputs.totalLen, gqaInputs.cosCache, gqaInputs.sinCache,
        ], [g.uniqueName(`${L}.attn`), `present.${i}.key`, `present.${i}.value`], {
          num_heads: nh, kv_num_heads: kvh, do_rotary: 1, rotary_interleaved: 0, scale: attrFloat(1 / Math.sqrt(hd)),
        }, { domain: 'com.microsoft' })[0]!;
        merged = halfKv ? g.op('Cast', [out], { to: 1 }) : out;
      } else {
        const { allowed, negBig, scale } = ops!;
        const [qf, kf, vf] = g.node('Split', [qkv, g.constI64([nh * hd, kvh * hd, kvh * hd])], 3, { axis: -1 });
        const heads = (x: string, n: number): string => g.op('Transpose', [g.op('Reshape', [x, g.constI64([0, 0, n, hd])])], { perm: [0, 2, 1, 3] });
        const qh = rope(heads(qf!, nh), ops!);
        const kh = rope(heads(kf!, kvh), ops!);
        const vh = heads(vf!, kvh);
        const presentK = g.op('Concat', [`past_key_values.${i}.key`, kh], { axis: 2 }, { output: `present.${i}.key` });
        const presentV = g.op('Concat', [`past_key_values.${i}.value`, vh], { axis: 2 }, { output: `present.${i}.value` });
        let scores: string;
        let ctx: string;
        if (group > 1) {
          const q5 = g.op('Reshape', [qh, g.constI64([0, kvh, group, -1, hd])]);
          const k5 = g.op('Unsqueeze', [presentK, g.constI64([2])]);
          const v5 = g.op('Unsqueeze', [presentV, g.constI64([2])]);
          scores = g.op('MatMul', [q5, g.op('Transpose', [k5], { perm: [0, 1, 2, 4, 3] })]);
          const probs = g.op('Softmax', [g.op('Where', [allowed, g.op('Mul', [scores, scale]), negBig])], { axis: -1 });
          ctx = g.op('Reshape', [g.op('MatMul', [probs, v5]), g.constI64([0, nh, -1, hd])]);
        } else {
          scores = g.op('MatMul', [qh, g.op('Transpose', [presentK], { perm: [0, 1, 3, 2] })]);
          const probs = g.op('Softmax', [g.op('Where', [allowed, g.op('Mul', [scores, scale]), negBig])], { axis: -1 });
          ctx = g.op('MatMul', [probs, presentV]);
        }
        merged = g.op('Reshape', [g.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), g.constI64([0, 0, nh * hd])]);
      }
      const o = linear(merged, await read(names.layer(i, 'self_attn.o_proj'), [H, nh * hd]), H, nh * hd, `${L}.attn.o_proj`);
      const postW = floatInit(await read(names.layer(i, 'post_attention_layernorm'), [H]), [H], `${L}.post_attention_layernorm.weight`);
      const hName = g.uniqueName(`${L}.attn_residual`);
      const [normed2] = g.node('SkipSimplifiedLayerNormalization', [o, residual, postW], [g.uniqueName(`${L}.post_attention_norm`), '', '', hName], { epsilon: eps }, { domain: 'com.microsoft' });
      const gate = await read(names.layer(i, 'mlp.gate_proj'), [I, H]);
      const up = await read(names.layer(i, 'mlp.up_proj'), [I, H]);
      const gu = linear(normed2!, concatRows([gate, up]), 2 * I, H, `${L}.mlp.gate_up_proj`);
      const [gt, u] = g.node('Split', [gu, g.constI64([I, I])], 2, { axis: -1 });
      const act = g.op('Mul', [g.op('Mul', [gt!, g.op('Sigmoid', [gt!])]), u!]);
      const down = linear(act, await read(names.layer(i, 'mlp.down_proj'), [H, I]), H, I, `${L}.mlp.down_proj`);
      const isLast = i === cfg.numLayers - 1;
      const nextW = isLast
        ? floatInit(await read(names.norm, [H]), [H], 'norm.weight')
        : floatInit(await read(names.layer(i + 1, 'input_layernorm'), [H]), [H], `layers.${i + 1}.input_layernorm.weight`);
      const resName = g.uniqueName(`${L}.mlp_residual`);
      const [n3] = g.node('SkipSimplifiedLayerNormalization', [down, hName, nextW], [g.uniqueName(isLast ? 'final_norm' : `layers.${i + 1}.input_norm`), '', '', resName], { epsilon: eps }, { domain: 'com.microsoft' });
      residual = resName;
      normed = n3!;
      last = n3!;
    }

    // ---- head
    let final = last;
    if (spec.lastTokenLogitsOnly) final = g.op('Slice', [final, g.constI64([-1]), g.constI64([INT64_MAX]), g.constI64([1])]);
    const lm = await read(names.lmHead, [V, H]);
    const logits = linear(final, lm, V, H, 'lm_head', variant === 'int4' && (opts.quantizeLmHead ?? true));
    if (T === 'float16') g.op('Cast', [logits], { to: 1 }, { output: 'logits' });
    else g.op('Identity', [logits], {}, { output: 'logits' });
    await g.save();
  } catch (e) {
    await g.discard();
    throw e;
  }
  return spec;
}
