/**
 * @file Porter stemmer against nltk's documented outputs (stem.doctest, test_stem.py, rouge_score tests).
 */
import { describe, expect, it } from 'vitest';
import { PorterStemmer } from '../../../model/eval/porter';

describe('PorterStemmer (nltk NLTK_EXTENSIONS mode)', () => {
  const stemmer = new PorterStemmer();

  it('matches the stem.doctest plural list', () => {
    const plurals = ['caresses', 'flies', 'dies', 'mules', 'denied', 'died', 'agreed', 'owned', 'humbled', 'sized',
      'meeting', 'stating', 'siezing', 'itemization', 'sensational', 'traditional', 'reference', 'colonizer', 'plotted'];
    expect(plurals.map((w) => stemmer.stem(w)).join(' ')).toBe(
      'caress fli die mule deni die agre own humbl size meet state siez item sensat tradit refer colon plot',
    );
  });

  it('matches nltk test_stem.py cases (oed bug, lowercasing)', () => {
    expect(stemmer.stem('oed')).toBe('o');
    expect(stemmer.stem('On')).toBe('on');
    expect(stemmer.stem('I')).toBe('i');
    expect(stemmer.stem('Github')).toBe('github');
  });

  it('keeps words of one or two characters and applies the irregular-forms pool', () => {
    expect(stemmer.stem('is')).toBe('is');
    expect(stemmer.stem('as')).toBe('as');
    expect(stemmer.stem('dying')).toBe('die');
    expect(stemmer.stem('skies')).toBe('sky');
    expect(stemmer.stem('news')).toBe('news');
    expect(stemmer.stem('innings')).toBe('inning');
  });

  it('applies the NLTK-only rules', () => {
    expect(stemmer.stem('ties')).toBe('tie'); // 4-letter 'ies' → 'ie'
    expect(stemmer.stem('spied')).toBe('spi'); // 'ied' → 'i'
    expect(stemmer.stem('happy')).toBe('happi');
    expect(stemmer.stem('enjoy')).toBe('enjoy');
    expect(stemmer.stem('geology')).toBe('geolog'); // 'logi' → 'log' keeping the 'l'
  });

  it('matches the paper examples for the original algorithm', () => {
    const original = new PorterStemmer('ORIGINAL_ALGORITHM');
    // Step examples from Porter (1980) as quoted in nltk's docstrings.
    const cases: [string, string][] = [
      ['caresses', 'caress'], ['ponies', 'poni'], ['ties', 'ti'], ['cats', 'cat'], ['feed', 'feed'],
      ['agreed', 'agre'], ['plastered', 'plaster'], ['bled', 'bled'], ['motoring', 'motor'], ['sing', 'sing'],
      ['hopping', 'hop'], ['falling', 'fall'], ['hissing', 'hiss'], ['filing', 'file'], ['happy', 'happi'],
      ['relational', 'relat'], ['conditional', 'condit'], ['rational', 'ration'], ['adjustable', 'adjust'],
      ['controll', 'control'], ['roll', 'roll'], ['probate', 'probat'], ['rate', 'rate'], ['cease', 'ceas'],
    ];
    for (const [w, s] of cases) expect(original.stem(w), w).toBe(s);
  });

  it('stems the rouge_score tokenizer example', () => {
    expect(['friends', 'meeting'].map((w) => stemmer.stem(w))).toEqual(['friend', 'meet']);
  });

  it('handles non-letters and non-ASCII without throwing', () => {
    expect(stemmer.stem('1980s')).toBe('1980');
    expect(stemmer.stem('cafés')).toBe('café');
    expect(stemmer.stem('')).toBe('');
  });
});
