/**
 * @file Captioning a selection of tracks as one job group (main process): the Library's "Caption selected" /
 * "Re-caption selected". A group, like caption-all, so the Jobs page shows "3 of 40", a rate and time left for
 * it, and pause, cancel and retry apply to the whole selection. Plain Node.
 */
import type Database from 'better-sqlite3';
import { trackDedupeKeyParts } from './identity';
import { batchKeyOf, JOB_PRIORITY, windowKey } from './kinds';

/** The group kind; it is never claimed by the runner (it is created already running, with its children). */
export const SELECTION_GROUP_KIND = 'caption-selection';

// [Note: A selection group is born fanned out]
// caption-all is claimed by the runner, which then inserts the children (completeAsGroup). A selection's
// tracks are known up front, so the parent is inserted directly in the state a fanned-out group has: running,
// with no owner. From there the queue treats it like any other group: each child's completion updates its
// progress and the last one finishes it (main/db/jobs.ts updateGroup).

/**
 * Queues caption-one children for `trackIds` under one new group. Without `redo`, tracks that already have a
 * caption are skipped. A track with a caption job already pending is skipped too (the dedupe index). Returns
 * the group id (null when there was nothing to do) and how many children were queued.
 */
export function enqueueSelectionCaptions(
  db: Database.Database,
  req: { trackIds: readonly number[]; model: string; adapter?: string; redo: boolean },
  now: number = Date.now(),
): { groupId: number | null; queued: number } {
  const window = { kind: 'default' } as const;
  const adapter = req.adapter ?? '';
  // The child jobs' dedupe keys come from the one owner of a job's identity (main/jobs/identity.ts), so a
  // selection and a single Caption of the same track share one pending job.
  const key = trackDedupeKeyParts('caption-one', req.model, adapter, windowKey(window));
  return db.transaction(() => {
    const parent = db
      .prepare(
        `INSERT INTO jobs (kind, payload, state, priority, started_at, created_at, updated_at, max_attempts)
         VALUES (@kind, @payload, 'running', @priority, @now, @now, @now, 1)`,
      )
      .run({ kind: SELECTION_GROUP_KIND, payload: JSON.stringify({ model: req.model, adapter, count: req.trackIds.length, redo: req.redo }), priority: JOB_PRIORITY.group, now });
    const groupId = Number(parent.lastInsertRowid);
    const queued = db
      .prepare(
        `INSERT OR IGNORE INTO jobs (kind, payload, priority, parent_id, dedupe_key, max_attempts, created_at, updated_at)
         SELECT 'caption-one',
                json_object('trackId', t.id, 'model', @model, 'adapter', @adapter, 'window', json(@window), 'batchKey', @batchKey),
                @priority, @groupId, @keyPrefix || ':' || t.id || @keyTail, 3, @now, @now
         FROM tracks t
         WHERE t.id IN (SELECT value FROM json_each(@ids)) AND t.missing_since IS NULL
           AND (@redo = 1 OR NOT EXISTS (SELECT 1 FROM captions c WHERE c.track_id = t.id))
         ORDER BY t.id`,
      )
      .run({
        model: req.model,
        adapter,
        window: JSON.stringify(window),
        batchKey: batchKeyOf(req.model, adapter),
        keyPrefix: key.prefix,
        keyTail: key.tail,
        priority: JOB_PRIORITY.group,
        groupId,
        now,
        ids: JSON.stringify(req.trackIds),
        redo: req.redo ? 1 : 0,
      }).changes;
    if (queued === 0) {
      db.prepare('DELETE FROM jobs WHERE id = ?').run(groupId);
      return { groupId: null, queued: 0 };
    }
    return { groupId, queued };
  }).immediate();
}
