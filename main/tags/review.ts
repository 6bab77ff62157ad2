/**
 * @file Review of tag suggestions, shared by the CLI (`musilingo tags …`) and the app's IPC handlers: what a
 * file holds, what is suggested, what is accepted and will be written, bulk accept rules. Main process and CLI.
 *
 * [Note: Accepted values are the pending edits]
 * A suggestion the user accepts, and every value the user types (`tags set`, the Edit button, source 'user'),
 * is an accepted row of tag_suggestions. `tags write` writes, per field, the accepted values in the order they
 * were suggested; a user value "" means "remove this field from the file". Nothing is written that the user did
 * not accept: a suggestion never overwrites a tag the file already has unless the user says so.
 */
import type Database from 'better-sqlite3';
import { decideSuggestions, suggestionsOf, tracksWithSuggestions, type TagSuggestion } from '../db/tags';
import type { Track, TracksRepo } from '../db/tracks';
import { slotsFor, TAG_FIELDS, type TagField } from './fields';
import { isWritableFormat, openTags } from './tag-io';
import type { FieldValues } from './writer';

/** A field's view for review. */
export interface FieldReview {
  readonly field: TagField;
  /** What the file holds now (first slot of the field), null when absent or unreadable. */
  readonly fileValues: readonly string[] | null;
  readonly suggestions: readonly TagSuggestion[];
  /** Accepted values that would be written (null: the field would be removed), or undefined when none. */
  readonly pending: readonly string[] | null | undefined;
}

/** A track's tags for review. */
export interface TrackTagsReview {
  readonly trackId: number;
  readonly path: string;
  readonly writable: boolean;
  /** Why the file's values could not be read, if so. */
  readonly readError: string | null;
  readonly fields: readonly FieldReview[];
}

/** The file's current value of each field (first slot), read with the tag library. Throws naming the file. */
export function readFileFields(path: string): Record<TagField, readonly string[] | null> {
  const doc = openTags(path);
  try {
    const out = {} as Record<TagField, readonly string[] | null>;
    for (const f of TAG_FIELDS) {
      const slot = slotsFor(doc.family, f, doc.hasRiffInfo)[0];
      out[f] = slot ? doc.read(slot.key) : null;
    }
    return out;
  } finally {
    doc.dispose();
  }
}

/** Accepted values per field for one track; see [Note: Accepted values are the pending edits]. */
export function pendingValues(suggestions: readonly TagSuggestion[], fields?: readonly TagField[]): FieldValues {
  const out: FieldValues = {};
  for (const s of suggestions) {
    if (s.state !== 'accepted' || (fields && !fields.includes(s.field))) continue;
    if (s.value === '') {
      out[s.field] = null;
      continue;
    }
    const prev = out[s.field];
    const list = prev ? [...prev] : [];
    if (!list.includes(s.value)) list.push(s.value);
    out[s.field] = list;
  }
  return out;
}

/** Everything the review needs about one track. */
export function reviewTrack(db: Database.Database, track: Track): TrackTagsReview {
  const suggestions = suggestionsOf(db, track.id);
  const pending = pendingValues(suggestions);
  const writable = isWritableFormat(track.path);
  let file: Record<TagField, readonly string[] | null> | null = null;
  let readError: string | null = null;
  if (writable) {
    try {
      file = readFileFields(track.path);
    } catch (e) {
      readError = (e as Error).message;
    }
  } else readError = `"${track.path}" is unsupported for writing`;
  return {
    trackId: track.id,
    path: track.path,
    writable,
    readError,
    fields: TAG_FIELDS.map((field) => ({
      field,
      fileValues: file?.[field] ?? null,
      suggestions: suggestions.filter((s) => s.field === field),
      pending: field in pending ? pending[field] : undefined,
    })),
  };
}

/**
 * Accepts (or rejects) a field's suggestions on one track, or with `allTracks` on every track that has
 * suggestions for it; `whereEmpty` limits it to files that hold no value for the field. Returns the track ids
 * that changed. `value` picks one suggested value instead of all of them.
 */
export function decideField(
  db: Database.Database,
  tracks: TracksRepo,
  req: { field: TagField; decision: 'accepted' | 'rejected'; trackId?: number; allTracks?: boolean; whereEmpty?: boolean; value?: string },
  now: number = Date.now(),
): number[] {
  const ids = req.allTracks ? tracksWithSuggestions(db, req.field) : req.trackId !== undefined ? [req.trackId] : [];
  const changed: number[] = [];
  for (const id of ids) {
    if (req.whereEmpty) {
      const t = tracks.getById(id);
      if (!t || !isWritableFormat(t.path)) continue;
      try {
        if (readFileFields(t.path)[req.field]?.length) continue;
      } catch {
        continue;
      }
    }
    if (decideSuggestions(db, id, req.field, req.decision, now, req.value) > 0) changed.push(id);
  }
  return changed;
}
