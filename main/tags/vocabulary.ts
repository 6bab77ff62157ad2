/**
 * @file The controlled tag vocabulary (main/tags/vocabulary.json, built by scripts/build-tag-vocabulary.mjs from
 * the MusicCaps aspect lists and a curated table) and the matcher that finds its terms in free text: captions and
 * the model's short answers. Pure functions; main process, CLI, benches and tests.
 *
 * [Note: Matching text against the vocabulary]
 * Terms and synonyms match as whole phrases, case-insensitively. Overlapping matches keep the longest ("electric
 * guitar" wins over "guitar", "synth bass" over "bass"). A match right after a negation ("no", "without",
 * "lack of", "absence of") is dropped — "no percussion" is not percussion — unless the synonym itself is the
 * negative phrase ("no vocals" → vocals: none). Text that matches nothing yields nothing here; the caller keeps
 * it as free text instead of forcing it onto a term.
 */
import vocabularyJson from './vocabulary.json';
import type { TagField } from './fields';

/** One vocabulary term. */
export interface VocabularyTerm {
  readonly term: string;
  readonly synonyms: readonly string[];
  /** How many MusicCaps aspect-list entries map to it. */
  readonly aspectCount: number;
}

/** A term found in a text. */
export interface TermMatch {
  readonly field: Exclude<TagField, 'caption'>;
  readonly term: string;
  /** The matched words as they appear in the text. */
  readonly span: string;
  readonly start: number;
  readonly end: number;
}

type VocabField = Exclude<TagField, 'caption'>;

/** The vocabulary, per field. */
export const VOCABULARY: Readonly<Record<VocabField, readonly VocabularyTerm[]>> = vocabularyJson.fields as Record<VocabField, VocabularyTerm[]>;

interface Pattern {
  readonly field: VocabField;
  readonly term: string;
  readonly phrase: string;
  readonly isNegative: boolean;
}

const PATTERNS: readonly Pattern[] = (Object.entries(VOCABULARY) as [VocabField, readonly VocabularyTerm[]][])
  .flatMap(([field, terms]) =>
    terms.flatMap((t) => [t.term, ...t.synonyms].map((phrase) => ({ field, term: t.term, phrase: phrase.toLowerCase(), isNegative: /^(no|without)\b/.test(phrase) }))),
  )
  // Longest phrase first, so it claims its characters before a shorter one inside it.
  .sort((a, b) => b.phrase.length - a.phrase.length);

const WORD = /[a-z0-9&'-]/;
const NEGATION_BEFORE = /(?:\bno|\bwithout|\black of|\babsence of|\bnot|\bnor)\s+(?:[a-z-]+\s+){0,1}$/;

/** Finds vocabulary terms in `text` (all fields, or only `only`). Each term is reported once, at its first match. */
export function matchTerms(text: string, only?: VocabField): TermMatch[] {
  const lower = text.toLowerCase();
  const taken = new Uint8Array(lower.length);
  const found: TermMatch[] = [];
  const seen = new Set<string>();
  for (const p of PATTERNS) {
    if (only && p.field !== only) continue;
    let from = 0;
    for (;;) {
      const at = lower.indexOf(p.phrase, from);
      if (at < 0) break;
      from = at + 1;
      const end = at + p.phrase.length;
      if ((at > 0 && WORD.test(lower[at - 1]!)) || (end < lower.length && WORD.test(lower[end]!))) continue;
      if (taken.subarray(at, end).some((x) => x === 1)) continue;
      taken.fill(1, at, end);
      if (!p.isNegative && NEGATION_BEFORE.test(lower.slice(Math.max(0, at - 30), at))) continue;
      const key = `${p.field}:${p.term}`;
      if (seen.has(key)) continue;
      seen.add(key);
      found.push({ field: p.field, term: p.term, span: text.slice(at, end), start: at, end });
    }
  }
  return found.sort((a, b) => a.start - b.start);
}

/** The sentence or clause of `text` around [start, end), for evidence shown on hover. */
export function evidenceSpan(text: string, start: number, end: number): string {
  const left = Math.max(text.lastIndexOf('.', start - 1), text.lastIndexOf(',', start - 1), text.lastIndexOf(';', start - 1)) + 1;
  const stops = ['.', ',', ';'].map((c) => text.indexOf(c, end)).filter((i) => i >= 0);
  const right = stops.length ? Math.min(...stops) : text.length;
  return text.slice(left, right).trim();
}
