/**
 * @file ROUGE-L as Google's rouge_score computes it (`RougeScorer(['rougeL'], use_stemmer=True)`), any process.
 *
 * MusiLingo reports the *recall* of `scorer.score(reference, candidate)['rougeL']`: the longest common
 * subsequence of the two token lists divided by the reference length. The tokens come from
 * rouge_score's tokenizer with nltk's Porter stemmer in its default NLTK_EXTENSIONS mode (see
 * [Note: Porter modes]). The standard report uses the F-measure of the same scorer. Either list empty
 * (after tokenization) scores 0, as in rouge_score.
 */
import { PorterStemmer } from './porter';
import { rougeTokenize } from './tokenize';

/** Precision, recall and F-measure of one ROUGE comparison. */
export interface RougeScore {
  readonly precision: number;
  readonly recall: number;
  readonly fmeasure: number;
}

/** Length of the longest common subsequence of two token lists (rouge_score `_lcs_table[-1][-1]`). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = ai === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** rouge_score `fmeasure(precision, recall)`. */
export function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/** rouge_score `_score_lcs(target_tokens, prediction_tokens)`. */
export function scoreLcs(target: readonly string[], prediction: readonly string[]): RougeScore {
  if (target.length === 0 || prediction.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = lcsLength(target, prediction);
  const precision = lcs / prediction.length;
  const recall = lcs / target.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

let sharedStemmer: PorterStemmer | undefined;

/** `RougeScorer(['rougeL'], use_stemmer).score(target, prediction)['rougeL']`. */
export function rougeL(target: string, prediction: string, useStemmer = true): RougeScore {
  const stemmer = useStemmer ? (sharedStemmer ??= new PorterStemmer()) : undefined;
  return scoreLcs(rougeTokenize(target, stemmer), rougeTokenize(prediction, stemmer));
}
