/**
 * @file nltk wordpunct_tokenize and rouge_score's tokenizer/ROUGE-L against their documented examples.
 */
import { describe, expect, it } from 'vitest';
import { PorterStemmer } from '../../../model/eval/porter';
import { lcsLength, rougeL, scoreLcs } from '../../../model/eval/rouge';
import { rougeTokenize, wordpunctTokenize } from '../../../model/eval/tokenize';

describe('wordpunctTokenize (nltk)', () => {
  it('matches the nltk tokenize documentation example', () => {
    const s = 'Good muffins cost $3.88\nin New York.  Please buy me\ntwo of them.\n\nThanks.';
    expect(wordpunctTokenize(s)).toEqual(['Good', 'muffins', 'cost', '$', '3', '.', '88', 'in', 'New', 'York', '.',
      'Please', 'buy', 'me', 'two', 'of', 'them', '.', 'Thanks', '.']);
  });

  it('splits apostrophes and hyphens, keeps runs of punctuation and Unicode letters', () => {
    expect(wordpunctTokenize("can't stop-motion...!? snake_case")).toEqual(['can', "'", 't', 'stop', '-', 'motion', '...!?', 'snake_case']);
    expect(wordpunctTokenize('Café naïve ½ 東京')).toEqual(['Café', 'naïve', '½', '東京']);
  });

  it("uses Python's whitespace: \\x1c–\\x1f separate, U+FEFF does not", () => {
    expect(wordpunctTokenize('a\x1cb')).toEqual(['a', 'b']);
    expect(wordpunctTokenize('a\ufeffb')).toEqual(['a', '\ufeff', 'b']);
  });

  it('returns nothing for empty or blank text', () => {
    expect(wordpunctTokenize('')).toEqual([]);
    expect(wordpunctTokenize(' \n\t ')).toEqual([]);
  });
});

describe('rouge_score tokenizer', () => {
  it('matches rouge_score tokenizers_test.py', () => {
    expect(rougeTokenize('this is a test')).toEqual(['this', 'is', 'a', 'test']);
    expect(rougeTokenize('the friends had a meeting', new PorterStemmer())).toEqual(['the', 'friend', 'had', 'a', 'meet']);
  });

  it('lowercases, turns non-alphanumerics (also non-ASCII letters) into spaces, stems only tokens longer than 3', () => {
    expect(rougeTokenize("Hello, WORLD! It's café-style", new PorterStemmer())).toEqual(['hello', 'world', 'it', 's', 'caf', 'style']);
    expect(rougeTokenize('was has', new PorterStemmer())).toEqual(['was', 'has']); // 3 characters: not stemmed
    expect(rougeTokenize('/')).toEqual([]);
  });
});

describe('ROUGE-L (rouge_score)', () => {
  it('matches rouge_scorer_test.py', () => {
    const consecutive = rougeL('testing one two', 'testing one', false);
    expect(consecutive.precision).toBeCloseTo(1, 12);
    expect(consecutive.recall).toBeCloseTo(2 / 3, 12);
    expect(consecutive.fmeasure).toBeCloseTo(4 / 5, 12);
    const nonConsecutive = rougeL('testing one two', 'testing two', false);
    expect(nonConsecutive.recall).toBeCloseTo(2 / 3, 12);
    expect(nonConsecutive.fmeasure).toBeCloseTo(4 / 5, 12);
    expect(rougeL('testing one two', '', false)).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
    expect(rougeL('first text', 'text first', false).fmeasure).toBeCloseTo(0.5, 12);
  });

  it('computes the LCS of the rouge_score testLcsTable example', () => {
    expect(lcsLength(['1', '2', '3', '4', '5'], ['2', '5', '3', '4'])).toBe(3);
    expect(lcsLength(['1', '2', '3', '4', '5'], ['8', '9'])).toBe(0);
  });

  it('uses recall = LCS / reference length with stemming (the paper R-L)', () => {
    // "guitars"/"guitar" and "playing"/"plays" meet only through the stemmer.
    const r = rougeL('A man plays guitars', 'a man playing guitar', true);
    expect(r.recall).toBe(1);
    expect(rougeL('A man plays guitars', 'a man playing guitar', false).recall).toBe(0.5);
    expect(scoreLcs([], ['a'])).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
    expect(rougeL('', 'something').recall).toBe(0);
  });
});
