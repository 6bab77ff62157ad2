/**
 * @file The Porter stemmer exactly as nltk 3.8's `nltk.stem.porter.PorterStemmer` (any process).
 *
 * [Note: Porter modes]
 * nltk offers three modes and both references we reproduce use the default, NLTK_EXTENSIONS:
 * METEOR's `PorterStemmer()` and rouge_score's `porter.PorterStemmer()` (rouge_score/tokenizers.py
 * imports nltk's stemmer and constructs it without arguments). The extensions are: an irregular-forms
 * pool (sky/skies, dying, lying, news, …), no stemming of words of one or two characters, 'ies'/'ied'
 * on four-letter words keep 'ie', 'y'→'i' only after a consonant that is not the first letter,
 * 'alli' handled first and re-stemmed, 'fulli'→'ful', 'logi'→'log' with the 'l' kept, and a two-letter
 * vowel–consonant stem counting as *o. MARTIN_EXTENSIONS and ORIGINAL_ALGORITHM are provided too, so
 * the published algorithm can be checked against Porter's own vocabulary.
 *
 * Python indexes strings by code point; this port works on arrays of code points for the same result
 * on any input. Non-letters count as consonants, as in nltk.
 */

/** nltk's three stemmer modes. */
export type PorterMode = 'NLTK_EXTENSIONS' | 'MARTIN_EXTENSIONS' | 'ORIGINAL_ALGORITHM';

const IRREGULAR: Readonly<Record<string, readonly string[]>> = {
  sky: ['sky', 'skies'],
  die: ['dying'],
  lie: ['lying'],
  tie: ['tying'],
  news: ['news'],
  inning: ['innings', 'inning'],
  outing: ['outings', 'outing'],
  canning: ['cannings', 'canning'],
  howe: ['howe'],
  proceed: ['proceed'],
  exceed: ['exceed'],
  succeed: ['succeed'],
};
const POOL = new Map<string, string>(
  Object.entries(IRREGULAR).flatMap(([stem, forms]) => forms.map((f) => [f, stem] as const)),
);
const VOWELS = new Set(['a', 'e', 'i', 'o', 'u']);

type Word = readonly string[];
type Condition = ((stem: Word) => boolean) | null;
type Rule = readonly [suffix: string, replacement: string, condition: Condition];

/** A Porter stemmer in one of nltk's modes; `stem()` is pure and cheap, so share one instance. */
export class PorterStemmer {
  readonly mode: PorterMode;
  readonly #cache = new Map<string, string>();

  constructor(mode: PorterMode = 'NLTK_EXTENSIONS') {
    this.mode = mode;
  }

  /** nltk `stem(word, to_lowercase=True)`. */
  stem(word: string): string {
    const cached = this.#cache.get(word);
    if (cached !== undefined) return cached;
    const result = this.#stemUncached(word);
    if (this.#cache.size > 100_000) this.#cache.clear();
    this.#cache.set(word, result);
    return result;
  }

  #stemUncached(word: string): string {
    const lower = word.toLowerCase();
    // nltk tests the pool with the word as given, then returns the pooled form of the lowered one.
    if (this.mode === 'NLTK_EXTENSIONS' && POOL.has(word)) return POOL.get(lower) ?? lower;
    if (this.mode !== 'ORIGINAL_ALGORITHM' && Array.from(word).length <= 2) return lower;
    let w: Word = Array.from(lower);
    w = this.#step1a(w);
    w = this.#step1b(w);
    w = this.#step1c(w);
    w = this.#step2(w);
    w = this.#step3(w);
    w = this.#step4(w);
    w = this.#step5a(w);
    w = this.#step5b(w);
    return w.join('');
  }

  #isConsonant(word: Word, i: number): boolean {
    const c = word[i]!;
    if (VOWELS.has(c)) return false;
    if (c === 'y') return i === 0 ? true : !this.#isConsonant(word, i - 1);
    return true;
  }

  #measure(stem: Word): number {
    let m = 0;
    let prevVowel = false;
    for (let i = 0; i < stem.length; i++) {
      const cons = this.#isConsonant(stem, i);
      if (cons && prevVowel) m++;
      prevVowel = !cons;
    }
    return m;
  }

  #hasPositiveMeasure = (stem: Word): boolean => this.#measure(stem) > 0;

  #containsVowel(stem: Word): boolean {
    for (let i = 0; i < stem.length; i++) if (!this.#isConsonant(stem, i)) return true;
    return false;
  }

  #endsDoubleConsonant(word: Word): boolean {
    const n = word.length;
    return n >= 2 && word[n - 1] === word[n - 2] && this.#isConsonant(word, n - 1);
  }

  #endsCvc(word: Word): boolean {
    const n = word.length;
    return (
      (n >= 3 &&
        this.#isConsonant(word, n - 3) &&
        !this.#isConsonant(word, n - 2) &&
        this.#isConsonant(word, n - 1) &&
        !['w', 'x', 'y'].includes(word[n - 1]!)) ||
      (this.mode === 'NLTK_EXTENSIONS' && n === 2 && !this.#isConsonant(word, 0) && this.#isConsonant(word, 1))
    );
  }

  #applyRuleList(word: Word, rules: readonly Rule[]): Word {
    for (const [suffix, replacement, condition] of rules) {
      if (suffix === '*d' && this.#endsDoubleConsonant(word)) {
        const stem = word.slice(0, -2);
        return condition === null || condition(stem) ? [...stem, ...replacement] : word;
      }
      if (endsWith(word, suffix)) {
        const stem = suffix === '' ? word : word.slice(0, word.length - suffix.length);
        return condition === null || condition(stem) ? [...stem, ...replacement] : word;
      }
    }
    return word;
  }

  #step1a(word: Word): Word {
    if (this.mode === 'NLTK_EXTENSIONS' && endsWith(word, 'ies') && word.length === 4) {
      return replaceSuffix(word, 'ies', 'ie');
    }
    return this.#applyRuleList(word, [
      ['sses', 'ss', null],
      ['ies', 'i', null],
      ['ss', 'ss', null],
      ['s', '', null],
    ]);
  }

  #step1b(word: Word): Word {
    if (this.mode === 'NLTK_EXTENSIONS' && endsWith(word, 'ied')) {
      return word.length === 4 ? replaceSuffix(word, 'ied', 'ie') : replaceSuffix(word, 'ied', 'i');
    }
    if (endsWith(word, 'eed')) {
      const stem = replaceSuffix(word, 'eed', '');
      return this.#measure(stem) > 0 ? [...stem, 'e', 'e'] : word;
    }
    let intermediate: Word | undefined;
    for (const suffix of ['ed', 'ing']) {
      if (endsWith(word, suffix)) {
        const stem = replaceSuffix(word, suffix, '');
        if (this.#containsVowel(stem)) {
          intermediate = stem;
          break;
        }
      }
    }
    if (intermediate === undefined) return word;
    const last = intermediate[intermediate.length - 1]!;
    return this.#applyRuleList(intermediate, [
      ['at', 'ate', null],
      ['bl', 'ble', null],
      ['iz', 'ize', null],
      ['*d', last, () => !['l', 's', 'z'].includes(last)],
      ['', 'e', (stem) => this.#measure(stem) === 1 && this.#endsCvc(stem)],
    ]);
  }

  #step1c(word: Word): Word {
    const nltkCondition = (stem: Word): boolean => stem.length > 1 && this.#isConsonant(stem, stem.length - 1);
    const originalCondition = (stem: Word): boolean => this.#containsVowel(stem);
    return this.#applyRuleList(word, [
      ['y', 'i', this.mode === 'NLTK_EXTENSIONS' ? nltkCondition : originalCondition],
    ]);
  }

  #step2(word: Word): Word {
    const pos = this.#hasPositiveMeasure;
    if (this.mode === 'NLTK_EXTENSIONS' && endsWith(word, 'alli') && pos(replaceSuffix(word, 'alli', ''))) {
      return this.#step2(replaceSuffix(word, 'alli', 'al'));
    }
    const rules: Rule[] = [
      ['ational', 'ate', pos],
      ['tional', 'tion', pos],
      ['enci', 'ence', pos],
      ['anci', 'ance', pos],
      ['izer', 'ize', pos],
      this.mode === 'ORIGINAL_ALGORITHM' ? ['abli', 'able', pos] : ['bli', 'ble', pos],
      ['alli', 'al', pos],
      ['entli', 'ent', pos],
      ['eli', 'e', pos],
      ['ousli', 'ous', pos],
      ['ization', 'ize', pos],
      ['ation', 'ate', pos],
      ['ator', 'ate', pos],
      ['alism', 'al', pos],
      ['iveness', 'ive', pos],
      ['fulness', 'ful', pos],
      ['ousness', 'ous', pos],
      ['aliti', 'al', pos],
      ['iviti', 'ive', pos],
      ['biliti', 'ble', pos],
    ];
    if (this.mode === 'NLTK_EXTENSIONS') {
      rules.push(['fulli', 'ful', pos]);
      // The 'l' of 'logi' stays with the stem: the condition is on word[:-3].
      rules.push(['logi', 'log', () => pos(word.slice(0, -3))]);
    }
    if (this.mode === 'MARTIN_EXTENSIONS') rules.push(['logi', 'log', pos]);
    return this.#applyRuleList(word, rules);
  }

  #step3(word: Word): Word {
    const pos = this.#hasPositiveMeasure;
    return this.#applyRuleList(word, [
      ['icate', 'ic', pos],
      ['ative', '', pos],
      ['alize', 'al', pos],
      ['iciti', 'ic', pos],
      ['ical', 'ic', pos],
      ['ful', '', pos],
      ['ness', '', pos],
    ]);
  }

  #step4(word: Word): Word {
    const gt1 = (stem: Word): boolean => this.#measure(stem) > 1;
    return this.#applyRuleList(word, [
      ['al', '', gt1],
      ['ance', '', gt1],
      ['ence', '', gt1],
      ['er', '', gt1],
      ['ic', '', gt1],
      ['able', '', gt1],
      ['ible', '', gt1],
      ['ant', '', gt1],
      ['ement', '', gt1],
      ['ment', '', gt1],
      ['ent', '', gt1],
      ['ion', '', (stem) => this.#measure(stem) > 1 && (stem[stem.length - 1] === 's' || stem[stem.length - 1] === 't')],
      ['ou', '', gt1],
      ['ism', '', gt1],
      ['ate', '', gt1],
      ['iti', '', gt1],
      ['ous', '', gt1],
      ['ive', '', gt1],
      ['ize', '', gt1],
    ]);
  }

  #step5a(word: Word): Word {
    if (endsWith(word, 'e')) {
      const stem = word.slice(0, -1);
      if (this.#measure(stem) > 1) return stem;
      if (this.#measure(stem) === 1 && !this.#endsCvc(stem)) return stem;
    }
    return word;
  }

  #step5b(word: Word): Word {
    return this.#applyRuleList(word, [['ll', 'l', () => this.#measure(word.slice(0, -1)) > 1]]);
  }
}

function endsWith(word: Word, suffix: string): boolean {
  const s = Array.from(suffix);
  if (s.length > word.length) return false;
  for (let i = 0; i < s.length; i++) if (word[word.length - s.length + i] !== s[i]) return false;
  return true;
}

function replaceSuffix(word: Word, suffix: string, replacement: string): Word {
  const n = Array.from(suffix).length;
  return [...(n === 0 ? word : word.slice(0, word.length - n)), ...Array.from(replacement)];
}
