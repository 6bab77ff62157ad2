/**
 * @file Repository for the tagger's tables (0070_tagger.sql): suggestions, write batches and the write journal.
 * Main process, CLI and tests. All SQL for these tables lives here, prepared once per connection.
 */
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { TagFamily, TagField } from '../tags/fields';
import { statementsPerConnection } from './statements';

/** Where a suggestion came from. */
export type SuggestionSource = 'caption' | 'question' | 'user';
/** A suggestion's review state. */
export type SuggestionState = 'pending' | 'accepted' | 'rejected';

/** A new suggestion. */
export interface NewSuggestion {
  readonly trackId: number;
  readonly field: TagField;
  readonly value: string;
  readonly source: SuggestionSource;
  readonly inVocabulary: boolean;
  readonly evidence: string | null;
  readonly modelId: string | null;
  readonly adapterId: string | null;
}

/** One suggested (or user-set) value of a field, as stored. */
export interface TagSuggestion extends NewSuggestion {
  readonly id: number;
  readonly state: SuggestionState;
  readonly createdAt: number;
}

/** Slot key → values (null: absent). See [Note: Tag slots]. */
export type SlotValues = Record<string, readonly string[] | null>;

/** One journal row. */
export interface JournalRow {
  readonly id: number;
  readonly batchId: string;
  readonly trackId: number | null;
  readonly path: string;
  readonly family: TagFamily;
  readonly fingerprintBefore: string;
  readonly fingerprintAfter: string | null;
  readonly oldValues: SlotValues;
  readonly newValues: SlotValues;
  readonly state: 'pending' | 'written' | 'failed';
  readonly error: string | null;
  readonly createdAt: number;
}

/** A batch with counts, for `tags history`. */
export interface TagBatch {
  readonly id: string;
  readonly kind: 'write' | 'undo';
  readonly undoes: string | null;
  readonly undoneBy: string | null;
  readonly fields: TagField[];
  readonly createdAt: number;
  readonly finishedAt: number | null;
  readonly written: number;
  readonly failed: number;
  readonly pending: number;
}

interface SuggestionRow {
  id: number;
  track_id: number;
  field: string;
  value: string;
  source: string;
  in_vocabulary: number;
  evidence: string | null;
  model_id: string | null;
  adapter_id: string | null;
  state: string;
  created_at: number;
}

interface JournalDbRow {
  id: number;
  batch_id: string;
  track_id: number | null;
  path: string;
  family: string;
  fingerprint_before: string;
  fingerprint_after: string | null;
  old_values: string;
  new_values: string;
  state: string;
  error: string | null;
  created_at: number;
}

function suggestionFromRow(r: SuggestionRow): TagSuggestion {
  return {
    id: r.id,
    trackId: r.track_id,
    field: r.field as TagField,
    value: r.value,
    source: r.source as SuggestionSource,
    inVocabulary: r.in_vocabulary === 1,
    evidence: r.evidence,
    modelId: r.model_id,
    adapterId: r.adapter_id,
    state: r.state as SuggestionState,
    createdAt: r.created_at,
  };
}

function journalFromRow(r: JournalDbRow): JournalRow {
  return {
    id: r.id,
    batchId: r.batch_id,
    trackId: r.track_id,
    path: r.path,
    family: r.family as TagFamily,
    fingerprintBefore: r.fingerprint_before,
    fingerprintAfter: r.fingerprint_after,
    oldValues: JSON.parse(r.old_values) as SlotValues,
    newValues: JSON.parse(r.new_values) as SlotValues,
    state: r.state as JournalRow['state'],
    error: r.error,
    createdAt: r.created_at,
  };
}

const statements = statementsPerConnection((db) => ({
  insertSuggestion: db.prepare<[Omit<NewSuggestion, 'inVocabulary'> & { inVocabulary: number; now: number }]>(
    `INSERT INTO tag_suggestions (track_id, field, value, source, in_vocabulary, evidence, model_id, adapter_id, state, created_at)
     VALUES (@trackId, @field, @value, @source, @inVocabulary, @evidence, @modelId, @adapterId, 'pending', @now)
     ON CONFLICT (track_id, field, value, source) DO UPDATE SET evidence = excluded.evidence,
       model_id = excluded.model_id, adapter_id = excluded.adapter_id`,
  ),
  insertUserValue: db.prepare<[{ trackId: number; field: string; value: string; now: number }]>(
    `INSERT INTO tag_suggestions (track_id, field, value, source, in_vocabulary, evidence, state, created_at, decided_at)
     VALUES (@trackId, @field, @value, 'user', 0, 'set by the user', 'accepted', @now, @now)
     ON CONFLICT (track_id, field, value, source) DO UPDATE SET state = 'accepted', decided_at = @now`,
  ),
  suggestionsOf: db.prepare<[number], SuggestionRow>('SELECT * FROM tag_suggestions WHERE track_id = ? ORDER BY field, id'),
  // Accepting a whole field accepts what is pending (not what the user rejected before); rejecting rejects all.
  setStateOfField: db.prepare<[{ state: string; now: number; trackId: number; field: string }]>(
    `UPDATE tag_suggestions SET state = @state, decided_at = @now WHERE track_id = @trackId AND field = @field
       AND state != @state AND (state = 'pending' OR @state = 'rejected')`,
  ),
  setStateOfValue: db.prepare<[string, number, number, string, string]>(
    `UPDATE tag_suggestions SET state = ?, decided_at = ? WHERE track_id = ? AND field = ? AND value = ?`,
  ),
  rejectOthers: db.prepare<[number, number, string]>(
    `UPDATE tag_suggestions SET state = 'rejected', decided_at = ? WHERE track_id = ? AND field = ? AND state = 'accepted'`,
  ),
  tracksWithField: db.prepare<[string], { track_id: number }>(
    `SELECT DISTINCT track_id FROM tag_suggestions WHERE field = ? AND state != 'rejected' ORDER BY track_id`,
  ),
  tracksWithAccepted: db.prepare<[], { track_id: number }>(
    `SELECT DISTINCT track_id FROM tag_suggestions WHERE state = 'accepted' ORDER BY track_id`,
  ),
  insertBatch: db.prepare<[{ id: string; kind: string; undoes: string | null; fields: string; now: number }]>(
    'INSERT INTO tag_batches (id, kind, undoes, fields, created_at) VALUES (@id, @kind, @undoes, @fields, @now)',
  ),
  finishBatch: db.prepare<[number, string]>('UPDATE tag_batches SET finished_at = ? WHERE id = ?'),
  markUndone: db.prepare<[string, string]>('UPDATE tag_batches SET undone_by = ? WHERE id = ?'),
  insertJournal: db.prepare<
    [{ batchId: string; trackId: number; path: string; family: string; before: string; old: string; new: string; now: number }]
  >(
    `INSERT INTO tag_journal (batch_id, track_id, path, family, fingerprint_before, old_values, new_values, state, created_at)
     VALUES (@batchId, @trackId, @path, @family, @before, @old, @new, 'pending', @now)`,
  ),
  finishJournal: db.prepare<[string, string | null, string | null, number, number]>(
    'UPDATE tag_journal SET state = ?, fingerprint_after = ?, error = ?, finished_at = ? WHERE id = ?',
  ),
  journalOfBatch: db.prepare<[string], JournalDbRow>('SELECT * FROM tag_journal WHERE batch_id = ? ORDER BY id'),
  pendingJournal: db.prepare<[], JournalDbRow>("SELECT * FROM tag_journal WHERE state = 'pending' ORDER BY id"),
  batches: db.prepare<[number], Omit<TagBatch, 'fields' | 'undoneBy' | 'createdAt' | 'finishedAt'> & { fields: string; undone_by: string | null; created_at: number; finished_at: number | null }>(
    `SELECT b.id, b.kind, b.undoes, b.undone_by, b.fields, b.created_at, b.finished_at,
       (SELECT count(*) FROM tag_journal j WHERE j.batch_id = b.id AND j.state = 'written') AS written,
       (SELECT count(*) FROM tag_journal j WHERE j.batch_id = b.id AND j.state = 'failed') AS failed,
       (SELECT count(*) FROM tag_journal j WHERE j.batch_id = b.id AND j.state = 'pending') AS pending
     FROM tag_batches b ORDER BY b.created_at DESC, b.rowid DESC LIMIT ?`,
  ),
  batchById: db.prepare<[string], { id: string; kind: string; undone_by: string | null }>('SELECT id, kind, undone_by FROM tag_batches WHERE id = ?'),
  lastUndoable: db.prepare<[], { id: string }>(
    "SELECT id FROM tag_batches b WHERE kind = 'write' AND undone_by IS NULL AND EXISTS (SELECT 1 FROM tag_journal j WHERE j.batch_id = b.id AND j.state = 'written') ORDER BY created_at DESC, rowid DESC LIMIT 1",
  ),
}));

/** Stores a suggestion (or refreshes its evidence); a decided suggestion keeps its state. */
export function addSuggestion(db: Database.Database, s: NewSuggestion, now: number): void {
  statements(db).insertSuggestion.run({ ...s, inVocabulary: s.inVocabulary ? 1 : 0, now });
}

/** Every suggestion of a track, by field. */
export function suggestionsOf(db: Database.Database, trackId: number): TagSuggestion[] {
  return statements(db).suggestionsOf.all(trackId).map(suggestionFromRow);
}

/**
 * A user's value for a field: replaces any accepted value(s) of that field with `values` (source 'user').
 * This is also how a user edits a caption-derived field.
 */
export function setUserValues(db: Database.Database, trackId: number, field: TagField, values: readonly string[], now: number): void {
  const s = statements(db);
  db.transaction(() => {
    s.rejectOthers.run(now, trackId, field);
    for (const value of values) s.insertUserValue.run({ trackId, field, value, now });
  })();
}

/** Accepts or rejects a field's suggestions (one value, or all non-user values of the field). Returns rows changed. */
export function decideSuggestions(
  db: Database.Database,
  trackId: number,
  field: TagField,
  state: 'accepted' | 'rejected',
  now: number,
  value?: string,
): number {
  const s = statements(db);
  return value === undefined ? s.setStateOfField.run({ state, now, trackId, field }).changes : s.setStateOfValue.run(state, now, trackId, field, value).changes;
}

/** Tracks that have a non-rejected suggestion for `field`. */
export function tracksWithSuggestions(db: Database.Database, field: TagField): number[] {
  return statements(db).tracksWithField.all(field).map((r) => r.track_id);
}

/** Tracks that have at least one accepted value waiting to be written. */
export function tracksWithAccepted(db: Database.Database): number[] {
  return statements(db).tracksWithAccepted.all().map((r) => r.track_id);
}

/** A new batch id: sortable by time, unique by chance. */
export function newBatchId(now: number): string {
  return `b${now.toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Creates a batch row. */
export function createBatch(db: Database.Database, b: { id: string; kind: 'write' | 'undo'; undoes: string | null; fields: readonly string[] }, now: number): void {
  statements(db).insertBatch.run({ id: b.id, kind: b.kind, undoes: b.undoes, fields: JSON.stringify(b.fields), now });
}

/** Marks a batch finished; for an undo batch also marks the batch it undid. */
export function finishBatch(db: Database.Database, id: string, undoes: string | null, now: number): void {
  const s = statements(db);
  db.transaction(() => {
    s.finishBatch.run(now, id);
    if (undoes) s.markUndone.run(id, undoes);
  })();
}

/** Journals one file before it is touched; the row is committed when this returns. Returns its id. */
export function journalBefore(
  db: Database.Database,
  j: { batchId: string; trackId: number; path: string; family: TagFamily; fingerprintBefore: string; oldValues: SlotValues; newValues: SlotValues },
  now: number,
): number {
  const r = statements(db).insertJournal.run({
    batchId: j.batchId,
    trackId: j.trackId,
    path: j.path,
    family: j.family,
    before: j.fingerprintBefore,
    old: JSON.stringify(j.oldValues),
    new: JSON.stringify(j.newValues),
    now,
  });
  return Number(r.lastInsertRowid);
}

/** Closes a journal row as written (with the new fingerprint) or failed (with the error). */
export function finishJournal(db: Database.Database, id: number, outcome: { state: 'written'; fingerprintAfter: string } | { state: 'failed'; error: string }, now: number): void {
  statements(db).finishJournal.run(
    outcome.state,
    outcome.state === 'written' ? outcome.fingerprintAfter : null,
    outcome.state === 'failed' ? outcome.error : null,
    now,
    id,
  );
}

/** The journal rows of a batch, in order. */
export function journalOfBatch(db: Database.Database, batchId: string): JournalRow[] {
  return statements(db).journalOfBatch.all(batchId).map(journalFromRow);
}

/** Rows left 'pending' by a process that died between journaling and finishing. */
export function pendingJournal(db: Database.Database): JournalRow[] {
  return statements(db).pendingJournal.all().map(journalFromRow);
}

/** The newest batches first. */
export function listBatches(db: Database.Database, limit = 50): TagBatch[] {
  return statements(db)
    .batches.all(limit)
    .map((r) => ({
      id: r.id,
      kind: r.kind,
      undoes: r.undoes,
      undoneBy: r.undone_by,
      fields: JSON.parse(r.fields) as TagField[],
      createdAt: r.created_at,
      finishedAt: r.finished_at,
      written: r.written,
      failed: r.failed,
      pending: r.pending,
    }));
}

/** A batch's kind and whether it was undone, or undefined. */
export function getBatch(db: Database.Database, id: string): { id: string; kind: 'write' | 'undo'; undoneBy: string | null } | undefined {
  const r = statements(db).batchById.get(id);
  return r ? { id: r.id, kind: r.kind as 'write' | 'undo', undoneBy: r.undone_by } : undefined;
}

/** The newest write batch that changed a file and has not been undone. */
export function lastUndoableBatch(db: Database.Database): string | undefined {
  return statements(db).lastUndoable.get()?.id;
}
