/**
 * @file Token generation with a KV cache on an ONNX Llama decoder (inference utility process; no Electron).
 *
 * [Note: Generation loop]
 * One prefill run over the (left-padded) prompt embeddings, then one run per new token that feeds the
 * previous `present.*` tensors back as `past_key_values.*`. The attention mask grows by one column per
 * step; the decoder derives RoPE positions from it (see [Note: Llama decoder graph]), so a batch of prompts
 * of different lengths decodes exactly like each prompt alone. On the WebGPU EP the session is created with
 * `preferredOutputLocation: 'gpu-buffer'` for `present.*` (see model/ort/session.ts): the cache never
 * leaves the GPU, and each step disposes the tensors it replaced. Only the last position's logits are read.
 *
 * Token choice per row: repetition penalty (HF semantics, over prompt ids given by the caller and the
 * tokens generated so far), then greedy argmax when temperature is 0 (the default: MusiLingo's reference
 * samples at temperature 0.1 / top-p 0.5, which is effectively greedy), else temperature, top-k and top-p
 * sampling from a seeded RNG, so a seed reproduces a result. A row stops at an eos id or when its tokens
 * end with a stop sequence (MusiLingo: [835] "###" or [2277, 29937]); the returned tokens include the stop
 * tokens, as the reference's output does.
 */
import * as ort from 'onnxruntime-node';
import { mulberry32 } from '../random';
import type { Checkpoint } from '../safetensors';
import { f32ToF16 } from '../tensor/half';
import type { DecoderSpec } from './build-decoder';

/** MusiLingo's stop sequences: "###" as one token, or "##" + "#". */
export const MUSILINGO_STOP_SEQUENCES: readonly (readonly number[])[] = [[835], [2277, 29937]];

/** Looks up token embeddings (the decoder takes embeddings, not ids). */
export interface TokenEmbedder {
  readonly hiddenSize: number;
  /** Embeddings of `ids`, [ids.length, hiddenSize] row-major. */
  embed(ids: readonly number[]): Promise<Float32Array>;
}

/** An embedder over an in-memory table [vocab, hidden]. */
export function tableEmbedder(table: Float32Array, hiddenSize: number): TokenEmbedder {
  const vocab = table.length / hiddenSize;
  return {
    hiddenSize,
    embed(ids) {
      const out = new Float32Array(ids.length * hiddenSize);
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        if (!Number.isInteger(id) || id < 0 || id >= vocab) return Promise.reject(new RangeError(`Token id ${id} is outside the embedding table (${vocab} rows)`));
        out.set(table.subarray(id * hiddenSize, (id + 1) * hiddenSize), i * hiddenSize);
      }
      return Promise.resolve(out);
    },
  };
}

/** An embedder that reads rows from a checkpoint on demand (positional reads; nothing held in memory). */
export function checkpointEmbedder(ck: Checkpoint, tensorName: string): TokenEmbedder {
  const info = ck.info(tensorName);
  const hiddenSize = info.shape[1] ?? 0;
  return {
    hiddenSize,
    async embed(ids) {
      const out = new Float32Array(ids.length * hiddenSize);
      for (let i = 0; i < ids.length; i++) out.set(await ck.readRowsF32(tensorName, ids[i]!, 1), i * hiddenSize);
      return out;
    },
  };
}

/** Why a row stopped. */
export type StopReason = 'eos' | 'stop-sequence' | 'max-tokens' | 'cancelled';

/** Generation settings; all optional. */
export interface GenerationOptions {
  /** Default 300 (MusiLingo). */
  maxNewTokens?: number;
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Nucleus sampling mass (default 1 = off). */
  topP?: number;
  /** Keep the k most likely tokens (default 0 = off). */
  topK?: number;
  /** HF repetition penalty (default 1 = off). */
  repetitionPenalty?: number;
  /** Prompt token ids per row, for the repetition penalty (embeddings carry no ids). */
  promptTokenIds?: readonly (readonly number[])[];
  /** RNG seed for sampling (default 0). */
  seed?: number;
  /** Default {@link MUSILINGO_STOP_SEQUENCES}. */
  stopSequences?: readonly (readonly number[])[];
  /** Default [2]. */
  eosTokenIds?: readonly number[];
  signal?: AbortSignal;
  /** Called for every generated token. */
  onToken?: (event: { row: number; token: number; index: number }) => void;
  /** Receives one summary line per call (prefill time, decode speed). */
  log?: (line: string) => void;
}

/** Result for one prompt row. */
export interface GenerationResult {
  tokens: number[];
  stopReason: StopReason;
}

/** A decoder ready to run: session, its spec and the token embedder. */
export interface DecoderHandle {
  session: ort.InferenceSession;
  spec: DecoderSpec;
  embedder: TokenEmbedder;
  /** The provider the session runs on ('cpu', 'webgpu', 'cuda'); decides [Note: KV cache in place]. */
  executionProvider?: string;
}

/**
 * [Note: KV cache in place] On the CPU EP a 'gqa' decoder keeps its KV cache in one preallocated buffer per
 * layer and key/value, [B, kv_heads, prompt + max new tokens, head_dim], fed as `past_key_values.*` and
 * bound as the preallocated `present.*` output: GroupQueryAttention sees past and present share memory and
 * appends each step's keys and values in place (it reads seqlens_k, not the buffer length). Nothing of the
 * cache crosses into JavaScript between steps and no step concatenates it; only the logits come out.
 * bench/cpu-decode.ts measures the gain; the logits equal those of the copying loop exactly
 * (test/unit/model/llama/kv-in-place.test.ts). The 'ops' graph concatenates, so it keeps the copying loop.
 */
export function usesKvInPlace(decoder: Pick<DecoderHandle, 'spec' | 'executionProvider'>): boolean {
  return decoder.spec.attention === 'gqa' && decoder.executionProvider === 'cpu';
}

/** Applies HF's repetition penalty in place. */
export function applyRepetitionPenalty(logits: Float32Array, seen: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of seen) {
    const v = logits[id];
    if (v === undefined) continue;
    logits[id] = v > 0 ? v / penalty : v * penalty;
  }
}

/** Index of the largest value (first on ties). */
export function argmax(x: Float32Array): number {
  let best = 0;
  let bv = -Infinity;
  for (let i = 0; i < x.length; i++) {
    if (x[i]! > bv) {
      bv = x[i]!;
      best = i;
    }
  }
  return best;
}

/** Samples a token with temperature / top-k / top-p (HF order: temperature, top-k, top-p). */
export function sampleToken(logits: Float32Array, opts: { temperature: number; topK: number; topP: number }, random: () => number): number {
  if (!(opts.temperature > 0)) return argmax(logits);
  let idx = Array.from(logits.keys());
  idx.sort((a, b) => logits[b]! - logits[a]!);
  if (opts.topK > 0 && opts.topK < idx.length) idx = idx.slice(0, opts.topK);
  const maxL = logits[idx[0]!]!;
  let probs = idx.map((i) => Math.exp((logits[i]! - maxL) / opts.temperature));
  let z = probs.reduce((a, b) => a + b, 0);
  if (opts.topP < 1) {
    let cum = 0;
    let keep = 0;
    while (keep < probs.length && cum < opts.topP * z) cum += probs[keep++]!;
    keep = Math.max(1, keep);
    idx = idx.slice(0, keep);
    probs = probs.slice(0, keep);
    z = cum;
  }
  let r = random() * z;
  for (let i = 0; i < idx.length; i++) {
    r -= probs[i]!;
    if (r <= 0) return idx[i]!;
  }
  return idx[idx.length - 1]!;
}

function endsWith(tokens: readonly number[], seq: readonly number[]): boolean {
  if (seq.length === 0 || seq.length > tokens.length) return false;
  for (let i = 0; i < seq.length; i++) if (tokens[tokens.length - seq.length + i] !== seq[i]) return false;
  return true;
}

function toInput(spec: DecoderSpec, data: Float32Array, dims: number[]): ort.Tensor {
  return spec.dtype === 'float16' ? new ort.Tensor('float16', f32ToF16(data), dims) : new ort.Tensor('float32', data, dims);
}

function disposeTensor(t: ort.Tensor | undefined): void {
  if (t && t.location !== 'cpu') t.dispose();
}

/**
 * Generates tokens for a batch of prompts given as embeddings ([len_i, hidden] each; the caller builds
 * MusiLingo's [BOS, text, audio, text] layout). Prompts are left-padded to a common length. See
 * [Note: Generation loop].
 */
export async function generateTokens(decoder: DecoderHandle, prompts: readonly Float32Array[], options: GenerationOptions = {}): Promise<GenerationResult[]> {
  const { session, spec, embedder } = decoder;
  const H = spec.hiddenSize;
  const V = spec.vocabSize;
  const B = prompts.length;
  if (B === 0) return [];
  const maxNew = options.maxNewTokens ?? 300;
  const stops = options.stopSequences ?? MUSILINGO_STOP_SEQUENCES;
  const eos = new Set(options.eosTokenIds ?? [2]);
  const penalty = options.repetitionPenalty ?? 1;
  const sampling = { temperature: options.temperature ?? 0, topK: options.topK ?? 0, topP: options.topP ?? 1 };
  const random = mulberry32(options.seed ?? 0);
  const lens = prompts.map((p, i) => {
    if (p.length === 0 || p.length % H !== 0) throw new RangeError(`Prompt ${i} has ${p.length} values, not a positive multiple of hidden size ${H}`);
    return p.length / H;
  });
  const L = Math.max(...lens);
  if (spec.attention === 'gqa' && lens.some((n) => n !== L)) {
    throw new RangeError(`This decoder uses GroupQueryAttention, which cannot take left-padded prompts: give prompts of equal length (got ${lens.join(', ')}) or one at a time`);
  }

  const embeds = new Float32Array(B * L * H);
  // Row b's mask is pads[b] zeros (left padding) then ones; new tokens always add a one.
  const pads = lens.map((n) => L - n);
  prompts.forEach((p, b) => embeds.set(p, (b * L + pads[b]!) * H));
  const results: GenerationResult[] = prompts.map(() => ({ tokens: [], stopReason: 'max-tokens' }));
  const seen = prompts.map((_, b) => new Set(options.promptTokenIds?.[b] ?? []));
  const active = new Array<boolean>(B).fill(true);

  let past: Record<string, ort.Tensor> = {};
  const inPlace = usesKvInPlace(decoder);
  const kvType = spec.kvDtype ?? spec.dtype;
  /** In-place mode: the present.* outputs bound to the very tensors fed as past (see [Note: KV cache in place]). */
  const fetches: Record<string, ort.Tensor | null> = { logits: null };
  if (inPlace) {
    const rows = L + maxNew;
    const n = B * spec.numKvHeads * rows * spec.headDim;
    for (let i = 0; i < spec.numLayers; i++) {
      for (const kv of ['key', 'value']) {
        const t = new ort.Tensor(kvType, kvType === 'float16' ? new Uint16Array(n) : new Float32Array(n), [B, spec.numKvHeads, rows, spec.headDim]);
        past[`past_key_values.${i}.${kv}`] = t;
        fetches[`present.${i}.${kv}`] = t;
      }
    }
  } else {
    const empty = kvType === 'float16' ? new Uint16Array(0) : new Float32Array(0);
    for (let i = 0; i < spec.numLayers; i++) {
      for (const kv of ['key', 'value']) past[`past_key_values.${i}.${kv}`] = new ort.Tensor(kvType, empty, [B, spec.numKvHeads, 0, spec.headDim]);
    }
  }
  let input = toInput(spec, embeds, [B, L, H]);
  let total = L;
  const t0 = performance.now();
  let tPrefill = 0;
  let steps = 0;
  try {
    for (let step = 0; step < maxNew; step++) {
      if (options.signal?.aborted) {
        results.forEach((r, b) => {
          if (active[b]) r.stopReason = 'cancelled';
        });
        break;
      }
      const flatMask = new BigInt64Array(B * total).fill(1n);
      pads.forEach((n, b) => flatMask.fill(0n, b * total, b * total + n));
      const feeds = { ...past, inputs_embeds: input, attention_mask: new ort.Tensor('int64', flatMask, [B, total]) };
      const out = inPlace ? await session.run(feeds, fetches) : await session.run(feeds);
      steps++;
      if (step === 0) tPrefill = performance.now() - t0;
      if (!inPlace) {
        for (const t of Object.values(past)) disposeTensor(t);
        past = {};
        for (let i = 0; i < spec.numLayers; i++) {
          past[`past_key_values.${i}.key`] = out[`present.${i}.key`]!;
          past[`past_key_values.${i}.value`] = out[`present.${i}.value`]!;
        }
      }
      const logitsT = out.logits!;
      const logits = logitsT.data as Float32Array;
      const S = logitsT.dims[1]!;
      const next: number[] = [];
      for (let b = 0; b < B; b++) {
        if (!active[b]) {
          next.push([...eos][0] ?? 0);
          continue;
        }
        // A view when nothing edits the row (greedy / sampling read only); a copy for the penalty.
        const row = penalty === 1 ? logits.subarray((b * S + S - 1) * V, (b * S + S) * V) : logits.slice((b * S + S - 1) * V, (b * S + S) * V);
        applyRepetitionPenalty(row, seen[b]!, penalty);
        const token = sampleToken(row, sampling, random);
        const r = results[b]!;
        r.tokens.push(token);
        seen[b]!.add(token);
        options.onToken?.({ row: b, token, index: r.tokens.length - 1 });
        if (eos.has(token)) {
          r.stopReason = 'eos';
          active[b] = false;
        } else if (stops.some((s) => endsWith(r.tokens, s))) {
          r.stopReason = 'stop-sequence';
          active[b] = false;
        }
        next.push(token);
      }
      disposeTensor(logitsT);
      if (!active.some(Boolean) || step === maxNew - 1) break;
      input = toInput(spec, await embedder.embed(next), [B, 1, H]);
      total++;
    }
  } finally {
    for (const t of Object.values(past)) disposeTensor(t);
  }
  const decodeMs = performance.now() - t0 - tPrefill;
  options.log?.(`[model] llama.generate batch=${B} prompt=${L} prefill ${tPrefill.toFixed(0)} ms, ${steps - 1} decode steps ${decodeMs.toFixed(0)} ms (${((steps - 1) / (decodeMs / 1000 || 1)).toFixed(1)} steps/s)`);
  return results;
}
