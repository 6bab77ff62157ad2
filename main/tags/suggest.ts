/**
 * @file Turns what the model said about a track into tag suggestions: (1) the track's caption matched against
 * the vocabulary, (2) answers to short fixed questions, normalised onto the vocabulary or kept as free text.
 * Pure logic over the database; the questions themselves run as 'suggest-tags' jobs (main/jobs/runner.ts).
 * Main process and CLI.
 */
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { captionsForTrack, type Caption } from '../db/captions';
import { enqueueJob } from '../db/jobs';
import { addSuggestion, type NewSuggestion } from '../db/tags';
import type { TagField } from './fields';
import { evidenceSpan, matchTerms } from './vocabulary';

/**
 * The fixed questions, in the short-question style of MusicInstruct that MusiLingo was tuned on. Each answer is
 * matched only against its own field's vocabulary.
 */
export const TAG_QUESTIONS: readonly { readonly field: Exclude<TagField, 'caption'>; readonly question: string }[] = [
  { field: 'genre', question: 'What is the genre of this music?' },
  { field: 'mood', question: 'What is the mood of this music?' },
  { field: 'instruments', question: 'Which instruments are playing?' },
  { field: 'vocals', question: 'Is there a singer, and is it a male or female voice?' },
  { field: 'tempo', question: 'Is the tempo slow, medium or fast?' },
];

/** Longest free-text answer kept as a suggestion; longer answers are cut (the evidence keeps the whole answer). */
const FREE_TEXT_MAX_CHARS = 60;

/** The job kind that asks the fixed questions about one track. */
export const SUGGEST_KIND = 'suggest-tags';

/** Payload of a {@link SUGGEST_KIND} job. */
export const SuggestTagsPayload = z.object({ trackId: z.number().int().positive(), model: z.string().min(1), adapter: z.string().default('') });

/** Enqueues the fixed questions for one track; a pending job for the same track and model is reused. */
export function enqueueSuggestTags(db: Database.Database, req: { trackId: number; model: string; adapter?: string; priority?: number }): { id: number; isNew: boolean } {
  const adapter = req.adapter ?? '';
  return enqueueJob(db, {
    kind: SUGGEST_KIND,
    payload: { trackId: req.trackId, model: req.model, adapter },
    priority: req.priority ?? 0,
    dedupeKey: `suggest-tags:${req.trackId}:${req.model}:${adapter}`,
  });
}

/**
 * The caption the tagger suggests from: a user's edit wins over a model's caption, then the newest, then the
 * earliest window. Null when the track has none.
 */
export function captionForTags(captions: readonly Caption[]): Caption | null {
  const sorted = [...captions].sort((a, b) => (a.source === b.source ? 0 : a.source === 'user' ? -1 : 1) || b.createdAt - a.createdAt || a.startMs - b.startMs);
  return sorted[0] ?? null;
}

/** Suggestions from a caption's text: every vocabulary term it names, plus the caption itself. */
export function suggestionsFromCaption(trackId: number, c: Caption): NewSuggestion[] {
  const base = { trackId, source: 'caption' as const, modelId: c.modelId, adapterId: c.adapterId };
  const out: NewSuggestion[] = [{ ...base, field: 'caption', value: c.text.trim(), inVocabulary: false, evidence: `caption at ${Math.round(c.startMs / 1000)} s` }];
  for (const m of matchTerms(c.text)) {
    out.push({ ...base, field: m.field, value: m.term, inVocabulary: true, evidence: evidenceSpan(c.text, m.start, m.end) });
  }
  return out;
}

/**
 * Suggestions from the model's answer to one fixed question: the vocabulary terms of that field it names, or,
 * when it names none, the answer itself as free text (never forced onto a term it does not name).
 */
export function suggestionsFromAnswer(
  trackId: number,
  field: Exclude<TagField, 'caption'>,
  question: string,
  answer: string,
  model: { modelId: string; adapterId: string },
): NewSuggestion[] {
  const base = { trackId, field, source: 'question' as const, modelId: model.modelId, adapterId: model.adapterId, evidence: `${question} → ${answer.trim()}` };
  const terms = matchTerms(answer, field);
  if (terms.length) return terms.map((m) => ({ ...base, value: m.term, inVocabulary: true }));
  const free = answer.trim().replace(/\s+/g, ' ');
  if (!free) return [];
  return [{ ...base, value: free.length > FREE_TEXT_MAX_CHARS ? `${free.slice(0, FREE_TEXT_MAX_CHARS - 1)}…` : free, inVocabulary: false }];
}

/** Stores caption-derived suggestions for `trackId`; returns how many were stored (0 when it has no caption). */
export function suggestFromStoredCaption(db: Database.Database, trackId: number, now: number = Date.now()): number {
  const c = captionForTags(captionsForTrack(db, trackId));
  if (!c) return 0;
  const list = suggestionsFromCaption(trackId, c);
  db.transaction(() => {
    for (const s of list) addSuggestion(db, s, now);
  })();
  return list.length;
}

/** Stores the suggestions from a set of answers in one transaction (called by the runner when the job completes). */
export function storeAnswerSuggestions(
  db: Database.Database,
  trackId: number,
  answers: readonly { field: Exclude<TagField, 'caption'>; question: string; answer: string }[],
  model: { modelId: string; adapterId: string },
  now: number = Date.now(),
): number {
  let n = 0;
  for (const a of answers) {
    for (const s of suggestionsFromAnswer(trackId, a.field, a.question, a.answer, model)) {
      addSuggestion(db, s, now);
      n++;
    }
  }
  return n;
}
