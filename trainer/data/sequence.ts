/**
 * @file Tokenizes examples and assembles training sequences in MusiLingo's prompt layout (DESIGN §3). Pure TS
 * plus an injected embedding lookup.
 *
 * [Note: Training sequence layout]
 * inputs_embeds = [embed(BOS), embed(tok("###Human: <Audio>")), adapter(pooled),
 *                  embed(tok("</Audio> " + question + " ###Assistant: ")), embed(tok(answer + "###"))]
 * Every text part is tokenized on its own without special tokens. Labels are −100 everywhere except the
 * answer tokens, which carry their own ids (HF's convention; the graph shifts them). The answer part is cut
 * to at most 160 tokens, as the reference's max_txt_len does, and a sequence that would still exceed
 * `maxSequence` positions is cut further.
 */
import { PROMPT_BEFORE, promptAfter } from '../../model/inference/prompt';
import { applyAdapter, type AdapterWeights } from '../adapter';
import type { Example, LibraryWindow } from './dataset';

/** Text → token ids, no BOS/EOS (SentencePiece adds its "▁" per call). */
export type Encode = (text: string) => number[];

/** Token ids → [n, hidden] float32 rows of the frozen embedding table. */
export type EmbedLookup = (ids: readonly number[]) => Promise<Float32Array>;

/** The reference's cap on answer tokens (max_txt_len). */
export const MAX_ANSWER_TOKENS = 160;

/** An example with its text parts tokenized once. */
export interface TokenizedExample {
  readonly example: Example;
  readonly beforeIds: readonly number[];
  readonly afterIds: readonly number[];
  readonly answerIds: readonly number[];
  /** True when the answer was cut to fit. */
  readonly truncated: boolean;
}

/** Options of {@link tokenizeExample}. */
export interface TokenizeOptions {
  readonly maxAnswerTokens?: number;
  /** Upper bound on the whole sequence (the decoder's context), default 2048. */
  readonly maxSequence?: number;
}

/** Tokenizes one example ([Note: Training sequence layout]). */
export function tokenizeExample(encode: Encode, ex: Example, opts: TokenizeOptions = {}): TokenizedExample {
  const beforeIds = encode(PROMPT_BEFORE);
  const afterIds = encode(promptAfter(ex.question));
  let answerIds = encode(`${ex.answer}###`);
  const maxRows = Math.max(0, ...ex.windows.map((w) => w.rows));
  const room = (opts.maxSequence ?? 2048) - 1 - beforeIds.length - maxRows - afterIds.length;
  const cap = Math.min(opts.maxAnswerTokens ?? MAX_ANSWER_TOKENS, room);
  const truncated = answerIds.length > cap;
  if (truncated) answerIds = answerIds.slice(0, Math.max(0, cap));
  return { example: ex, beforeIds, afterIds, answerIds, truncated };
}

/** One assembled sequence ready for a {@link GradientEngine}. */
export interface Sequence {
  /** [S, hidden] */
  readonly inputsEmbeds: Float32Array;
  readonly labels: number[];
  /** First music position. */
  readonly musicOffset: number;
  /** The window whose pooled vectors sit at the music positions. */
  readonly window: LibraryWindow;
  /** Number of answer tokens that carry a loss. */
  readonly answerTokens: number;
}

/** Assembles a sequence for `t` with `window` and the current adapter. */
export async function assembleSequence(
  t: TokenizedExample,
  window: LibraryWindow,
  adapter: AdapterWeights,
  embed: EmbedLookup,
  bosId = 1,
): Promise<Sequence> {
  const H = adapter.outDim;
  const prefix = [bosId, ...t.beforeIds];
  const suffix = [...t.afterIds, ...t.answerIds];
  const pre = await embed(prefix);
  const post = await embed(suffix);
  const music = applyAdapter(adapter, window.embedding, window.rows);
  const S = prefix.length + window.rows + suffix.length;
  const x = new Float32Array(S * H);
  x.set(pre, 0);
  x.set(music, prefix.length * H);
  x.set(post, (prefix.length + window.rows) * H);
  const labels = new Array<number>(S).fill(-100);
  const answerStart = S - t.answerIds.length;
  t.answerIds.forEach((id, i) => (labels[answerStart + i] = id));
  return { inputsEmbeds: x, labels, musicOffset: prefix.length, window, answerTokens: t.answerIds.length };
}

/** An {@link EmbedLookup} with a bounded cache of rows (prompt tokens repeat across every example). */
export function cachedEmbedLookup(lookup: EmbedLookup, hidden: number, maxRows = 8192): EmbedLookup {
  const cache = new Map<number, Float32Array>();
  return async (ids) => {
    const local = new Map<number, Float32Array>();
    for (const id of ids) {
      const hit = cache.get(id);
      if (hit) local.set(id, hit);
    }
    const missing = [...new Set(ids.filter((id) => !local.has(id)))];
    if (missing.length > 0) {
      const rows = await lookup(missing);
      missing.forEach((id, i) => {
        const row = rows.slice(i * hidden, (i + 1) * hidden);
        local.set(id, row);
        if (cache.size >= maxRows) cache.delete(cache.keys().next().value as number);
        cache.set(id, row);
      });
    }
    const out = new Float32Array(ids.length * hidden);
    ids.forEach((id, i) => out.set(local.get(id)!, i * hidden));
    return out;
  };
}
