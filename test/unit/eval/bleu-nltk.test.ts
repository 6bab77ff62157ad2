/**
 * @file Character BLEU against nltk 3.8: hand-derived vectors and the 302-pair fixture scored by real nltk.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FLOAT_MIN,
  brevityPenalty,
  charBleu,
  charBleuScores,
  closestRefLength,
  cumulativeWeights,
  modifiedPrecision,
  sentenceBleu,
  singleOrderWeights,
} from '../../../model/eval/bleu-nltk';
import { fsum } from '../../../model/eval/fsum';

interface FixtureRow {
  reference: string;
  candidate: string;
  meteor: number;
  [k: string]: string | number;
}

const rows: FixtureRow[] = readFileSync('test/fixtures/metrics/nltk-musiccaps.jsonl', 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as FixtureRow);

function relErr(a: number, b: number): number {
  return b === 0 ? Math.abs(a) : Math.abs(a - b) / Math.abs(b);
}

describe('fsum (CPython math.fsum)', () => {
  it('is exactly rounded where naive addition is not', () => {
    expect(fsum(Array.from({ length: 10 }, () => 0.1))).toBe(1);
    expect(fsum([1e100, 1, -1e100])).toBe(1);
    expect(fsum([1, 1e-16, 1e-16])).toBe(1.0000000000000002);
    expect(fsum([])).toBe(0);
  });
});

describe('nltk sentence_bleu on raw strings (character n-grams)', () => {
  it('matches the hand-derived vectors', () => {
    const ref = 'The music is slow and sad.';
    const cand = 'The music is sad and slow.';
    expect(charBleu(ref, cand)).toBeCloseTo(0.8782724127667199, 15);
    // qa.py's "BLEU-4" is weights (0, 0, 0, 1): the 4-gram precision alone, here 17/23 with BP = 1.
    expect(charBleu(ref, cand, singleOrderWeights(4))).toBe(17 / 23);
    expect(charBleu(ref, cand, singleOrderWeights(4))).toBe(0.7391304347826086);
    expect(relErr(charBleu('A male vocalist sings.', 'Female voice.'), 0.2573360201650311)).toBeLessThan(1e-12);
    expect(relErr(charBleu('A male vocalist sings.', 'Female voice.', singleOrderWeights(4)), 0.20016796814422802)).toBeLessThan(1e-12);
  });

  it('treats spaces, punctuation and case as characters', () => {
    expect(charBleu('abc', 'ABC')).toBe(0);
    // Only the space matches: p1 = 1/3 but every higher order is zero → ~1e-231 times BP, not 0.
    const s = charBleu('a b', 'x y');
    expect(s).toBeGreaterThan(0);
    expect(s).toBeLessThan(1e-200);
  });

  it('counts code points as Python does (an emoji is one character, not two UTF-16 units)', () => {
    // 2 characters: p1 = p2 = 1, no 3- or 4-grams → two sys.float_info.min factors.
    expect(relErr(charBleu('😀a', '😀a'), Math.exp(0.5 * Math.log(FLOAT_MIN)))).toBeLessThan(1e-12);
    expect(charBleu('😀a', '😀a')).toBe(sentenceBleu([['😀', 'a']], ['😀', 'a']));
  });

  it('gives 0 for an empty candidate and no crash for an empty reference', () => {
    expect(charBleu('The music is slow and sad.', '')).toBe(0);
    expect(charBleu('', 'some words')).toBe(0);
    expect(charBleu('', '')).toBe(0);
  });

  it('uses sys.float_info.min for a zero higher-order precision (the one-character fixture row)', () => {
    // exp(0.25·ln 1 + 0.75·ln(min)) computed independently of the implementation.
    expect(relErr(charBleu('A', 'A'), Math.exp(0.75 * Math.log(FLOAT_MIN)))).toBeLessThan(1e-12);
  });

  it('implements modified precision, closest reference length and brevity penalty as nltk', () => {
    // nltk's documented example of clipping: "the the the the the the the" against two references.
    const hyp = 'the the the the the the the'.split(' ');
    const r1 = 'the cat is on the mat'.split(' ');
    const r2 = 'there is a cat on the mat'.split(' ');
    expect(modifiedPrecision([r1, r2], hyp, 1)).toEqual({ numerator: 2, denominator: 7 });
    expect(modifiedPrecision([r1, r2], ['a'], 2)).toEqual({ numerator: 0, denominator: 1 });
    expect(closestRefLength([12, 15, 17], 12)).toBe(12);
    expect(closestRefLength([13, 11], 12)).toBe(11);
    expect(brevityPenalty(28, 12)).toBeCloseTo(Math.exp(1 - 28 / 12), 15);
    expect(brevityPenalty(5, 8)).toBe(1);
    expect(brevityPenalty(5, 0)).toBe(0);
  });

  it('reproduces nltk documentation: sentence_bleu of the "military" example', () => {
    // nltk bleu_score.py docstring: sentence_bleu([ref1a, ref1b, ref1c], hyp1) → 0.5045666840058485
    const hyp1 = 'It is a guide to action which ensures that the military always obeys the commands of the party'.split(' ');
    const ref1a = 'It is a guide to action that ensures that the military will forever heed Party commands'.split(' ');
    const ref1b = 'It is the guiding principle which guarantees the military forces always being under the command of the Party'.split(' ');
    const ref1c = 'It is the practical guide for the army always to heed the directions of the party'.split(' ');
    expect(relErr(sentenceBleu([ref1a, ref1b, ref1c], hyp1), 0.5045666840058485)).toBeLessThan(1e-12);
  });

  it(`agrees with real nltk 3.8 on all ${rows.length} fixture pairs, every variant, to 1e-12 relative`, () => {
    expect(rows.length).toBe(302);
    let worst = 0;
    for (const row of rows) {
      const s = charBleuScores(row.reference, row.candidate);
      const checks: [number, number][] = [[s.bleu, row['bleu_char_cumulative4'] as number]];
      for (let n = 1; n <= 4; n++) {
        checks.push([s.cumulative[n - 1]!, row[`bleu_char_cumulative${n}`] as number]);
        checks.push([s.single[n - 1]!, row[`bleu_char_${n}`] as number]);
      }
      for (const [ours, nltk] of checks) worst = Math.max(worst, relErr(ours, nltk));
    }
    expect(worst).toBeLessThan(1e-12);
  });

  it('defines the fixture columns: cumulative = weights 1/n, single = one-hot at order n', () => {
    const row = rows[0]!;
    for (let n = 1; n <= 4; n++) {
      expect(relErr(charBleu(row.reference, row.candidate, cumulativeWeights(n)), row[`bleu_char_cumulative${n}`] as number)).toBeLessThan(1e-12);
      expect(relErr(charBleu(row.reference, row.candidate, singleOrderWeights(n)), row[`bleu_char_${n}`] as number)).toBeLessThan(1e-12);
    }
  });
});
