/**
 * @file Builds an ONNX graph of a BERT/RoBERTa encoder truncated to its first N layers (any Node process).
 *
 * [Note: BERTScore's encoder graph]
 * BERTScore (bert_score, lang="en") embeds sentences with roberta-large and keeps the output of layer
 * 17 of 24 (`model.encoder.layer = layer[:17]`, then the model's last hidden state). RoBERTa is a
 * post-LN transformer: embeddings = LayerNorm(word + position + token-type[0]), then per layer
 * a = LN(x + Wo·MHA(x) + bo) and x' = LN(a + W2·gelu(W1·a + b1) + b2), with exact (erf) GELU and
 * attention masked with (1 − mask)·float32_min as transformers does. Position ids are RoBERTa's
 * (padding_idx + 1 + i for real tokens, padding_idx for padding) and are computed by the caller, so the
 * same graph serves BERT-style checkpoints (position ids from 0) too. Weights are found by suffix, so
 * "roberta."-prefixed and bare checkpoints both load; old "gamma"/"beta" LayerNorm names are accepted.
 * The graph is float32 throughout and uses only default-domain opset-17 ops (LayerNormalization, Erf).
 *
 * Inputs: input_ids, attention_mask, position_ids: int64 [batch, seq]. Output: hidden [batch, seq, H].
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder, attrFloat, attrInts } from '../onnx/graph-builder';
import { CheckpointError, expectShape, type Checkpoint } from '../safetensors';

/** What the graph needs from config.json. */
export interface EncoderConfig {
  readonly hiddenSize: number;
  readonly numHeads: number;
  readonly numLayers: number;
  readonly intermediateSize: number;
  readonly layerNormEps: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly padTokenId: number;
  readonly modelType: string;
}

/** Reads a transformers BERT/RoBERTa config.json. */
export function readEncoderConfig(dir: string): EncoderConfig {
  const path = join(dir, 'config.json');
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`Cannot read ${path}: ${(e as Error).message}`, { file: path });
  }
  const num = (k: string, dflt?: number): number => {
    const v = c[k] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new CheckpointError(`${path}: "${k}" is missing or not a number`, { file: path });
    return v;
  };
  const act = c.hidden_act ?? 'gelu';
  if (act !== 'gelu') throw new CheckpointError(`${path}: hidden_act "${String(act)}" is not supported (expected "gelu")`, { file: path });
  return {
    hiddenSize: num('hidden_size'),
    numHeads: num('num_attention_heads'),
    numLayers: num('num_hidden_layers'),
    intermediateSize: num('intermediate_size'),
    layerNormEps: num('layer_norm_eps', 1e-12),
    vocabSize: num('vocab_size'),
    maxPositions: num('max_position_embeddings'),
    padTokenId: num('pad_token_id', 0),
    modelType: typeof c.model_type === 'string' ? c.model_type : 'bert',
  };
}

function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c]!;
  return t;
}

/** Builds the encoder graph of the first `layers` layers into `outPath` (+ .data). */
export async function buildEncoderGraph(ck: Checkpoint, cfg: EncoderConfig, layers: number, outPath: string): Promise<void> {
  if (!Number.isInteger(layers) || layers < 1 || layers > cfg.numLayers) {
    throw new CheckpointError(`Cannot keep ${layers} layers of a ${cfg.numLayers}-layer encoder (${ck.files[0] ?? ''})`);
  }
  const H = cfg.hiddenSize;
  const nh = cfg.numHeads;
  if (H % nh !== 0) throw new CheckpointError(`hidden_size ${H} is not a multiple of num_attention_heads ${nh}`);
  const dh = H / nh;
  const g = new GraphBuilder({ name: `${cfg.modelType}-encoder-L${layers}`, outPath, opset: 17 });
  try {
    const find = (...suffixes: string[]): string => {
      for (const s of suffixes) {
        const n = ck.findBySuffix(s);
        if (n !== undefined) return n;
      }
      return ck.requireBySuffix(suffixes[0]!);
    };
    const vec = async (names: string[], len: number): Promise<Float32Array> => {
      const n = find(...names);
      expectShape(n, ck.info(n).shape, [len], ck.info(n).file);
      return ck.readF32(n);
    };
    const lnWeights = async (prefix: string): Promise<[string, string]> => [
      g.initF32(undefined, await vec([`${prefix}.weight`, `${prefix}.gamma`], H), [H]),
      g.initF32(undefined, await vec([`${prefix}.bias`, `${prefix}.beta`], H), [H]),
    ];
    const linear = async (prefix: string, out: number, inp: number): Promise<[string, string]> => {
      const wn = find(`${prefix}.weight`);
      expectShape(wn, ck.info(wn).shape, [out, inp], ck.info(wn).file);
      const w = g.initF32(undefined, transpose(await ck.readF32(wn), out, inp), [inp, out]);
      const b = g.initF32(undefined, await vec([`${prefix}.bias`], out), [out]);
      return [w, b];
    };
    const ln = (x: string, [w, b]: [string, string]): string =>
      g.op('LayerNormalization', [x, w, b], { axis: -1, epsilon: attrFloat(cfg.layerNormEps) });
    const dense = (x: string, [w, b]: [string, string]): string => g.op('Add', [g.op('MatMul', [x, w]), b]);

    const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
    const mask = g.input('attention_mask', 'int64', ['batch', 'seq']);
    const pos = g.input('position_ids', 'int64', ['batch', 'seq']);

    const wordName = find('embeddings.word_embeddings.weight');
    expectShape(wordName, ck.info(wordName).shape, [cfg.vocabSize, H], ck.info(wordName).file);
    const posName = find('embeddings.position_embeddings.weight');
    expectShape(posName, ck.info(posName).shape, [cfg.maxPositions, H], ck.info(posName).file);
    const wordEmb = g.initF32('word_embeddings', await ck.readF32(wordName), [cfg.vocabSize, H]);
    const posEmb = g.initF32('position_embeddings', await ck.readF32(posName), [cfg.maxPositions, H]);
    let x = g.op('Add', [g.op('Gather', [wordEmb, ids], { axis: 0 }), g.op('Gather', [posEmb, pos], { axis: 0 })]);
    const ttName = ck.findBySuffix('embeddings.token_type_embeddings.weight');
    if (ttName !== undefined) {
      const row0 = await ck.readRowsF32(ttName, 0, 1);
      if (row0.length !== H) throw new CheckpointError(`Tensor "${ttName}" rows have ${row0.length} values, expected ${H}`, { tensor: ttName });
      x = g.op('Add', [x, g.initF32(undefined, row0, [H])]);
    }
    x = ln(x, await lnWeights('embeddings.LayerNorm'));

    // (1 − mask) · float32_min, shaped [batch, 1, 1, seq] to broadcast over heads and queries.
    const maskF = g.op('Cast', [mask], { to: 1 });
    const bias = g.op('Unsqueeze', [
      g.op('Mul', [g.op('Sub', [g.constF32([1]), maskF]), g.constF32([-3.4028234663852886e38])]),
      g.constI64([1, 2]),
    ]);
    const headsShape = g.constI64([0, 0, nh, dh]);
    const mergedShape = g.constI64([0, 0, H]);
    const scale = g.constF32([1 / Math.sqrt(dh)]);
    const invSqrt2 = g.constF32([Math.SQRT1_2]);
    const half = g.constF32([0.5]);
    const one = g.constF32([1]);

    for (let l = 0; l < layers; l++) {
      const p = `encoder.layer.${l}`;
      const q = g.op('Transpose', [g.op('Reshape', [dense(x, await linear(`${p}.attention.self.query`, H, H)), headsShape])], { perm: attrInts([0, 2, 1, 3]) });
      const k = g.op('Transpose', [g.op('Reshape', [dense(x, await linear(`${p}.attention.self.key`, H, H)), headsShape])], { perm: attrInts([0, 2, 3, 1]) });
      const v = g.op('Transpose', [g.op('Reshape', [dense(x, await linear(`${p}.attention.self.value`, H, H)), headsShape])], { perm: attrInts([0, 2, 1, 3]) });
      const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, k]), scale]), bias]);
      const probs = g.op('Softmax', [scores], { axis: -1 });
      const ctx = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: attrInts([0, 2, 1, 3]) }), mergedShape]);
      const attnOut = dense(ctx, await linear(`${p}.attention.output.dense`, H, H));
      const a = ln(g.op('Add', [attnOut, x]), await lnWeights(`${p}.attention.output.LayerNorm`));
      const h1 = dense(a, await linear(`${p}.intermediate.dense`, cfg.intermediateSize, H));
      // Exact GELU: 0.5 · h · (1 + erf(h / √2)).
      const gelu = g.op('Mul', [g.op('Mul', [h1, half]), g.op('Add', [one, g.op('Erf', [g.op('Mul', [h1, invSqrt2])])])]);
      const h2 = dense(gelu, await linear(`${p}.output.dense`, H, cfg.intermediateSize));
      x = ln(g.op('Add', [h2, a]), await lnWeights(`${p}.output.LayerNorm`));
    }
    g.op('Identity', [x], {}, { output: 'hidden' });
    g.output('hidden', 'float32', ['batch', 'seq', H]);
    await g.save();
  } catch (e) {
    await g.discard();
    throw e;
  }
}
