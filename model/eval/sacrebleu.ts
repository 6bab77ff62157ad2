/**
 * @file Corpus-level word BLEU as sacreBLEU 2.x computes it with its defaults (any process).
 *
 * [Note: Standard BLEU beside the paper's]
 * The paper's BLEU is a per-caption character BLEU (see [Note: The paper's BLEU is character BLEU]),
 * which is not comparable with BLEU numbers elsewhere. Beside it we report what the field means by
 * BLEU: sacreBLEU's `corpus_bleu` with its defaults — 13a tokenization (mteval-v13a), case-sensitive,
 * n-grams 1..4 pooled over the whole corpus, 'exp' smoothing (a zero n-gram count at order n gets
 * precision 100/(2^k · total_n) for the k-th such order), brevity penalty exp(1 − r/c) over corpus
 * lengths, reported on a 0–100 scale. Multiple references are supported (closest length, max counts).
 */
import { PY_SPACE } from './tokenize';

/** sacreBLEU's 13a tokenizer (`Tokenizer13a`, which ends in `TokenizerRegexp`). */
export function tokenize13a(line: string): string {
  let s = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (s.includes('&')) {
    s = s.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  s = ` ${s} `;
  s = s.replace(/([{-~[-` -&(-+:-@/])/g, ' $1 ');
  s = s.replace(/([^0-9])([.,])/g, '$1 $2 ');
  s = s.replace(/([.,])([^0-9])/g, ' $1 $2');
  s = s.replace(/([0-9])(-)/g, '$1 $2 ');
  return pySplit(s).join(' ');
}

// Python str.split() with no argument: runs of Unicode whitespace, no empty strings.
const PY_WS = new RegExp(`[${PY_SPACE}]+`, 'u');
function pySplit(s: string): string[] {
  return s.split(PY_WS).filter((t) => t !== '');
}

/** A corpus BLEU result in sacreBLEU's terms (score and precisions on 0–100). */
export interface CorpusBleu {
  readonly score: number;
  readonly precisions: readonly number[];
  readonly bp: number;
  readonly sysLen: number;
  readonly refLen: number;
  readonly counts: readonly number[];
  readonly totals: readonly number[];
}

/** Options for {@link corpusBleu}; the defaults are sacreBLEU's. */
export interface CorpusBleuOptions {
  readonly smooth?: 'exp' | 'none' | 'floor' | 'add-k';
  readonly smoothValue?: number;
  readonly lowercase?: boolean;
  readonly tokenize?: '13a' | 'none';
  readonly maxOrder?: number;
}

/**
 * sacreBLEU `corpus_bleu(hypotheses, references)`. `references` holds reference *streams*, as sacreBLEU
 * takes them: references[k][i] is the k-th reference of hypothesis i.
 */
export function corpusBleu(
  hypotheses: readonly string[],
  references: readonly (readonly string[])[],
  options: CorpusBleuOptions = {},
): CorpusBleu {
  const maxOrder = options.maxOrder ?? 4;
  const smooth = options.smooth ?? 'exp';
  const smoothValue = options.smoothValue ?? (smooth === 'floor' ? 0.1 : smooth === 'add-k' ? 1 : 0);
  for (const stream of references) {
    if (stream.length !== hypotheses.length) {
      throw new Error(`corpusBleu: a reference stream has ${stream.length} lines but there are ${hypotheses.length} hypotheses`);
    }
  }
  const prep = (s: string): string[] => {
    const t = options.lowercase ? s.toLowerCase() : s;
    return pySplit((options.tokenize ?? '13a') === '13a' ? tokenize13a(t) : t);
  };
  const correct = new Array<number>(maxOrder).fill(0);
  const total = new Array<number>(maxOrder).fill(0);
  let sysLen = 0;
  let refLen = 0;
  hypotheses.forEach((hyp, i) => {
    const h = prep(hyp);
    const refs = references.map((stream) => prep(stream[i]!));
    sysLen += h.length;
    let closest = Infinity;
    let closestDiff = Infinity;
    for (const r of refs) {
      const d = Math.abs(h.length - r.length);
      if (d < closestDiff) {
        closestDiff = d;
        closest = r.length;
      } else if (d === closestDiff) closest = Math.min(closest, r.length);
    }
    refLen += Number.isFinite(closest) ? closest : 0;
    for (let n = 1; n <= maxOrder; n++) {
      const hypCounts = ngramCounts(h, n);
      const maxRef = new Map<string, number>();
      for (const r of refs) for (const [g, c] of ngramCounts(r, n)) maxRef.set(g, Math.max(maxRef.get(g) ?? 0, c));
      for (const [g, c] of hypCounts) correct[n - 1]! += Math.min(c, maxRef.get(g) ?? 0);
      total[n - 1]! += Math.max(0, h.length - n + 1);
    }
  });
  return computeBleu(correct, total, sysLen, refLen, smooth, smoothValue, maxOrder);
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const g = tokens.slice(i, i + n).join(' ');
    m.set(g, (m.get(g) ?? 0) + 1);
  }
  return m;
}

function myLog(x: number): number {
  return x === 0 ? -9999999999 : Math.log(x);
}

/** sacreBLEU `BLEU.compute_bleu` (effective_order off, as for corpus scores). */
export function computeBleu(
  correctIn: readonly number[],
  totalIn: readonly number[],
  sysLen: number,
  refLen: number,
  smooth: 'exp' | 'none' | 'floor' | 'add-k' = 'exp',
  smoothValue = 0,
  maxOrder = 4,
): CorpusBleu {
  const correct = [...correctIn];
  const total = [...totalIn];
  const bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0) : 1;
  const precisions = new Array<number>(maxOrder).fill(0);
  const result = (score: number): CorpusBleu => ({ score, precisions, bp, sysLen, refLen, counts: correct, totals: total });
  if (!correct.some((c) => c !== 0)) return result(0);
  let smoothMteval = 1;
  for (let n = 1; n <= maxOrder; n++) {
    if (smooth === 'add-k' && n > 1) {
      correct[n - 1]! += smoothValue;
      total[n - 1]! += smoothValue;
    }
    if (total[n - 1] === 0) break;
    if (correct[n - 1] === 0) {
      if (smooth === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * total[n - 1]!);
      } else if (smooth === 'floor') {
        precisions[n - 1] = (100 * smoothValue) / total[n - 1]!;
      }
    } else {
      precisions[n - 1] = (100 * correct[n - 1]!) / total[n - 1]!;
    }
  }
  let sum = 0;
  for (const p of precisions) sum += myLog(p);
  return result(bp * Math.exp(sum / maxOrder));
}
