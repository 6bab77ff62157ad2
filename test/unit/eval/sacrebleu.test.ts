/**
 * @file Corpus BLEU against sacreBLEU's documented examples.
 */
import { describe, expect, it } from 'vitest';
import { computeBleu, corpusBleu, tokenize13a } from '../../../model/eval/sacrebleu';

describe('sacreBLEU corpus_bleu (defaults: 13a, exp smoothing, case-sensitive)', () => {
  it('matches the sacreBLEU README example: 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)', () => {
    const refs = [
      ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
      ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.'],
    ];
    const sys = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'];
    const b = corpusBleu(sys, refs);
    expect(b.score.toFixed(2)).toBe('48.53');
    expect(b.precisions.map((p) => p.toFixed(1))).toEqual(['82.4', '50.0', '45.5', '37.5']);
    expect(b.bp.toFixed(3)).toBe('0.943');
    expect(b.sysLen).toBe(17);
    expect(b.refLen).toBe(18);
  });

  it('tokenizes like mteval-v13a', () => {
    expect(tokenize13a('Hello, world!')).toBe('Hello , world !');
    expect(tokenize13a('It costs $3.50, i.e. 3,50 - right?')).toBe('It costs $ 3.50 , i . e . 3,50 - right ?');
    expect(tokenize13a('1990-2000 &amp; &quot;quotes&quot;')).toBe('1990 - 2000 & " quotes "');
    expect(tokenize13a("don't")).toBe("don't");
  });

  it('applies exp smoothing to zero counts and returns 0 without any match', () => {
    // 1 matching unigram of 2, no bigram of 1: p = [50, 100/(2·1)], eff. order 4 with two empty orders.
    const b = computeBleu([1, 0, 0, 0], [2, 1, 0, 0], 2, 2);
    expect(b.precisions[0]).toBe(50);
    expect(b.precisions[1]).toBe(50);
    expect(corpusBleu(['abc'], [['xyz']]).score).toBe(0);
    expect(corpusBleu([''], [['a reference']]).score).toBe(0);
  });

  it('rejects reference streams of the wrong length', () => {
    expect(() => corpusBleu(['a', 'b'], [['a']])).toThrow(/1 lines but there are 2/);
  });
});
