/**
 * @file Reads a Llama decoder's config and frozen weights from a Hugging Face checkpoint folder
 * (config.json + safetensors) for the training graph. Any Node process.
 *
 * Tensor names are found by suffix (`layers.N.self_attn.q_proj.weight`, …) because MusiLingo's shards prefix
 * them differently from a plain LlamaForCausalLM (DESIGN §4).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checkpoint } from '../../model/safetensors';
import type { LlamaDims, LlamaLayerWeights } from '../reference/llama-reference';
import type { LlamaWeightSource } from './llama-train-graph';

/** A config.json that cannot describe a Llama decoder; the message names the file and the field. */
export class LlamaConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LlamaConfigError';
  }
}

/**
 * The decoder's dimensions from a parsed config.json: the old layout (rope_theta at top level or absent =
 * 10000, head_dim = hidden/heads) and transformers 5's (rope_parameters.rope_theta, explicit head_dim).
 * A MusiLingo config nests the decoder under `llama_config`/`text_config` when present.
 */
export function llamaDimsFromConfig(raw: unknown, file = 'config.json'): LlamaDims {
  const top = (raw ?? {}) as Record<string, unknown>;
  const cfg = (top['text_config'] ?? top['llama_config'] ?? top) as Record<string, unknown>;
  const num = (key: string, fallback?: number): number => {
    const v = cfg[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new LlamaConfigError(`${file}: "${key}" is missing or not a number`);
    return v;
  };
  const hiddenSize = num('hidden_size');
  const numHeads = num('num_attention_heads');
  const rp = cfg['rope_parameters'] as Record<string, unknown> | undefined;
  const ropeTheta = typeof rp?.['rope_theta'] === 'number' ? rp['rope_theta'] : num('rope_theta', 10000);
  const dims: LlamaDims = {
    hiddenSize,
    intermediateSize: num('intermediate_size'),
    numLayers: num('num_hidden_layers'),
    numHeads,
    numKvHeads: num('num_key_value_heads', numHeads),
    headDim: typeof cfg['head_dim'] === 'number' ? cfg['head_dim'] : hiddenSize / numHeads,
    vocabSize: num('vocab_size'),
    rmsNormEps: num('rms_norm_eps', 1e-6),
    ropeTheta,
  };
  if (!Number.isInteger(dims.headDim) || dims.numHeads % dims.numKvHeads !== 0) {
    throw new LlamaConfigError(`${file}: ${dims.numHeads} heads, ${dims.numKvHeads} KV heads and head_dim ${dims.headDim} do not fit together`);
  }
  return dims;
}

/** Reads and parses `<dir>/config.json`. */
export async function readLlamaDims(dir: string): Promise<LlamaDims> {
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new LlamaConfigError(`Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return llamaDimsFromConfig(JSON.parse(text), file);
  } catch (e) {
    if (e instanceof LlamaConfigError) throw e;
    throw new LlamaConfigError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
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
