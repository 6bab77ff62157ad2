/**
 * @file Which tracks hold a caption written by an older adapter of a model: the ones `musilingo caption --stale`
 * and the app's "Re-caption N tracks" offer caption again. Main process and CLI.
 *
 * A track is stale for (pack, adapter) when it is present, has a model caption from that pack with another
 * adapter id ('' = the model's own), has none from the current adapter, and has no user-edited caption (an
 * edit is the user's text: it is never replaced, and its track is left alone).
 */
import type Database from 'better-sqlite3';

/** Ids of stale tracks, in id order. `captionModelId` is the pack id stored with captions (`demo@float32`). */
export function staleCaptionTrackIds(db: Database.Database, captionModelId: string, adapterId: string): number[] {
  const rows = db
    .prepare(
      `SELECT DISTINCT c.track_id AS id FROM captions c JOIN tracks t ON t.id = c.track_id
        WHERE t.missing_since IS NULL AND c.source = 'model' AND c.model_id = @model AND c.adapter_id != @adapter
          AND NOT EXISTS (SELECT 1 FROM captions u WHERE u.track_id = c.track_id AND u.source = 'user')
          AND NOT EXISTS (SELECT 1 FROM captions n WHERE n.track_id = c.track_id AND n.source = 'model'
                            AND n.model_id = @model AND n.adapter_id = @adapter)
        ORDER BY c.track_id`,
    )
    .all({ model: captionModelId, adapter: adapterId }) as { id: number }[];
  return rows.map((r) => r.id);
}
