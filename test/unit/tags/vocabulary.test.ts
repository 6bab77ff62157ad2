/**
 * @file The vocabulary matcher and the suggestion rules: whole phrases, longest match, negations, synonyms, and
 * answers that name no term kept as free text.
 */
import { describe, expect, it } from 'vitest';
import { parseFieldList, slotsFor } from '../../../main/tags/fields';
import { suggestionsFromAnswer } from '../../../main/tags/suggest';
import { matchTerms, VOCABULARY } from '../../../main/tags/vocabulary';

const terms = (text: string) => matchTerms(text).map((m) => `${m.field}:${m.term}`);

describe('matchTerms', () => {
  it('maps synonyms onto their term and prefers the longest phrase', () => {
    expect(terms('An e-guitar riff over a synth bass and a guitar solo')).toEqual(['instruments:electric guitar', 'instruments:synthesizer', 'instruments:guitar']);
    expect(terms('Upright bass and piano; hip-hop beat')).toEqual(['instruments:double bass', 'instruments:piano', 'genre:hip hop']);
  });
  it('matches whole words only: "female" is not "male", "funky" is not "fun"', () => {
    expect(terms('a female vocal, funky')).toEqual(['vocals:female', 'mood:groovy']);
  });
  it('drops negated instruments but keeps negative vocal phrases', () => {
    expect(terms('There is no percussion and no vocals, without drums.')).toEqual(['vocals:none']);
  });
  it('restricts to one field when asked', () => {
    expect(matchTerms('slow sad jazz', 'mood').map((m) => m.term)).toEqual(['sad']);
  });
  it('every term of the vocabulary occurs in the MusicCaps aspect lists', () => {
    for (const list of Object.values(VOCABULARY)) for (const t of list) expect(t.aspectCount).toBeGreaterThan(0);
  });
});

describe('suggestionsFromAnswer', () => {
  const model = { modelId: 'm', adapterId: '' };
  it('normalises an answer onto the vocabulary of its field', () => {
    const s = suggestionsFromAnswer(1, 'genre', 'What is the genre of this music?', 'This is a rock song with jazzy chords', model);
    expect(s.map((x) => [x.value, x.inVocabulary])).toEqual([['rock', true], ['jazz', true]]);
    expect(s[0]!.evidence).toBe('What is the genre of this music? → This is a rock song with jazzy chords');
  });
  it('keeps an answer that names no term as free text, never a wrong term', () => {
    const s = suggestionsFromAnswer(1, 'mood', 'What is the mood of this music?', 'ategorierungsnahmeplaats Bedeut', model);
    expect(s).toEqual([expect.objectContaining({ value: 'ategorierungsnahmeplaats Bedeut', inVocabulary: false, source: 'question' })]);
  });
});

describe('fields', () => {
  it('parses field lists and names the allowed values on error', () => {
    expect(parseFieldList('genre, Mood')).toEqual(['genre', 'mood']);
    expect(() => parseFieldList('genre,colour')).toThrow(/Unknown tag field "colour". Expected one of: genre, mood/);
  });
  it('maps mood to TMOO in ID3v2.4 and TXXX:MOOD in v2.3; caption to two slots', () => {
    expect(slotsFor('id3v2.4', 'mood').map((s) => s.key)).toEqual(['TMOO']);
    expect(slotsFor('id3v2.3', 'mood').map((s) => s.key)).toEqual(['TXXX:MOOD']);
    expect(slotsFor('mp4', 'caption').map((s) => s.key)).toEqual(['©cmt', '----:MUSILINGO_CAPTION']);
    expect(slotsFor('id3v2.4', 'genre', true).map((s) => s.key)).toEqual(['TCON', 'INFO:IGNR']);
  });
});
