/**
 * @file The tagger behind the app's IPC channels `tags:*` (main process, E2E bridge): the Tags card, bulk accept
 * in the Library, preview → write → undo. Thin: the decisions live in main/tags/ (review, writer) and the SQL in
 * main/db/tags.ts; this module turns them into contract shapes.
 *
 * [Note: Tag writes in the main process]
 * Writing tags is file I/O, not computation: each file is a copy, a tag rewrite of its header and a rename, all
 * asynchronous except the tag library's own read/write of one file. It stays in main next to the one writable
 * connection, which must commit the journal row before each file is touched (see [Note: The safe tag write]).
 */
import type Database from 'better-sqlite3';
import type { TagBatchInfo, TagBatchResult, TagFieldName, TagPreviewFile, TrackTagsInfo } from '../../preload/contract';
import { listBatches, lastUndoableBatch, setUserValues, suggestionsOf, tracksWithAccepted, tracksWithSuggestions } from '../db/tags';
import { TracksRepo } from '../db/tracks';
import { readFileFields, decideField, pendingValues, reviewTrack } from '../tags/review';
import { suggestFromStoredCaption } from '../tags/suggest';
import { isWritableFormat } from '../tags/tag-io';
import { TagWriter, type BatchResult } from '../tags/writer';
import type { EventHub } from './events';

/** What the `tags:*` handlers call. */
export interface TagsFacade {
  get(trackId: number): TrackTagsInfo;
  suggest(trackIds: number[] | null): { suggestions: number };
  decide(q: { trackId: number; field: TagFieldName; decision: 'accepted' | 'rejected'; value: string | null }): TrackTagsInfo;
  set(q: { trackId: number; field: TagFieldName; values: string[] }): TrackTagsInfo;
  bulkAccept(q: { field: TagFieldName; whereEmpty: boolean; dryRun: boolean }): { tracks: number };
  preview(trackIds: number[] | null): TagPreviewFile[];
  write(trackIds: number[] | null): Promise<TagBatchResult>;
  undo(batchId: string | null): Promise<TagBatchResult>;
  history(): TagBatchInfo[];
}

function notFound(message: string): Error {
  return Object.assign(new Error(message), { code: 'not-found' });
}

/** Creates the facade over the app's writable connection. */
export function createTagsFacade(db: Database.Database, events: EventHub | null): TagsFacade {
  const tracks = new TracksRepo(db);
  const writer = new TagWriter({ db, tracks });

  const track = (id: number) => {
    const t = tracks.getById(id);
    if (!t) throw notFound(`Track ${id} is not in the library.`);
    return t;
  };
  const info = (id: number): TrackTagsInfo => {
    const r = reviewTrack(db, track(id));
    return {
      trackId: r.trackId,
      path: r.path,
      writable: r.writable,
      readError: r.readError,
      fields: r.fields.map((f) => ({
        field: f.field,
        fileValues: f.fileValues ? [...f.fileValues] : null,
        suggestions: f.suggestions.map((s) => ({ id: s.id, field: s.field, value: s.value, source: s.source, inVocabulary: s.inVocabulary, evidence: s.evidence, state: s.state })),
        hasPending: f.pending !== undefined,
        pending: f.pending ? [...f.pending] : null,
      })),
    };
  };
  const items = (ids: number[] | null) =>
    (ids ?? tracksWithAccepted(db)).flatMap((id) => {
      const t = tracks.getById(id);
      const values = t ? pendingValues(suggestionsOf(db, id)) : {};
      return t && Object.keys(values).length ? [{ track: t, values }] : [];
    });
  const finish = (r: BatchResult): TagBatchResult => {
    const ids = r.files.filter((f) => f.status === 'written' && f.trackId !== null).map((f) => f.trackId!);
    if (ids.length) events?.emit('library:changed', { reason: 'scan', trackIds: ids });
    return { batchId: r.batchId, files: r.files.map((f) => ({ ...f })) };
  };

  return {
    get(trackId) {
      track(trackId);
      suggestFromStoredCaption(db, trackId);
      return info(trackId);
    },
    suggest(ids) {
      // Caption-derived suggestions only: cheap (SQL and a phrase match per track), no model run. The model's
      // questions run as 'suggest-tags' jobs from the CLI (`musilingo tags suggest`).
      const list = ids ?? tracks.list({ state: 'present', limit: Number.MAX_SAFE_INTEGER }).map((t) => t.id);
      let n = 0;
      for (const id of list) n += suggestFromStoredCaption(db, id);
      return { suggestions: n };
    },
    decide(q) {
      decideField(db, tracks, { field: q.field, decision: q.decision, trackId: q.trackId, ...(q.value !== null ? { value: q.value } : {}) });
      return info(q.trackId);
    },
    set(q) {
      track(q.trackId);
      setUserValues(db, q.trackId, q.field, q.values, Date.now());
      return info(q.trackId);
    },
    bulkAccept(q) {
      if (!q.dryRun) return { tracks: decideField(db, tracks, { field: q.field, decision: 'accepted', allTracks: true, whereEmpty: q.whereEmpty }).length };
      // The count the Library shows before the user clicks: tracks with a pending suggestion for the field
      // (and, with whereEmpty, an empty field in the file) — exactly what decideField would change.
      let n = 0;
      for (const id of tracksWithSuggestions(db, q.field)) {
        if (!suggestionsOf(db, id).some((s) => s.field === q.field && s.state === 'pending')) continue;
        if (q.whereEmpty) {
          const t = tracks.getById(id);
          if (!t || !isWritableFormat(t.path)) continue;
          try {
            if (readFileFields(t.path)[q.field]?.length) continue;
          } catch {
            continue;
          }
        }
        n++;
      }
      return { tracks: n };
    },
    preview(ids) {
      return items(ids).map(({ track: t, values }) => {
        const p = writer.plan(t, values);
        return {
          trackId: p.trackId,
          path: p.path,
          error: p.error,
          changes: p.changes.map((c) => ({ field: c.field, key: c.key, oldValues: c.oldValues ? [...c.oldValues] : null, newValues: c.newValues ? [...c.newValues] : null })),
        };
      });
    },
    async write(ids) {
      const list = items(ids);
      const fields = [...new Set(list.flatMap((i) => Object.keys(i.values)))] as TagFieldName[];
      return finish(await writer.write(list, fields));
    },
    async undo(batchId) {
      const id = batchId ?? lastUndoableBatch(db);
      if (!id) throw notFound('There is no tag write to undo.');
      return finish(await writer.undo(id));
    },
    history() {
      return listBatches(db).map((b) => ({ id: b.id, kind: b.kind, undoes: b.undoes, undoneBy: b.undoneBy, fields: b.fields, createdAt: b.createdAt, written: b.written, failed: b.failed }));
    },
  };
}

const facades = new WeakMap<Database.Database, TagsFacade>();

/** The facade of a connection, created on first use (one per app, like the connection). */
export function tagsFacadeFor(db: Database.Database, events: EventHub | null): TagsFacade {
  let f = facades.get(db);
  if (!f) {
    f = createTagsFacade(db, events);
    facades.set(db, f);
  }
  return f;
}
