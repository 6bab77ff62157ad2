/**
 * @file The SQLite job queue: claims, priorities, batches, retries with backoff, groups, pause/resume/cancel,
 * crash recovery. Real better-sqlite3 on a temporary file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  backoffMs,
  cancelJob,
  claimJobs,
  completeAsGroup,
  completeJob,
  CRASH_GRACE,
  enqueueJob,
  failJob,
  getJob,
  groupCounts,
  heartbeatJobs,
  pauseJob,
  recoverStaleJobs,
  resumeJob,
  retryJob,
} from '../../../main/db/jobs';
import { openDatabase } from '../../../main/db/open';

let dir: string;
let db: Database.Database;
const A = 'host:1:1';
const B = 'host:2:2';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'musilingo-queue-'));
  db = openDatabase(join(dir, 'lib.sqlite'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('job queue', () => {
  it('claims by priority, then age, and never hands one job to two runners', () => {
    const low = enqueueJob(db, { kind: 'caption-one', priority: 0 }, 1).id;
    const high = enqueueJob(db, { kind: 'ask', priority: 100 }, 2).id;
    const a = claimJobs(db, A, ['caption-one', 'ask'], { now: 10 });
    const b = claimJobs(db, B, ['caption-one', 'ask'], { now: 10 });
    expect(a.map((j) => j.id)).toEqual([high]);
    expect(b.map((j) => j.id)).toEqual([low]);
    expect(claimJobs(db, A, ['caption-one', 'ask'], { now: 10 })).toEqual([]);
    expect(getJob(db, high)?.owner).toBe(A);
    expect(getJob(db, high)?.attempts).toBe(1);
  });

  it('only claims the kinds asked for', () => {
    enqueueJob(db, { kind: 'train' }, 1);
    expect(claimJobs(db, A, ['caption-one'], { now: 5 })).toEqual([]);
  });

  it('batches queued jobs of the same kind, priority and batch key', () => {
    for (let i = 0; i < 5; i++) enqueueJob(db, { kind: 'caption-one', payload: { batchKey: i === 2 ? 'other' : 'm' } }, i);
    const batch = claimJobs(db, A, ['caption-one'], { maxBatch: () => 3, now: 10 });
    expect(batch.map((j) => (j.payload as { batchKey: string }).batchKey)).toEqual(['m', 'm', 'm']);
    expect(batch.map((j) => j.id)).toEqual([1, 2, 4]);
  });

  it('de-duplicates pending work and raises the priority of the pending job', () => {
    const first = enqueueJob(db, { kind: 'caption-one', dedupeKey: 'caption:1', priority: 0 }, 1);
    const again = enqueueJob(db, { kind: 'caption-one', dedupeKey: 'caption:1', priority: 50 }, 2);
    expect(again).toEqual({ id: first.id, isNew: false });
    expect(getJob(db, first.id)?.priority).toBe(50);
    const [j] = claimJobs(db, A, ['caption-one'], { now: 3 });
    expect(completeJob(db, j!.id, A, { ok: 1 }, undefined, 4)).toBe(true);
    // Finished work no longer blocks the key.
    expect(enqueueJob(db, { kind: 'caption-one', dedupeKey: 'caption:1' }, 5).isNew).toBe(true);
  });

  it('retries a retryable failure after a growing backoff, keeps the error, then fails for good', () => {
    const id = enqueueJob(db, { kind: 'caption-one', maxAttempts: 2 }, 0).id;
    claimJobs(db, A, ['caption-one'], { now: 100 });
    expect(failJob(db, id, A, { message: 'GPU lost', isRetryable: true }, 100)).toBe('queued');
    expect(getJob(db, id)).toMatchObject({ state: 'queued', error: 'GPU lost', runAfter: 100 + backoffMs(1) });
    expect(claimJobs(db, A, ['caption-one'], { now: 101 })).toEqual([]); // still backing off
    expect(claimJobs(db, A, ['caption-one'], { now: 100 + backoffMs(1) })).toHaveLength(1);
    expect(failJob(db, id, A, { message: 'GPU lost again', isRetryable: true }, 20_000)).toBe('failed');
    expect(getJob(db, id)).toMatchObject({ state: 'failed', error: 'GPU lost again', attempts: 2 });
    expect(backoffMs(2)).toBeGreaterThan(backoffMs(1));
  });

  it('fails a non-retryable error at once', () => {
    const id = enqueueJob(db, { kind: 'caption-one' }, 0).id;
    claimJobs(db, A, ['caption-one'], { now: 1 });
    expect(failJob(db, id, A, { message: 'file vanished', isRetryable: false }, 2)).toBe('failed');
  });

  it('writes results only while the job is still ours, in the same transaction as its completion', () => {
    db.exec("CREATE TABLE t (x INTEGER) STRICT");
    const id = enqueueJob(db, { kind: 'caption-one' }, 0).id;
    claimJobs(db, A, ['caption-one'], { now: 1 });
    expect(() =>
      completeJob(db, id, A, null, () => {
        db.prepare('INSERT INTO t VALUES (1)').run();
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 0 });
    expect(getJob(db, id)?.state).toBe('running');
    cancelJob(db, id, 3);
    expect(completeJob(db, id, A, null, () => db.prepare('INSERT INTO t VALUES (1)').run())).toBe(false);
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 0 });
    expect(heartbeatJobs(db, A, [id], 4).has(id)).toBe(false);
  });

  it('gives back the running jobs of a dead owner, and fails a job that kills its process every time', () => {
    const id = enqueueJob(db, { kind: 'caption-one', maxAttempts: 1 }, 0).id;
    const alive = new Set([B]);
    for (let i = 0; i < 1 + CRASH_GRACE; i++) {
      expect(claimJobs(db, A, ['caption-one'], { now: 100 * i + 10 })).toHaveLength(1);
      const requeued = recoverStaleJobs(db, { isAlive: (o) => alive.has(o), leaseMs: 60_000, now: 100 * i + 20 });
      expect(requeued).toBe(i < CRASH_GRACE ? 1 : 0);
    }
    expect(getJob(db, id)).toMatchObject({ state: 'failed' });
    expect(getJob(db, id)?.error).toMatch(/stopped 4 times/);
  });

  it('leaves a live owner alone until its heartbeat is older than the lease', () => {
    const id = enqueueJob(db, { kind: 'caption-one' }, 0).id;
    claimJobs(db, B, ['caption-one'], { now: 10 });
    expect(recoverStaleJobs(db, { isAlive: () => true, leaseMs: 1000, now: 500 })).toBe(0);
    heartbeatJobs(db, B, [id], 900);
    expect(recoverStaleJobs(db, { isAlive: () => true, leaseMs: 1000, now: 1800 })).toBe(0);
    expect(recoverStaleJobs(db, { isAlive: () => true, leaseMs: 1000, now: 2000 })).toBe(1);
    expect(getJob(db, id)?.state).toBe('queued');
  });

  it('runs a group: fan-out, progress, pause, resume, cancel, retry, completion', () => {
    const g = enqueueJob(db, { kind: 'caption-all' }, 0).id;
    claimJobs(db, A, ['caption-all'], { now: 1 });
    const n = completeAsGroup(db, g, A, (parent) => {
      for (let i = 0; i < 4; i++) enqueueJob(db, { kind: 'caption-one', parentId: parent, payload: { i } }, 1);
      return 4;
    });
    expect(n).toBe(4);
    expect(getJob(db, g)).toMatchObject({ state: 'running', owner: null, progress: 0 });
    const [c1] = claimJobs(db, A, ['caption-one'], { now: 2 });
    completeJob(db, c1!.id, A, null);
    expect(getJob(db, g)?.progress).toBeCloseTo(0.25);
    expect(pauseJob(db, g)).toBe(true);
    expect(claimJobs(db, A, ['caption-one'], { now: 3 })).toEqual([]);
    expect(groupCounts(db, g)).toMatchObject({ paused: 3, done: 1 });
    expect(resumeJob(db, g)).toBe(true);
    const [c2] = claimJobs(db, A, ['caption-one'], { now: 4 });
    failJob(db, c2!.id, A, { message: 'corrupt file', isRetryable: false });
    expect(cancelJob(db, g)).toBe(true);
    expect(groupCounts(db, g)).toMatchObject({ done: 1, failed: 1, cancelled: 2 });
    expect(getJob(db, g)?.state).toBe('cancelled');
    expect(retryJob(db, g)).toBe(true);
    expect(getJob(db, g)?.state).toBe('running');
    let next;
    while ((next = claimJobs(db, A, ['caption-one'], { now: 5 })).length) completeJob(db, next[0]!.id, A, null);
    expect(getJob(db, g)).toMatchObject({ state: 'done', progress: 1, result: { total: 4, done: 4, failed: 0, cancelled: 0 } });
  });

  it('finishes an empty group at once', () => {
    const g = enqueueJob(db, { kind: 'caption-all' }, 0).id;
    claimJobs(db, A, ['caption-all'], { now: 1 });
    expect(completeAsGroup(db, g, A, () => 0)).toBe(0);
    expect(getJob(db, g)?.state).toBe('done');
  });
});
