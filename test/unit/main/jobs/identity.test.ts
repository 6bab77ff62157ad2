/**
 * @file A job's identity has one owner (main/jobs/identity.ts): a caption queued by "caption all" (the SQL
 * fan-out) and the same caption asked for alone share one de-duplication key and one batch key; and nothing in
 * main/app imports a CLI module (the model reference lives in the registry, not in CLI support code).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { childJobs, fanOutTrackJobs } from '../../../../main/db/jobs';
import { openDatabase } from '../../../../main/db/open';
import { batchKeyOf, captionDedupeKey, embedDedupeKey, trackDedupeKeyParts, windowKey } from '../../../../main/jobs/identity';
import { enqueueCaption, enqueueEmbed, enqueueGroup } from '../../../../main/jobs/kinds';

const ROOT = fileURLToPath(new URL('../../../..', import.meta.url));

describe('job identity', () => {
  it('splits a per-track key around the track id exactly as the whole key is built', () => {
    const w = windowKey({ kind: 'at', startMs: 5000 });
    const c = trackDedupeKeyParts('caption-one', 'demo@float32', 'adp-1', w);
    expect(`${c.prefix}:42${c.tail}`).toBe(captionDedupeKey(42, 'demo@float32', 'adp-1', { kind: 'at', startMs: 5000 }));
    const e = trackDedupeKeyParts('embed', '/packs/x', '', 'all');
    expect(`${e.prefix}:7${e.tail}`).toBe(embedDedupeKey(7, '/packs/x'));
  });

  it('gives a fanned-out child the key and batch key of the same caption asked for alone', () => {
    const db = openDatabase(':memory:');
    const now = Date.now();
    const add = db.prepare('INSERT INTO tracks (path, size_bytes, mtime_ms, fingerprint, added_at, updated_at) VALUES (?, 1, 0, ?, ?, ?)');
    const ids = ['a', 'b', 'c'].map((n) => Number(add.run(`/m/${n}.flac`, `fp-${n}`, now, now).lastInsertRowid));
    const group = enqueueGroup(db, { kind: 'caption-all', model: 'demo@float32', adapter: 'adp-1' });
    const made = fanOutTrackJobs(db, group.id, {
      childKind: 'caption-one', model: 'demo@float32', adapter: 'adp-1', window: { kind: 'default' }, windowKey: 'default',
      modelId: 'demo@float32', adapterId: 'adp-1', encoderId: 'mert-64x3', force: false, priority: 0,
    });
    expect(made).toBe(3);
    const children = childJobs(db, group.id);
    expect(children.map((j) => j.dedupeKey).sort()).toEqual(ids.map((id) => captionDedupeKey(id, 'demo@float32', 'adp-1', { kind: 'default' })).sort());
    expect(new Set(children.map((j) => (j.payload as { batchKey: string }).batchKey))).toEqual(new Set([batchKeyOf('demo@float32', 'adp-1')]));
    // The same caption asked for alone is the pending child, not a second job.
    const alone = enqueueCaption(db, { trackId: ids[0]!, model: 'demo@float32', adapter: 'adp-1' });
    expect(alone.isNew).toBe(false);
    expect(children.map((j) => j.id)).toContain(alone.id);
    // A different adapter is different work.
    expect(enqueueCaption(db, { trackId: ids[0]!, model: 'demo@float32', adapter: '' }).isNew).toBe(true);
    expect(enqueueEmbed(db, { trackId: ids[0]!, model: 'demo@float32', adapter: 'adp-1' }).isNew).toBe(true);
    db.close();
  });

  it('keeps main/app free of CLI modules', () => {
    const dir = join(ROOT, 'main', 'app');
    const offenders = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /from '\.\.\/(cli\/|jobs\/cli-support)/.test(readFileSync(join(dir, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
