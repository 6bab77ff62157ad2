/**
 * @file Llama config reader: HF config.json (old and transformers 5 layouts) → {@link LlamaConfig}
 * (any process).
 */
import { readFile } from 'node:fs/promises';

/** The numbers a Llama decoder is built from. */
export interface LlamaConfig {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  bosTokenId: number;
  /** End-of-sequence ids (config may list several). */
  eosTokenIds: number[];
}

/** A config that cannot be turned into a Llama decoder; the message names the file and the field. */
export class LlamaConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LlamaConfigError';
  }
}

const SUPPORTED_MODEL_TYPES = ['llama'];
const SUPPORTED_ARCHITECTURES = ['LlamaForCausalLM', 'LlamaModel'];

/**
 * Parses an HF Llama config. Accepts transformers ≤4 (`rope_theta` at top level or absent = 10000, no
 * `head_dim`) and transformers 5 (`rope_parameters.rope_theta`, explicit `head_dim`). `source` names the
 * file in error messages.
 */
export function parseLlamaConfig(json: unknown, source = 'config.json'): LlamaConfig {
  if (typeof json !== 'object' || json === null) throw new LlamaConfigError(`${source} is not a JSON object`);
  const c = json as Record<string, unknown>;
  const modelType = c.model_type;
  const archs = Array.isArray(c.architectures) ? (c.architectures as unknown[]).map(String) : [];
  const typeOk = typeof modelType === 'string' ? SUPPORTED_MODEL_TYPES.includes(modelType) : archs.some((a) => SUPPORTED_ARCHITECTURES.includes(a));
  if (!typeOk || (archs.length > 0 && !archs.some((a) => SUPPORTED_ARCHITECTURES.includes(a)))) {
    throw new LlamaConfigError(
      `Unsupported architecture in ${source}: model_type ${JSON.stringify(modelType)}, architectures ${JSON.stringify(c.architectures ?? null)}. ` +
        `Expected model_type one of: ${SUPPORTED_MODEL_TYPES.join(', ')} (architectures ${SUPPORTED_ARCHITECTURES.join(', ')})`,
    );
  }
  function int(key: string, fallback?: number): number {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new LlamaConfigError(`${source}: "${key}" must be a positive integer, got ${JSON.stringify(c[key])}`);
    }
    return v;
  }
  const hiddenSize = int('hidden_size');
  const numHeads = int('num_attention_heads');
  const numKvHeads = int('num_key_value_heads', numHeads);
  const headDim = c.head_dim == null ? hiddenSize / numHeads : int('head_dim');
  if (!Number.isInteger(headDim)) throw new LlamaConfigError(`${source}: hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  if (numHeads % numKvHeads !== 0) {
    throw new LlamaConfigError(`${source}: num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  }
  const ropeParams = c.rope_parameters as Record<string, unknown> | undefined | null;
  const ropeScaling = (c.rope_scaling ?? null) as Record<string, unknown> | null;
  const ropeType = ropeParams?.rope_type ?? ropeScaling?.rope_type ?? ropeScaling?.type ?? 'default';
  if (ropeType !== 'default') {
    throw new LlamaConfigError(`${source}: RoPE scaling type ${JSON.stringify(ropeType)} is not supported. Expected one of: default`);
  }
  const theta = ropeParams?.rope_theta ?? c.rope_theta ?? 10000;
  if (typeof theta !== 'number' || !(theta > 0)) throw new LlamaConfigError(`${source}: rope_theta must be a positive number, got ${JSON.stringify(theta)}`);
  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') throw new LlamaConfigError(`${source}: hidden_act ${JSON.stringify(act)} is not supported. Expected one of: silu`);
  if (c.attention_bias === true || c.mlp_bias === true) throw new LlamaConfigError(`${source}: attention_bias / mlp_bias are not supported`);
  const eps = c.rms_norm_eps ?? 1e-6;
  if (typeof eps !== 'number' || !(eps > 0)) throw new LlamaConfigError(`${source}: rms_norm_eps must be a positive number`);
  const eos = c.eos_token_id ?? 2;
  const eosTokenIds = (Array.isArray(eos) ? eos : [eos]).filter((x): x is number => typeof x === 'number');
  return {
    hiddenSize,
    numLayers: int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: int('intermediate_size'),
    rmsNormEps: eps,
    ropeTheta: theta,
    vocabSize: int('vocab_size'),
    maxPositionEmbeddings: int('max_position_embeddings', 2048),
    tieWordEmbeddings: c.tie_word_embeddings === true,
    bosTokenId: typeof c.bos_token_id === 'number' ? c.bos_token_id : 1,
    eosTokenIds,
  };
}

/** Reads and parses a config.json file. */
export async function readLlamaConfig(path: string): Promise<LlamaConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new LlamaConfigError(`Cannot read Llama config ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LlamaConfigError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseLlamaConfig(json, path);
}
