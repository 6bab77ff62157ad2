/**
 * @file Reads a Llama decoder's config and frozen weights from a Hugging Face checkpoint folder
 * (config.json + safetensors) for the training graph. Any Node process.
 *
 * Tensor names are found by suffix (`layers.N.self_attn.q_proj.weight`, …) because MusiLingo's shards prefix
 * them differently from a plain LlamaForCausalLM (DESIGN §4).
 */
import { join } from 'node:path';
import { readLlamaConfig } from '../../model/llama/config';
import type { Checkpoint } from '../../model/safetensors';
import type { LlamaDims, LlamaLayerWeights } from '../reference/llama-reference';
import type { LlamaWeightSource } from './llama-train-graph';

/** Reads `<dir>/config.json` (either HF layout) into the decoder dimensions the training graph needs. */
export async function readLlamaDims(dir: string): Promise<LlamaDims> {
  return readLlamaConfig(join(dir, 'config.json'));
}

/** A {@link LlamaWeightSource} over an opened checkpoint; reads one layer at a time. */
export function checkpointWeightSource(ck: Checkpoint, dims: LlamaDims): LlamaWeightSource {
  const read = (suffix: string): Promise<Float32Array> => ck.readF32(ck.requireBySuffix(suffix));
  return {
    dims,
    async layer(i): Promise<LlamaLayerWeights<Float32Array>> {
      const p = `layers.${i}`;
      return {
        inputNorm: await read(`${p}.input_layernorm.weight`),
        q: await read(`${p}.self_attn.q_proj.weight`),
        k: await read(`${p}.self_attn.k_proj.weight`),
        v: await read(`${p}.self_attn.v_proj.weight`),
        o: await read(`${p}.self_attn.o_proj.weight`),
        postNorm: await read(`${p}.post_attention_layernorm.weight`),
        gate: await read(`${p}.mlp.gate_proj.weight`),
        up: await read(`${p}.mlp.up_proj.weight`),
        down: await read(`${p}.mlp.down_proj.weight`),
      };
    },
    finalNorm: () => read(ck.names().some((n) => n.endsWith('model.norm.weight')) ? 'model.norm.weight' : 'norm.weight'),
    lmHead: () => read('lm_head.weight'),
  };
}

/** Reads rows of the token embedding table (`embed_tokens.weight`) for prompt tokens. */
export function checkpointEmbedder(ck: Checkpoint, hidden: number): (ids: readonly number[]) => Promise<Float32Array> {
  const name = ck.requireBySuffix('embed_tokens.weight');
  const rows = ck.info(name).shape[0] ?? 0;
  return async (ids) => {
    const out = new Float32Array(ids.length * hidden);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] ?? 0;
      if (!Number.isInteger(id) || id < 0 || id >= rows) throw new Error(`token id ${id} is outside the embedding table (${rows} rows) of ${ck.files.join(', ')}`);
      out.set(await ck.readRowsF32(name, id, 1), i * hidden);
    }
    return out;
  };
}
