/**
 * @file Clearing finished jobs (main process, CLI): the Jobs page's "Clear finished". A separate module from
 * jobs.ts because it is the only place rows leave the queue. Plain Node.
 */
import type Database from 'better-sqlite3';

/**
 * Deletes finished (done, failed, cancelled) top-level jobs; a group's children go with it (ON DELETE CASCADE,
 * migration 0040). Children of a group that is still running stay, because the group counts them. Captions,
 * answers and other results live in their own tables and are kept. Returns how many top-level jobs went.
 */
export function clearFinishedJobs(db: Database.Database): number {
  return db
    .prepare(`DELETE FROM jobs WHERE parent_id IS NULL AND state IN ('done', 'failed', 'cancelled')`)
    .run().changes;
}
