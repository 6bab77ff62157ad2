/**
 * @file METEOR exactly as nltk 3.8's `nltk.translate.meteor_score` (any Node process).
 *
 * [Note: nltk METEOR alignment]
 * MusiLingo scores `meteor_score([wordpunct_tokenize(ref)], wordpunct_tokenize(cand))` with nltk's
 * defaults: words lowercased, alpha 0.9, beta 3, gamma 0.5. Words are aligned in three stages, each on
 * what the previous left unmatched, and each stage walks the hypothesis from its last word to its
 * first and, for each, the reference from its last word to its first, taking the first equal word:
 *   1. exact matches;
 *   2. Porter-stem matches (NLTK_EXTENSIONS stemmer) — and from here on the *stemmed* words are what
 *      remains, so stage 3 looks up synonyms of stems ("guitars" → "guitar", "happy" → "happi");
 *   3. WordNet synonyms: the reference word is among the lemma names (without "_") of any synset of
 *      the hypothesis word, or equals it.
 * Matches are sorted by hypothesis position; a chunk is a run of matches adjacent in both sentences.
 * score = (1 − gamma·(chunks/matches)^beta) · P·R / (alpha·P + (1 − alpha)·R); 0 when the hypothesis,
 * the reference or the matches are empty (nltk's ZeroDivisionError branch). With several references
 * the best score counts.
 */
import { PorterStemmer } from './porter';
import { wordpunctTokenize } from './tokenize';
import { WordNet } from './wordnet';

/** Options matching nltk's `meteor_score` keyword arguments. */
export interface MeteorOptions {
  readonly alpha?: number;
  readonly beta?: number;
  readonly gamma?: number;
  readonly stemmer?: PorterStemmer;
  /** Synonym source; `null` disables the synonym stage (exact + stem only). */
  readonly wordnet?: WordNet | null;
}

type Enum = [index: number, word: string][];
type Match = [hyp: number, ref: number];

let sharedWordNet: WordNet | undefined;
let sharedStemmer: PorterStemmer | undefined;

/** The process-wide default WordNet (3.0, as nltk), opened on first use. */
export function defaultWordNet(): WordNet {
  return (sharedWordNet ??= new WordNet());
}

function defaultStemmer(): PorterStemmer {
  return (sharedStemmer ??= new PorterStemmer());
}

/** nltk `_match_enums`: exact equality; mutates both lists, removing what matched. */
function matchEnums(hyp: Enum, ref: Enum): Match[] {
  const matches: Match[] = [];
  for (let i = hyp.length - 1; i >= 0; i--) {
    for (let j = ref.length - 1; j >= 0; j--) {
      if (hyp[i]![1] === ref[j]![1]) {
        matches.push([hyp[i]![0], ref[j]![0]]);
        hyp.splice(i, 1);
        ref.splice(j, 1);
        break;
      }
    }
  }
  return matches;
}

function synonymMatches(hyp: Enum, ref: Enum, wordnet: WordNet): Match[] {
  const matches: Match[] = [];
  for (let i = hyp.length - 1; i >= 0; i--) {
    const syns = wordnet.synonyms(hyp[i]![1]);
    for (let j = ref.length - 1; j >= 0; j--) {
      if (syns.has(ref[j]![1])) {
        matches.push([hyp[i]![0], ref[j]![0]]);
        hyp.splice(i, 1);
        ref.splice(j, 1);
        break;
      }
    }
  }
  return matches;
}

/** The alignment nltk's `_enum_align_words` finds, sorted by hypothesis index, with the stage of each match. */
export function alignWords(
  reference: readonly string[],
  hypothesis: readonly string[],
  options: MeteorOptions = {},
): { matches: Match[]; stages: ('exact' | 'stem' | 'synonym')[] } {
  const stemmer = options.stemmer ?? defaultStemmer();
  const wordnet = options.wordnet === undefined ? defaultWordNet() : options.wordnet;
  let hyp: Enum = hypothesis.map((w, i) => [i, w.toLowerCase()]);
  let ref: Enum = reference.map((w, i) => [i, w.toLowerCase()]);
  const exact = matchEnums(hyp, ref);
  hyp = hyp.map(([i, w]) => [i, stemmer.stem(w)]);
  ref = ref.map(([i, w]) => [i, stemmer.stem(w)]);
  const stem = matchEnums(hyp, ref);
  const syn = wordnet === null ? [] : synonymMatches(hyp, ref, wordnet);
  const tagged = [
    ...exact.map((m) => [m, 'exact'] as const),
    ...stem.map((m) => [m, 'stem'] as const),
    ...syn.map((m) => [m, 'synonym'] as const),
  ].sort((a, b) => a[0][0] - b[0][0]);
  return { matches: tagged.map((t) => t[0]), stages: tagged.map((t) => t[1]) };
}

/** nltk `_count_chunks` over matches sorted by hypothesis index. */
export function countChunks(matches: readonly Match[]): number {
  let chunks = 1;
  for (let i = 0; i < matches.length - 1; i++) {
    const [h, r] = matches[i]!;
    const [h2, r2] = matches[i + 1]!;
    if (!(h2 === h + 1 && r2 === r + 1)) chunks++;
  }
  return chunks;
}

/** nltk `single_meteor_score(reference, hypothesis)` on token lists. */
export function singleMeteorScore(
  reference: readonly string[],
  hypothesis: readonly string[],
  options: MeteorOptions = {},
): number {
  const alpha = options.alpha ?? 0.9;
  const beta = options.beta ?? 3;
  const gamma = options.gamma ?? 0.5;
  const translationLength = hypothesis.length;
  const referenceLength = reference.length;
  if (translationLength === 0 || referenceLength === 0) return 0;
  const { matches } = alignWords(reference, hypothesis, options);
  const matchesCount = matches.length;
  if (matchesCount === 0) return 0;
  const precision = matchesCount / translationLength;
  const recall = matchesCount / referenceLength;
  const fmean = (precision * recall) / (alpha * precision + (1 - alpha) * recall);
  const fragFrac = countChunks(matches) / matchesCount;
  const penalty = gamma * fragFrac ** beta;
  return (1 - penalty) * fmean;
}

/** nltk `meteor_score(references, hypothesis)`: the best single-reference score. */
export function meteorScore(
  references: readonly (readonly string[])[],
  hypothesis: readonly string[],
  options: MeteorOptions = {},
): number {
  let best = -Infinity;
  for (const ref of references) best = Math.max(best, singleMeteorScore(ref, hypothesis, options));
  return best === -Infinity ? 0 : best;
}

/** METEOR as MusiLingo's qa.py calls it: wordpunct tokens of one reference and one candidate. */
export function paperMeteor(reference: string, candidate: string, options: MeteorOptions = {}): number {
  return meteorScore([wordpunctTokenize(reference)], wordpunctTokenize(candidate), options);
}
