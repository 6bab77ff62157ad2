/**
 * @file Sentence BLEU exactly as nltk 3.8 computes it (`nltk.translate.bleu_score.sentence_bleu`), any process.
 *
 * [Note: The paper's BLEU is character BLEU]
 * MusiLingo's evaluation script calls `sentence_bleu([reference], candidate)` on raw strings. nltk
 * iterates a string character by character, so the "tokens" are characters (spaces, punctuation and
 * case included) and the score is a character n-gram BLEU, not the word BLEU of machine translation.
 * {@link charBleu} reproduces that; {@link sentenceBleu} takes any token lists.
 *
 * nltk semantics reproduced here, in nltk's order of float operations so results agree to ~1 ulp:
 * - modified precision p_n = clipped n-gram matches / max(1, candidate n-grams), an exact rational
 *   turned into a float by one correctly rounded division (Python's Fraction → float);
 * - no smoothing (`method0`): if there is no 1-gram match the score is 0; otherwise a zero p_n is
 *   replaced by `sys.float_info.min` (2.2250738585072014e-308), so higher orders drive it to ~1e-77;
 * - brevity penalty with the closest reference length r (ties → the shorter reference) and candidate
 *   length c: 1 if c > r, 0 if c = 0, else exp(1 − r/c);
 * - score = bp · exp(fsum(w_n · ln p_n)).
 * Python's `math.log`/`math.exp` (libm) and V8's may differ in the last bit; that is far inside the
 * 1e-12 relative agreement the tests demand.
 */
import { fsum } from './fsum';

/** nltk's default weights: uniform over 1..4-grams (the cumulative "BLEU-4", the paper's B-U). */
export const UNIFORM_WEIGHTS: readonly number[] = [0.25, 0.25, 0.25, 0.25];

/** `sys.float_info.min`, nltk's stand-in for a zero precision. */
export const FLOAT_MIN = 2.2250738585072014e-308;

/** Cumulative weights (1/n, …, 1/n) for BLEU-n (nltk's usual "BLEU-n"). */
export function cumulativeWeights(n: number): number[] {
  return Array.from({ length: n }, () => 1 / n);
}

/** Single-order weights (0, …, 1 at order n): the n-gram precision times the brevity penalty. */
export function singleOrderWeights(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? 1 : 0));
}

/** Clipped match count and candidate n-gram count for order `n` (nltk `modified_precision`). */
export function modifiedPrecision(
  references: readonly (readonly string[])[],
  hypothesis: readonly string[],
  n: number,
): { numerator: number; denominator: number } {
  return clipCounts(references.map((r) => countNgrams(r, n)), countNgrams(hypothesis, n));
}

function clipCounts(refCounts: readonly ReadonlyMap<string, number>[], counts: ReadonlyMap<string, number>): { numerator: number; denominator: number } {
  let numerator = 0;
  let total = 0;
  for (const [gram, count] of counts) {
    let maxRef = 0;
    for (const rc of refCounts) maxRef = Math.max(maxRef, rc.get(gram) ?? 0);
    numerator += Math.min(count, maxRef);
    total += count;
  }
  return { numerator, denominator: Math.max(1, total) };
}

function countNgrams(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const gram = n === 1 ? tokens[i]! : tokens.slice(i, i + n).join('\u0001');
    counts.set(gram, (counts.get(gram) ?? 0) + 1);
  }
  return counts;
}

/**
 * Character n-gram counts of a string: keys are substrings of n code points (unambiguous, since every
 * key has exactly n code points), sliced from the string without building token arrays.
 */
function countCharNgrams(text: string, starts: readonly number[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  const len = starts.length - 1;
  for (let i = 0; i + n <= len; i++) {
    const gram = text.slice(starts[i], starts[i + n]);
    counts.set(gram, (counts.get(gram) ?? 0) + 1);
  }
  return counts;
}

/** Offsets of each code point in `text`, plus text.length at the end. */
function codePointStarts(text: string): number[] {
  const starts: number[] = [];
  for (let i = 0; i < text.length; i++) {
    starts.push(i);
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  starts.push(text.length);
  return starts;
}

/** nltk `closest_ref_length`: the reference length nearest the candidate's, the shorter on ties. */
export function closestRefLength(refLengths: readonly number[], hypLength: number): number {
  let best = refLengths[0] ?? 0;
  for (const len of refLengths) {
    const d = Math.abs(len - hypLength);
    const bd = Math.abs(best - hypLength);
    if (d < bd || (d === bd && len < best)) best = len;
  }
  return best;
}

/** nltk `brevity_penalty(closest_ref_len, hyp_len)`. */
export function brevityPenalty(closestRefLen: number, hypLen: number): number {
  if (hypLen > closestRefLen) return 1;
  if (hypLen === 0) return 0;
  return Math.exp(1 - closestRefLen / hypLen);
}

type Fraction = { numerator: number; denominator: number };

function bleuFromPrecisions(precisions: readonly Fraction[], bp: number, weightSets: readonly (readonly number[])[]): number[] {
  if ((precisions[0]?.numerator ?? 0) === 0) return weightSets.map(() => 0);
  // method0: zero numerators become sys.float_info.min; others the correctly rounded quotient.
  const p = precisions.map((f) => (f.numerator === 0 ? FLOAT_MIN : f.numerator / f.denominator));
  return weightSets.map((weights) => bp * Math.exp(fsum(weights.map((w, i) => w * Math.log(p[i]!)))));
}

/**
 * nltk `sentence_bleu(references, hypothesis, weights)` for each weight vector in `weightSets`
 * (the n-gram statistics are computed once, up to the longest weight vector).
 */
export function sentenceBleuMany(
  references: readonly (readonly string[])[],
  hypothesis: readonly string[],
  weightSets: readonly (readonly number[])[],
): number[] {
  const maxOrder = Math.max(...weightSets.map((w) => w.length));
  const precisions: Fraction[] = [];
  for (let n = 1; n <= maxOrder; n++) precisions.push(modifiedPrecision(references, hypothesis, n));
  const bp = brevityPenalty(closestRefLength(references.map((r) => r.length), hypothesis.length), hypothesis.length);
  return bleuFromPrecisions(precisions, bp, weightSets);
}

/** {@link sentenceBleuMany} for one reference and one candidate string, on characters (code points). */
function charBleuMany(reference: string, candidate: string, weightSets: readonly (readonly number[])[]): number[] {
  const maxOrder = Math.max(...weightSets.map((w) => w.length));
  const rs = codePointStarts(reference);
  const cs = codePointStarts(candidate);
  const precisions: Fraction[] = [];
  for (let n = 1; n <= maxOrder; n++) {
    precisions.push(clipCounts([countCharNgrams(reference, rs, n)], countCharNgrams(candidate, cs, n)));
  }
  const hypLen = cs.length - 1;
  return bleuFromPrecisions(precisions, brevityPenalty(rs.length - 1, hypLen), weightSets);
}

/** nltk `sentence_bleu(references, hypothesis, weights)` on token lists. */
export function sentenceBleu(
  references: readonly (readonly string[])[],
  hypothesis: readonly string[],
  weights: readonly number[] = UNIFORM_WEIGHTS,
): number {
  return sentenceBleuMany(references, hypothesis, [weights])[0]!;
}

/** Python's view of a str as a sequence: one element per code point. */
export function codePoints(text: string): string[] {
  return Array.from(text);
}

/** `sentence_bleu([reference], candidate, weights)` on raw strings: character n-grams, as MusiLingo scored. */
export function charBleu(reference: string, candidate: string, weights: readonly number[] = UNIFORM_WEIGHTS): number {
  return charBleuMany(reference, candidate, [weights])[0]!;
}

const ALL_SETS = [1, 2, 3, 4].flatMap((n) => [cumulativeWeights(n), singleOrderWeights(n)]);

/** Every character-BLEU variant the evaluation reports for one pair. */
export interface CharBleuScores {
  /** nltk default: cumulative uniform weights over 1..4 (qa.py's "BLEU Score", the paper's B-U). */
  readonly bleu: number;
  /** Cumulative BLEU-1..4: weights (1/n, …, 1/n). */
  readonly cumulative: readonly [number, number, number, number];
  /** Single-order BLEU-1..4: weights (0, …, 1); index 3 is qa.py's "BLEU-4 Score". */
  readonly single: readonly [number, number, number, number];
}

/** All character-BLEU variants for one pair, sharing one n-gram count. */
export function charBleuScores(reference: string, candidate: string): CharBleuScores {
  const s = charBleuMany(reference, candidate, ALL_SETS);
  return {
    bleu: s[6]!,
    cumulative: [s[0]!, s[2]!, s[4]!, s[6]!],
    single: [s[1]!, s[3]!, s[5]!, s[7]!],
  };
}
