/**
 * @file MusiLingo's prompt layout and answer post-processing (DESIGN §3), as pure functions. Any process.
 *
 * [Note: MusiLingo prompt]
 * inputs_embeds = [embed(BOS), embed(tok("###Human: <Audio>")), adapter(pooled), embed(tok(after))] with
 * after = "</Audio> " + question + " ###Assistant: ". Each text part is tokenized on its own without special
 * tokens, so SentencePiece puts its "▁" word-start marker at the start of each part, as in the reference.
 *
 * [Note: Multi-turn questions]
 * MusiLingo was trained on single turns, but its conversation format (MiniGPT-4's "###"-separated Human and
 * Assistant turns) extends naturally. Earlier answered turns of a thread go into `after`, the audio stays in
 * the first Human turn:
 *   "</Audio> " + q1 + " ###Assistant: " + a1 + " ###Human: " + q2 + " ###Assistant: "
 * i.e. each earlier answer is followed by " ###Human: " and the next question, and the string always ends
 * with the current question + " ###Assistant: " exactly as a single turn does. The answers are the stored,
 * post-processed texts (no "###" inside them). When the whole prompt would not fit the decoder's context
 * with room for the answer, the oldest turns are dropped first (the current question always stays).
 */

/** The captioning question of the reference. */
export const CAPTION_QUESTION = 'Please give a caption to the music.';

/** The text before the audio embeddings. */
export const PROMPT_BEFORE = '###Human: <Audio>';

/** An earlier answered turn of a thread. */
export interface PromptTurn {
  readonly question: string;
  readonly answer: string;
}

/** The text after the audio embeddings for `question`, with earlier `history` turns; see [Note: Multi-turn questions]. */
export function promptAfter(question: string, history: readonly PromptTurn[] = []): string {
  let s = '</Audio> ';
  for (const t of history) s += `${t.question.trim()} ###Assistant: ${t.answer.trim()} ###Human: `;
  return `${s}${question.trim()} ###Assistant: `;
}

/** Token ids of a prompt, in order: [bos] + before + <audio rows> + after. */
export interface PromptIds {
  readonly bosId: number;
  readonly before: readonly number[];
  readonly after: readonly number[];
  /** How many earlier turns were kept (the oldest are dropped to fit). */
  readonly turnsKept: number;
}

/**
 * Tokenizes the prompt parts (each on its own, no special tokens). `maxPromptTokens` bounds the whole prompt
 * including `audioRows` positions; history turns are dropped oldest first to fit. Throws when even the bare
 * question does not fit.
 */
export function buildPromptIds(
  encode: (text: string) => number[],
  question: string,
  opts: { history?: readonly PromptTurn[]; bosId?: number; audioRows: number; maxPromptTokens?: number },
): PromptIds {
  const history = opts.history ?? [];
  const before = encode(PROMPT_BEFORE);
  const budget = opts.maxPromptTokens ?? Infinity;
  for (let skip = 0; skip <= history.length; skip++) {
    const kept = history.slice(skip);
    const after = encode(promptAfter(question, kept));
    if (1 + before.length + opts.audioRows + after.length <= budget) {
      return { bosId: opts.bosId ?? 1, before, after, turnsKept: kept.length };
    }
  }
  throw new RangeError(
    `The question is too long: the prompt needs more than the ${budget} positions the model allows. Ask a shorter question.`,
  );
}

/**
 * Turns decoded generated text into the answer: cut at the first "###", keep what follows the last
 * "Assistant:", trim (DESIGN §3).
 */
export function postprocessAnswer(text: string): string {
  let s = text;
  const cut = s.indexOf('###');
  if (cut >= 0) s = s.slice(0, cut);
  const a = s.lastIndexOf('Assistant:');
  if (a >= 0) s = s.slice(a + 'Assistant:'.length);
  return s.trim();
}

/** Default stop rules of DESIGN §3: token 835 ("###"), the pair [2277, 29937], or eos 2. */
export const STOP_TOKEN_IDS: readonly number[] = [835, 2];
/** A two-token stop sequence ("##" + "#"). */
export const STOP_SEQUENCES: readonly (readonly number[])[] = [[2277, 29937]];
/** At most this many new tokens per answer. */
export const MAX_NEW_TOKENS = 300;

/**
 * Whether generation should stop after `ids` (the new tokens so far), by {@link STOP_TOKEN_IDS} and
 * {@link STOP_SEQUENCES}; also returns how many trailing tokens belong to the stop marker.
 */
export function stopAfter(ids: readonly number[], stopIds: readonly number[] = STOP_TOKEN_IDS, stopSeqs = STOP_SEQUENCES): { isStop: boolean; markerLength: number } {
  const last = ids.at(-1);
  if (last !== undefined && stopIds.includes(last)) return { isStop: true, markerLength: 1 };
  for (const seq of stopSeqs) {
    if (seq.length <= ids.length && seq.every((t, i) => ids[ids.length - seq.length + i] === t)) {
      return { isStop: true, markerLength: seq.length };
    }
  }
  return { isStop: false, markerLength: 0 };
}
