/** @file Random MERT-v1-330M-shaped weights made on read, for the CPU benches (bench/mert-cpu.ts, bench/captions-cpu.ts). */
import type { MertConfig } from '../../model/mert/config';
import type { WeightSource } from '../../model/mert/weights';
import type { TensorInfo } from '../../model/safetensors';

/** MERT-v1-330M's tensor names and shapes (HuBERT layout, weight-normed positional conv). */
export function mertTensors(cfg: MertConfig): Map<string, number[]> {
  const t = new Map<string, number[]>();
  const D = cfg.hiddenSize;
  cfg.convDim.forEach((c, i) => t.set(`feature_extractor.conv_layers.${i}.conv.weight`, [c, i === 0 ? 1 : cfg.convDim[i - 1]!, cfg.convKernel[i]!]));
  const c0 = cfg.convDim[0]!;
  const cl = cfg.convDim.at(-1)!;
  t.set('feature_extractor.conv_layers.0.layer_norm.weight', [c0]);
  t.set('feature_extractor.conv_layers.0.layer_norm.bias', [c0]);
  t.set('feature_projection.layer_norm.weight', [cl]);
  t.set('feature_projection.layer_norm.bias', [cl]);
  t.set('feature_projection.projection.weight', [D, cl]);
  t.set('feature_projection.projection.bias', [D]);
  t.set('encoder.pos_conv_embed.conv.weight_g', [1, 1, cfg.numConvPosEmbeddings]);
  t.set('encoder.pos_conv_embed.conv.weight_v', [D, D / cfg.numConvPosEmbeddingGroups, cfg.numConvPosEmbeddings]);
  t.set('encoder.pos_conv_embed.conv.bias', [D]);
  t.set('encoder.layer_norm.weight', [D]);
  t.set('encoder.layer_norm.bias', [D]);
  for (let l = 0; l < cfg.numLayers; l++) {
    const p = `encoder.layers.${l}.`;
    for (const m of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      t.set(`${p}attention.${m}.weight`, [D, D]);
      t.set(`${p}attention.${m}.bias`, [D]);
    }
    t.set(`${p}feed_forward.intermediate_dense.weight`, [cfg.intermediateSize, D]);
    t.set(`${p}feed_forward.intermediate_dense.bias`, [cfg.intermediateSize]);
    t.set(`${p}feed_forward.output_dense.weight`, [D, cfg.intermediateSize]);
    t.set(`${p}feed_forward.output_dense.bias`, [D]);
    for (const n of ['layer_norm', 'final_layer_norm']) {
      t.set(`${p}${n}.weight`, [D]);
      t.set(`${p}${n}.bias`, [D]);
    }
  }
  return t;
}

/** Random weights made on read (nothing on disk): uniform, scaled by fan-in so activations stay in range. */
export function randomMertSource(cfg: MertConfig): WeightSource {
  const shapes = mertTensors(cfg);
  const file = 'random MERT-v1-330M-shaped weights';
  const info = (name: string): TensorInfo => {
    const shape = shapes.get(name);
    if (!shape) throw new Error(`no tensor ${name}`);
    return { name, file, dtype: 'F32', shape, offset: 0, byteLength: shape.reduce((x, y) => x * y, 1) * 4 };
  };
  let seed = 1;
  return {
    files: [file],
    names: () => [...shapes.keys()],
    has: (name: string) => shapes.has(name),
    info,
    readF32(name: string) {
      const shape = info(name).shape;
      const n = shape.reduce((x, y) => x * y, 1);
      const isNormWeight = name.endsWith('norm.weight') || name.endsWith('weight_g');
      const fanIn = shape.length > 1 ? shape.slice(1).reduce((x, y) => x * y, 1) : 1;
      const scale = isNormWeight ? 0.1 : name.endsWith('bias') ? 0.02 : 1 / Math.sqrt(fanIn);
      const out = new Float32Array(n);
      let s = (seed++ * 2654435761) >>> 0;
      for (let i = 0; i < n; i++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        out[i] = (isNormWeight ? 1 : 0) + ((s / 2 ** 32) * 2 - 1) * scale;
      }
      return Promise.resolve(out);
    },
    close: () => Promise.resolve(),
  };
}
