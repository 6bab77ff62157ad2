/**
 * @file Checking a MusiLingo checkpoint folder before it is converted or imported, and finding the configs of
 * its two models. Plain Node.
 *
 * [Note: Where component configs come from]
 * MusiLingo's released repos hold one merged checkpoint; whether their config.json carries usable MERT and
 * Llama sub-configs is not documented. So configs are looked for in this order:
 * 1. given explicitly (API options);
 * 2. config.json of each checkpoint folder: the top level or any nested object (up to three levels deep) whose
 *    model_type is `llama` (decoder) or `mert`/`mert_model`/`hubert`, or that has `conv_dim` +
 *    `do_stable_layer_norm` (encoder);
 * 3. inferred from tensor shapes: Llama with 128-wide heads (every LLaMA-1/2 and Vicuna size; hidden, layers,
 *    intermediate, vocab and KV heads from the weights), MERT with 64-wide heads and MERT-v1's strides (widths,
 *    kernels, layer count, positional-conv groups from the weights).
 * A checkpoint that fits none of these fails with a message saying which config is needed.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseLlamaConfig, type LlamaConfig } from '../../model/llama/config';
import { MERT_V1_330M, parseMertConfig, type MertConfig } from '../../model/mert/config';
import { openCheckpoint, type Checkpoint } from '../../model/safetensors';
import { BadCheckpointError } from './errors';

/**
 * Name of the file that makes a folder stand for several checkpoints (separate MERT, Llama and adapter folders
 * imported together): `{ "sources": ["/abs/mert", "/abs/vicuna", "/abs/adapter"] }`.
 */
export const SOURCES_FILE = 'musilingo-sources.json';

/** Replaces every folder holding a {@link SOURCES_FILE} by the folders it lists. */
export async function expandSources(sources: string | readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const src of typeof sources === 'string' ? [sources] : sources) {
    let listed: unknown;
    try {
      listed = (JSON.parse(await readFile(join(src, SOURCES_FILE), 'utf8')) as { sources?: unknown }).sources;
    } catch {
      out.push(src);
      continue;
    }
    if (!Array.isArray(listed) || !listed.every((x) => typeof x === 'string')) throw new BadCheckpointError(`${join(src, SOURCES_FILE)} must hold { "sources": [folder, …] }`);
    out.push(...(listed as string[]));
  }
  return out;
}

/** Expands checkpoint sources (folders, index files, .safetensors files) into a list of shard files. */
export async function checkpointFiles(sources: string | readonly string[]): Promise<string[]> {
  const list = await expandSources(sources);
  const out: string[] = [];
  for (const src of list) {
    const st = await stat(src).catch(() => undefined);
    if (!st) throw new BadCheckpointError(`Checkpoint not found: ${src}`);
    if (st.isDirectory()) {
      const entries = (await readdir(src)).sort();
      const index = entries.find((f) => f.endsWith('.safetensors.index.json'));
      if (index) out.push(...(await verifyIndex(join(src, index))).shards);
      else out.push(...(await selectCheckpointFiles(src, entries)).taken);
    } else if (src.endsWith('.json')) {
      out.push(...(await verifyIndex(src)).shards);
    } else {
      out.push(src);
    }
  }
  return out;
}

/**
 * Tensor names that belong to a model this app converts: MERT (HuBERT layout), Llama (decoder layers, embeddings,
 * head, final norm) or the llama_proj adapter, under any wrapper prefix. Anything else in a folder (the golden
 * outputs of a test checkpoint, an optimizer state, another model's weights) is not a checkpoint file.
 */
const MODEL_TENSOR = /(^|\.)(feature_extractor|feature_projection|encoder\.(layers|layer_norm|pos_conv_embed)|embed_tokens|lm_head|layers\.\d+\.(self_attn|mlp|input_layernorm|post_attention_layernorm)|norm|llama_proj|masked_spec_embed)\b/;

/** Files of one checkpoint folder: what is taken, and what is listed and ignored (with why). */
export interface FolderSelection {
  readonly dir: string;
  readonly taken: readonly string[];
  readonly ignored: readonly { readonly file: string; readonly reason: string }[];
}

/** Files a conversion reads beside the weights; never reported as ignored. */
const SIDE_FILES = new Set(['config.json', 'preprocessor_config.json', 'generation_config.json', 'tokenizer.model', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json', SOURCES_FILE, 'download.json']);

/**
 * The .safetensors files of a folder without an index that hold model weights (see {@link MODEL_TENSOR}); the
 * other files are listed as ignored, so that an import takes a test checkpoint or a Hub snapshot folder as it
 * is (goldens, READMEs, .bin copies beside the safetensors) instead of failing later at convert.
 */
export async function selectCheckpointFiles(dir: string, entries?: readonly string[]): Promise<FolderSelection> {
  const names = [...(entries ?? (await readdir(dir)))].sort();
  const taken: string[] = [];
  const ignored: { file: string; reason: string }[] = [];
  for (const f of names) {
    const path = join(dir, f);
    if (!f.endsWith('.safetensors')) {
      if (!SIDE_FILES.has(f) && !f.startsWith('.') && (await stat(path).catch(() => undefined))?.isFile()) ignored.push({ file: path, reason: 'not a weights file this app reads' });
      continue;
    }
    let ck: Checkpoint;
    try {
      ck = await openCheckpoint(path);
    } catch (e) {
      throw new BadCheckpointError(`${path} is not a readable safetensors file: ${(e as Error).message}`);
    }
    try {
      if (ck.names().some((n) => MODEL_TENSOR.test(n))) taken.push(path);
      else ignored.push({ file: path, reason: 'holds no MERT, Llama or adapter tensors' });
    } finally {
      await ck.close();
    }
  }
  if (taken.length === 0) {
    throw new BadCheckpointError(
      names.some((f) => f.endsWith('.safetensors'))
        ? `No model weights in ${dir}: none of its .safetensors files holds MERT, Llama or adapter tensors`
        : `No .safetensors files in ${dir}`,
    );
  }
  return { dir, taken, ignored };
}

/** What {@link checkpointFiles} takes from each source, and what it leaves (for the import summary). */
export async function describeCheckpoint(sources: string | readonly string[]): Promise<FolderSelection[]> {
  const out: FolderSelection[] = [];
  for (const src of await expandSources(sources)) {
    const st = await stat(src).catch(() => undefined);
    if (!st?.isDirectory()) {
      out.push({ dir: src, taken: await checkpointFiles(src), ignored: [] });
      continue;
    }
    const entries = (await readdir(src)).sort();
    const index = entries.find((f) => f.endsWith('.safetensors.index.json'));
    if (!index) {
      out.push(await selectCheckpointFiles(src, entries));
      continue;
    }
    const shards = (await verifyIndex(join(src, index))).shards;
    const ignored = entries
      .map((f) => join(src, f))
      .filter((p) => !shards.includes(p) && !p.endsWith(index) && !SIDE_FILES.has(p.slice(src.length + 1)) && !p.slice(src.length + 1).startsWith('.'))
      .map((file) => ({ file, reason: file.endsWith('.safetensors') ? `not listed in ${index}` : 'not a weights file this app reads' }));
    out.push({ dir: src, taken: shards, ignored });
  }
  return out;
}

/**
 * Checks a `model.safetensors.index.json`: every shard it names exists and holds the tensors the index says it
 * holds (headers only; a truncated shard fails here too). Returns the shard paths.
 */
export async function verifyIndex(indexPath: string): Promise<{ shards: string[]; tensors: number }> {
  let parsed: { weight_map?: Record<string, string> };
  try {
    parsed = JSON.parse(await readFile(indexPath, 'utf8')) as typeof parsed;
  } catch (e) {
    throw new BadCheckpointError(`Cannot read checkpoint index ${indexPath}: ${(e as Error).message}`);
  }
  const map = parsed.weight_map;
  if (!map || typeof map !== 'object') throw new BadCheckpointError(`${indexPath} has no weight_map`);
  const dir = join(indexPath, '..');
  const shards = [...new Set(Object.values(map))].sort();
  for (const s of shards) {
    if (!(await stat(join(dir, s)).catch(() => undefined))?.isFile()) {
      throw new BadCheckpointError(`Shard ${s} listed in ${basename(indexPath)} is missing from ${dir}`);
    }
  }
  let ck: Checkpoint;
  try {
    ck = await openCheckpoint(shards.map((s) => join(dir, s)));
  } catch (e) {
    throw new BadCheckpointError((e as Error).message);
  }
  try {
    for (const [name, shard] of Object.entries(map)) {
      if (!ck.has(name)) throw new BadCheckpointError(`Tensor "${name}" is listed in ${basename(indexPath)} under ${shard} but is not in it`);
      if (basename(ck.info(name).file) !== shard) {
        throw new BadCheckpointError(`Tensor "${name}" is listed in ${basename(indexPath)} under ${shard} but is in ${basename(ck.info(name).file)}`);
      }
    }
    const extra = ck.names().filter((n) => !(n in map));
    if (extra.length > 0) throw new BadCheckpointError(`${basename(indexPath)} does not list ${extra.length} tensor(s) of its shards, e.g. "${extra[0]}"`);
  } finally {
    await ck.close();
  }
  return { shards: shards.map((s) => join(dir, s)), tensors: Object.keys(map).length };
}

function findNested(obj: unknown, accept: (o: Record<string, unknown>) => boolean, depth = 0): Record<string, unknown> | undefined {
  if (typeof obj !== 'object' || obj === null || depth > 3) return undefined;
  const o = obj as Record<string, unknown>;
  if (depth > 0 && accept(o)) return o;
  for (const v of Object.values(o)) {
    const hit = findNested(v, accept, depth + 1);
    if (hit) return hit;
  }
  return undefined;
}

const isLlamaJson = (o: Record<string, unknown>): boolean => o.model_type === 'llama';
const isMertJson = (o: Record<string, unknown>): boolean =>
  (typeof o.model_type === 'string' && ['mert', 'mert_model', 'hubert'].includes(o.model_type.toLowerCase())) ||
  ('conv_dim' in o && 'do_stable_layer_norm' in o);

/** Configs found for the two models, and where each came from (for the manifest and messages). */
export interface ComponentConfigs {
  readonly encoder: MertConfig;
  readonly decoder: LlamaConfig;
  readonly encoderFrom: string;
  readonly decoderFrom: string;
}

/** Finds the encoder and decoder configs. See [Note: Where component configs come from]. */
export async function findConfigs(
  dirs: readonly string[],
  ck: Checkpoint,
  given: { encoder?: MertConfig | undefined; decoder?: LlamaConfig | undefined } = {},
): Promise<ComponentConfigs> {
  let encoder = given.encoder;
  let decoder = given.decoder;
  let encoderFrom = encoder ? 'given' : '';
  let decoderFrom = decoder ? 'given' : '';
  for (const dir of dirs) {
    const path = join(dir, 'config.json');
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch {
      continue;
    }
    if (!decoder) {
      const top = json as Record<string, unknown>;
      const d = isLlamaJson(top) ? top : findNested(json, isLlamaJson);
      if (d) {
        decoder = parseLlamaConfig(d, path);
        decoderFrom = path;
      }
    }
    if (!encoder) {
      const top = json as Record<string, unknown>;
      const e = isMertJson(top) ? top : findNested(json, isMertJson);
      if (e) {
        encoder = parseMertConfig(e, path);
        encoderFrom = path;
      }
    }
  }
  if (!decoder) {
    decoder = inferLlamaConfig(ck);
    decoderFrom = 'inferred from tensor shapes';
  }
  if (!encoder) {
    encoder = inferMertConfig(ck);
    encoderFrom = 'inferred from tensor shapes';
  }
  return { encoder, decoder, encoderFrom, decoderFrom };
}

function countLayers(ck: Checkpoint, prefix: string, marker: string): number {
  let n = 0;
  while (ck.has(`${prefix}layers.${n}.${marker}`)) n++;
  return n;
}

/** Llama config from shapes, assuming 128-wide heads. See [Note: Where component configs come from]. */
export function inferLlamaConfig(ck: Checkpoint): LlamaConfig {
  const embed = ck.findBySuffix('embed_tokens.weight');
  if (!embed) throw new BadCheckpointError(`No Llama decoder in ${ck.files.join(', ')}: no tensor named "*embed_tokens.weight"`);
  const p = embed.slice(0, -'embed_tokens.weight'.length);
  const [vocab, hidden] = ck.info(embed).shape as [number, number];
  const headDim = 128;
  if (hidden % headDim !== 0 || hidden < 2048) {
    throw new BadCheckpointError(
      `Cannot tell the decoder's attention heads from its weights (hidden size ${hidden}): put a config.json with the Llama config (model_type "llama") beside the checkpoint.`,
    );
  }
  const layers = countLayers(ck, p, 'self_attn.q_proj.weight');
  const inter = ck.info(`${p}layers.0.mlp.gate_proj.weight`).shape[0] ?? 0;
  const kvRows = ck.info(`${p}layers.0.self_attn.k_proj.weight`).shape[0] ?? hidden;
  return parseLlamaConfig(
    {
      model_type: 'llama', hidden_size: hidden, intermediate_size: inter, num_attention_heads: hidden / headDim,
      num_key_value_heads: kvRows / headDim, num_hidden_layers: layers, rms_norm_eps: 1e-6, vocab_size: vocab,
      max_position_embeddings: 2048, bos_token_id: 1, eos_token_id: 2,
    },
    'shapes of the checkpoint',
  );
}

/** MERT config from shapes, assuming 64-wide heads and MERT-v1's strides. */
export function inferMertConfig(ck: Checkpoint): MertConfig {
  const anchor = ck.findBySuffix('feature_extractor.conv_layers.0.conv.weight');
  if (!anchor) throw new BadCheckpointError(`No MERT encoder in ${ck.files.join(', ')}: no tensor named "*feature_extractor.conv_layers.0.conv.weight"`);
  const p = anchor.slice(0, -'feature_extractor.conv_layers.0.conv.weight'.length);
  const convDim: number[] = [];
  const convKernel: number[] = [];
  for (let i = 0; ck.has(`${p}feature_extractor.conv_layers.${i}.conv.weight`); i++) {
    const s = ck.info(`${p}feature_extractor.conv_layers.${i}.conv.weight`).shape;
    convDim.push(s[0] ?? 0);
    convKernel.push(s[2] ?? 0);
  }
  const proj = ck.info(`${p}feature_projection.projection.weight`).shape;
  const hidden = proj[0] ?? 0;
  const layers = countLayers(ck, `${p}encoder.`, 'attention.q_proj.weight');
  const inter = ck.info(`${p}encoder.layers.0.feed_forward.intermediate_dense.weight`).shape[0] ?? 0;
  const vName = [`${p}encoder.pos_conv_embed.conv.weight_v`, `${p}encoder.pos_conv_embed.conv.parametrizations.weight.original1`].find((n) => ck.has(n));
  const v = vName ? ck.info(vName).shape : [hidden, hidden / 16, 128];
  const sameKernels = convKernel.length === MERT_V1_330M.convKernel.length && convKernel.every((k, i) => k === MERT_V1_330M.convKernel[i]);
  if (!sameKernels || hidden % 64 !== 0) {
    throw new BadCheckpointError(
      `Cannot tell the encoder's strides and heads from its weights: put a config.json with the MERT config (model_type "mert" or "hubert") beside the checkpoint.`,
    );
  }
  return parseMertConfig(
    {
      hidden_size: hidden, num_hidden_layers: layers, num_attention_heads: hidden / 64, intermediate_size: inter,
      conv_dim: convDim, conv_kernel: convKernel, conv_stride: [...MERT_V1_330M.convStride], conv_bias: false,
      num_conv_pos_embeddings: v[2], num_conv_pos_embedding_groups: hidden / (v[1] ?? 1), feat_extract_norm: 'group',
      do_stable_layer_norm: true, layer_norm_eps: 1e-5, sample_rate: 24000,
    },
    'shapes of the checkpoint',
  );
}
