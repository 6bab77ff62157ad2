/**
 * @file MERT-v1 (HuBERT-style) encoder configuration: read from a checkpoint's config.json and validated
 * (any process).
 */
import { readFile } from 'node:fs/promises';

/** The parts of config.json the encoder graph depends on. */
export interface MertConfig {
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly intermediateSize: number;
  readonly convDim: readonly number[];
  readonly convKernel: readonly number[];
  readonly convStride: readonly number[];
  readonly convBias: boolean;
  readonly numConvPosEmbeddings: number;
  readonly numConvPosEmbeddingGroups: number;
  readonly layerNormEps: number;
  /** The conv-0 GroupNorm epsilon: torch's GroupNorm default, not in config.json. */
  readonly groupNormEps: number;
  readonly sampleRateHz: number;
}

/** A config.json the encoder cannot use; the message names the file and the field. */
export class MertConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MertConfigError';
  }
}

/** MERT-v1-330M's shape (config.json of m-a-p/MERT-v1-330M), for benchmarks and defaults. */
export const MERT_V1_330M: MertConfig = {
  hiddenSize: 1024, numLayers: 24, numHeads: 16, intermediateSize: 4096,
  convDim: [512, 512, 512, 512, 512, 512, 512], convKernel: [10, 3, 3, 3, 3, 2, 2], convStride: [5, 2, 2, 2, 2, 2, 2],
  convBias: false, numConvPosEmbeddings: 128, numConvPosEmbeddingGroups: 16, layerNormEps: 1e-5, groupNormEps: 1e-5,
  sampleRateHz: 24000,
};

function need<T>(raw: Record<string, unknown>, key: string, where: string, check: (v: unknown) => v is T, what: string): T {
  const v = raw[key];
  if (!check(v)) throw new MertConfigError(`${where}: "${key}" must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}

const isPosInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;
const isIntList = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every(isPosInt);

/**
 * Validates a parsed config.json (HubertConfig / MERTConfig fields). Only the structure MERT-v1 uses is
 * accepted: group-norm feature encoder, stable (pre-LN) layer norm, exact GELU; anything else fails with the
 * allowed values named.
 */
export function parseMertConfig(raw: unknown, where = 'config.json'): MertConfig {
  if (typeof raw !== 'object' || raw === null) throw new MertConfigError(`${where} is not a JSON object`);
  const r = raw as Record<string, unknown>;
  const norm = r.feat_extract_norm ?? 'group';
  if (norm !== 'group') throw new MertConfigError(`${where}: feat_extract_norm "${String(norm)}" is not supported. Expected one of: group`);
  if (r.do_stable_layer_norm !== true) {
    throw new MertConfigError(`${where}: do_stable_layer_norm must be true (pre-LN layers as in MERT-v1); got ${JSON.stringify(r.do_stable_layer_norm)}`);
  }
  if (r.feat_proj_layer_norm === false) throw new MertConfigError(`${where}: feat_proj_layer_norm false is not supported. Expected: true`);
  for (const key of ['hidden_act', 'feat_extract_activation']) {
    const act = r[key] ?? 'gelu';
    if (act !== 'gelu') throw new MertConfigError(`${where}: ${key} "${String(act)}" is not supported. Expected one of: gelu`);
  }
  if (r.feature_extractor_cqt === true) throw new MertConfigError(`${where}: feature_extractor_cqt true is not supported. Expected: false`);
  if (r.deepnorm === true) throw new MertConfigError(`${where}: deepnorm true is not supported. Expected: false`);
  const hiddenSize = need(r, 'hidden_size', where, isPosInt, 'a positive integer');
  const numHeads = need(r, 'num_attention_heads', where, isPosInt, 'a positive integer');
  if (hiddenSize % numHeads !== 0) throw new MertConfigError(`${where}: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`);
  const convDim = need(r, 'conv_dim', where, isIntList, 'a list of positive integers');
  const convKernel = need(r, 'conv_kernel', where, isIntList, 'a list of positive integers');
  const convStride = need(r, 'conv_stride', where, isIntList, 'a list of positive integers');
  if (convKernel.length !== convDim.length || convStride.length !== convDim.length) {
    throw new MertConfigError(`${where}: conv_dim, conv_kernel and conv_stride must have the same length (${convDim.length}, ${convKernel.length}, ${convStride.length})`);
  }
  const groups = need(r, 'num_conv_pos_embedding_groups', where, isPosInt, 'a positive integer');
  if (hiddenSize % groups !== 0) throw new MertConfigError(`${where}: hidden_size ${hiddenSize} is not a multiple of num_conv_pos_embedding_groups ${groups}`);
  const eps = r.layer_norm_eps ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0)) throw new MertConfigError(`${where}: layer_norm_eps must be a positive number, got ${JSON.stringify(eps)}`);
  const sr = r.sample_rate ?? 24000;
  if (!isPosInt(sr)) throw new MertConfigError(`${where}: sample_rate must be a positive integer, got ${JSON.stringify(sr)}`);
  return {
    hiddenSize,
    numLayers: need(r, 'num_hidden_layers', where, isPosInt, 'a positive integer'),
    numHeads,
    intermediateSize: need(r, 'intermediate_size', where, isPosInt, 'a positive integer'),
    convDim, convKernel, convStride,
    convBias: r.conv_bias === true,
    numConvPosEmbeddings: need(r, 'num_conv_pos_embeddings', where, isPosInt, 'a positive integer'),
    numConvPosEmbeddingGroups: groups,
    layerNormEps: eps,
    groupNormEps: 1e-5,
    sampleRateHz: sr,
  };
}

/** Reads and validates a config.json file. */
export async function readMertConfig(path: string): Promise<MertConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new MertConfigError(`Cannot read MERT config ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new MertConfigError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseMertConfig(raw, path);
}

/** Frames the conv feature encoder makes from `samples` input samples (0 when too short). */
export function mertFrameCount(cfg: Pick<MertConfig, 'convKernel' | 'convStride'>, samples: number): number {
  let t = samples;
  for (let i = 0; i < cfg.convKernel.length; i++) {
    const k = cfg.convKernel[i]!;
    const s = cfg.convStride[i]!;
    if (t < k) return 0;
    t = Math.floor((t - k) / s) + 1;
  }
  return t;
}

/** The fewest input samples that give one frame (MERT-v1: 400 samples, 16.7 ms at 24 kHz). */
export function mertMinSamples(cfg: Pick<MertConfig, 'convKernel' | 'convStride'>): number {
  let n = 1;
  for (let i = cfg.convKernel.length - 1; i >= 0; i--) n = (n - 1) * cfg.convStride[i]! + cfg.convKernel[i]!;
  return n;
}
