/**
 * @file Repository for the persistent job queue (0010 jobs + 0040 additions). Main process and CLI: every write
 * goes through the single writer connection; claims and completions are single transactions, so a kill -9 at
 * any moment leaves each job either untouched, claimed (and recovered on the next start) or finished with its
 * results. See [Note: Job lifecycle].
 */
import type Database from 'better-sqlite3';
import { statementsPerConnection } from './statements';
import { batchKeyOf, trackDedupeKeyParts } from '../jobs/identity';

/** A job's state (0010's CHECK constraint). */
export type JobState = 'queued' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled';

/** States a job never leaves on its own. */
export const TERMINAL_STATES: readonly JobState[] = ['done', 'failed', 'cancelled'];

/** A job row, with payload and result parsed. */
export interface Job {
  readonly id: number;
  readonly kind: string;
  readonly payload: unknown;
  readonly state: JobState;
  readonly priority: number;
  readonly progress: number;
  readonly result: unknown;
  readonly error: string | null;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly runAfter: number;
  readonly parentId: number | null;
  readonly owner: string | null;
  readonly dedupeKey: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
}

/** What {@link enqueueJob} takes. */
export interface NewJob {
  readonly kind: string;
  readonly payload?: unknown;
  /** Higher runs first. See JOB_PRIORITY in main/jobs/kinds.ts. */
  readonly priority?: number;
  readonly parentId?: number;
  /** At most one queued, running or paused job per key; enqueueing again returns the pending job. */
  readonly dedupeKey?: string;
  readonly maxAttempts?: number;
}

/** Children counts of a group job, by state. */
export type GroupCounts = Record<JobState, number> & { total: number };

interface Row {
  id: number;
  kind: string;
  payload: string;
  state: JobState;
  priority: number;
  progress: number;
  result: string | null;
  error: string | null;
  attempts: number;
  max_attempts: number;
  run_after: number;
  parent_id: number | null;
  owner: string | null;
  dedupe_key: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function toJob(r: Row): Job {
  return {
    id: r.id,
    kind: r.kind,
    payload: parseJson(r.payload),
    state: r.state,
    priority: r.priority,
    progress: r.progress,
    result: parseJson(r.result),
    error: r.error,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    runAfter: r.run_after,
    parentId: r.parent_id,
    owner: r.owner,
    dedupeKey: r.dedupe_key,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}


function prepare(db: Database.Database) {
  return {
    insert: db.prepare(
      `INSERT OR IGNORE INTO jobs (kind, payload, priority, parent_id, dedupe_key, max_attempts, created_at, updated_at)
       VALUES (@kind, @payload, @priority, @parentId, @dedupeKey, @maxAttempts, @now, @now)`,
    ),
    pendingByKey: db.prepare<[string], Row>(
      `SELECT * FROM jobs WHERE dedupe_key = ? AND state IN ('queued', 'running', 'paused')`,
    ),
    bumpPriority: db.prepare('UPDATE jobs SET priority = max(priority, ?), updated_at = ? WHERE id = ?'),
    get: db.prepare<[number], Row>('SELECT * FROM jobs WHERE id = ?'),
    nextIds: db.prepare<[number, string, number], { id: number }>(
      `SELECT id FROM jobs WHERE state = 'queued' AND run_after <= ? AND kind IN (SELECT value FROM json_each(?))
       ORDER BY priority DESC, id LIMIT ?`,
    ),
    nextSameBatch: db.prepare<[number, string, number, string, number], { id: number }>(
      `SELECT id FROM jobs WHERE state = 'queued' AND run_after <= ? AND kind = ? AND priority = ?
         AND coalesce(json_extract(payload, '$.batchKey'), '') = ?
       ORDER BY id LIMIT ?`,
    ),
    claim: db.prepare<[string, number, number, number, number, number], Row>(
      `UPDATE jobs SET state = 'running', owner = ?, heartbeat_at = ?, started_at = coalesce(started_at, ?),
         attempts = attempts + 1, updated_at = ?, error = NULL
       WHERE id = ? AND state = 'queued' AND run_after <= ? RETURNING *`,
    ),
    finish: db.prepare(
      `UPDATE jobs SET state = @state, owner = NULL, progress = @progress, result = @result, error = @error,
         finished_at = @now, updated_at = @now
       WHERE id = @id AND state = 'running' AND owner = @owner`,
    ),
    retryLater: db.prepare(
      `UPDATE jobs SET state = 'queued', owner = NULL, error = @error, run_after = @runAfter, updated_at = @now
       WHERE id = @id AND state = 'running' AND owner = @owner`,
    ),
    becomeGroup: db.prepare(
      `UPDATE jobs SET owner = NULL, progress = 0, result = @result, updated_at = @now
       WHERE id = @id AND state = 'running' AND owner = @owner`,
    ),
    setProgress: db.prepare(
      `UPDATE jobs SET progress = ?, updated_at = ? WHERE id = ? AND state = 'running' AND owner = ?`,
    ),
    heartbeat: db.prepare(`UPDATE jobs SET heartbeat_at = ? WHERE owner = ? AND state = 'running'`),
    stillOwned: db.prepare<[string, string], { id: number }>(
      `SELECT id FROM jobs WHERE id IN (SELECT value FROM json_each(?)) AND state = 'running' AND owner = ?`,
    ),
    owners: db.prepare<[], { owner: string; heartbeat: number | null }>(
      `SELECT owner, max(heartbeat_at) AS heartbeat FROM jobs WHERE state = 'running' AND owner IS NOT NULL GROUP BY owner`,
    ),
    requeueOwner: db.prepare(
      `UPDATE jobs SET state = 'queued', owner = NULL, run_after = @now, updated_at = @now,
         error = 'Interrupted: the process running it stopped before it finished; it runs again.'
       WHERE owner = @owner AND state = 'running' AND attempts < max_attempts + @grace`,
    ),
    failOwner: db.prepare(
      `UPDATE jobs SET state = 'failed', owner = NULL, finished_at = @now, updated_at = @now,
         error = 'The process running this job stopped ' || attempts || ' times while working on it (a crash or kill each time); giving up.'
       WHERE owner = @owner AND state = 'running' RETURNING parent_id`,
    ),
    groupCounts: db.prepare<[number], { state: JobState; n: number }>(
      'SELECT state, count(*) AS n FROM jobs WHERE parent_id = ? GROUP BY state',
    ),
    groupProgress: db.prepare('UPDATE jobs SET progress = ?, updated_at = ? WHERE id = ?'),
    finishGroup: db.prepare(
      `UPDATE jobs SET state = @state, progress = 1, result = @result, error = @error, finished_at = @now, updated_at = @now
       WHERE id = @id AND state IN ('running', 'paused')`,
    ),
    openGroups: db.prepare<[], { id: number }>(
      `SELECT p.id FROM jobs p WHERE p.state IN ('running', 'paused') AND p.owner IS NULL
         AND EXISTS (SELECT 1 FROM jobs c WHERE c.parent_id = p.id)`,
    ),
    setState: db.prepare<[JobState, number, number, string], { id: number }>(
      `UPDATE jobs SET state = ?, updated_at = ? WHERE id = ? AND state IN (SELECT value FROM json_each(?)) RETURNING id`,
    ),
    setChildrenState: db.prepare(
      `UPDATE jobs SET state = @to, updated_at = @now WHERE parent_id = @id AND state IN (SELECT value FROM json_each(@from))`,
    ),
    cancelRow: db.prepare(
      `UPDATE jobs SET state = 'cancelled', owner = NULL, finished_at = @now, updated_at = @now
       WHERE id = @id AND state IN ('queued', 'running', 'paused')`,
    ),
    cancelChildren: db.prepare(
      `UPDATE jobs SET state = 'cancelled', owner = NULL, finished_at = @now, updated_at = @now
       WHERE parent_id = @id AND state IN ('queued', 'running', 'paused')`,
    ),
    retryRow: db.prepare(
      `UPDATE jobs SET state = 'queued', attempts = 0, run_after = 0, error = NULL, finished_at = NULL, updated_at = @now
       WHERE id = @id AND state IN ('failed', 'cancelled')`,
    ),
    retryChildren: db.prepare(
      `UPDATE jobs SET state = 'queued', attempts = 0, run_after = 0, error = NULL, finished_at = NULL, updated_at = @now
       WHERE parent_id = @id AND state IN ('failed', 'cancelled')`,
    ),
    reopenGroup: db.prepare(
      `UPDATE jobs SET state = 'running', owner = NULL, finished_at = NULL, error = NULL, updated_at = @now WHERE id = @id`,
    ),
    hasChildren: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM jobs WHERE parent_id = ?'),
    list: db.prepare<[string, number, number], Row>(
      `SELECT * FROM jobs WHERE state IN (SELECT value FROM json_each(?)) AND (parent_id IS NULL OR ? = 1)
       ORDER BY CASE state WHEN 'running' THEN 0 WHEN 'queued' THEN 1 WHEN 'paused' THEN 2 ELSE 3 END,
         priority DESC, id DESC LIMIT ?`,
    ),
    nextRunAfter: db.prepare<[string], { t: number | null }>(
      `SELECT min(run_after) AS t FROM jobs WHERE state = 'queued' AND kind IN (SELECT value FROM json_each(?))`,
    ),
    children: db.prepare<[number, number], Row>('SELECT * FROM jobs WHERE parent_id = ? ORDER BY id LIMIT ?'),
  };
}

const statements = statementsPerConnection(prepare);

/**
 * [Note: Job lifecycle]
 * queued ──claim──▶ running ──complete──▶ done
 *   ▲                 │  └──fail (retryable, attempts < max)──▶ queued with run_after = now + backoff
 *   │                 └──fail (final)──▶ failed          pause: queued → paused; resume: paused → queued
 *   └── recoverStale: running with a dead owner (or a heartbeat older than the lease) → queued
 * - A claim is one UPDATE … WHERE state = 'queued' inside an IMMEDIATE transaction: two runners (the app and
 *   a CLI on the same database) never get the same job.
 * - A completion writes the job's results (captions, windows, answers) and its 'done' row in one transaction,
 *   and only while the job is still running under this owner: a job taken back after a crash, or cancelled,
 *   never lands twice. The captions UNIQUE constraint makes a re-run an update, never a second row.
 * - A job that was running when its process died counts that try; it is failed only after max_attempts +
 *   CRASH_GRACE interrupted tries, so a few kills never lose work but a file that crashes the decoder every
 *   time does not loop forever.
 * - Groups (caption-all): the claimed group job inserts its children and stays 'running' with no owner; each
 *   child's completion updates the group's progress, and the last one finishes the group in the same
 *   transaction. Pause, resume, cancel and retry of a group apply to its unfinished children.
 */
export const CRASH_GRACE = 3;

/** Adds a job. With a dedupe key that already has a pending job, returns that one (priority raised if asked). */
export function enqueueJob(db: Database.Database, job: NewJob, now: number = Date.now()): { id: number; isNew: boolean } {
  const s = statements(db);
  return db.transaction(() => {
    const info = s.insert.run({
      kind: job.kind,
      payload: JSON.stringify(job.payload ?? {}),
      priority: job.priority ?? 0,
      parentId: job.parentId ?? null,
      dedupeKey: job.dedupeKey ?? null,
      maxAttempts: job.maxAttempts ?? 3,
      now,
    });
    if (info.changes > 0) return { id: Number(info.lastInsertRowid), isNew: true };
    const existing = job.dedupeKey === undefined ? undefined : s.pendingByKey.get(job.dedupeKey);
    if (!existing) throw new Error(`Could not enqueue a "${job.kind}" job.`);
    if ((job.priority ?? 0) > existing.priority) s.bumpPriority.run(job.priority ?? 0, now, existing.id);
    return { id: existing.id, isNew: false };
  }).immediate();
}

/** One job by id. */
export function getJob(db: Database.Database, id: number): Job | undefined {
  const r = statements(db).get.get(id);
  return r && toJob(r);
}

/**
 * Atomically claims the highest-priority ready job of one of `kinds`, plus up to `maxBatch - 1` more queued
 * jobs of the same kind, priority and payload.batchKey (jobs that can share a GPU batch). Returns [] when
 * nothing is ready.
 */
export function claimJobs(
  db: Database.Database,
  owner: string,
  kinds: readonly string[],
  opts: { maxBatch?: (kind: string) => number; now?: number } = {},
): Job[] {
  const s = statements(db);
  const now = opts.now ?? Date.now();
  return db.transaction(() => {
    const first = s.nextIds.get(now, JSON.stringify(kinds), 1);
    if (!first) return [];
    const head = s.claim.get(owner, now, now, now, first.id, now);
    if (!head) return [];
    const claimed = [toJob(head)];
    const max = opts.maxBatch?.(head.kind) ?? 1;
    if (max > 1) {
      const key = (claimed[0]?.payload as { batchKey?: unknown } | null)?.batchKey;
      const more = s.nextSameBatch.all(now, head.kind, head.priority, typeof key === 'string' ? key : '', max - 1);
      for (const m of more) {
        const r = s.claim.get(owner, now, now, now, m.id, now);
        if (r) claimed.push(toJob(r));
      }
    }
    return claimed;
  }).immediate();
}

/** Delay before retry number `attempt` (1-based): 2 s, 8 s, 32 s, … capped at 10 minutes. */
export function backoffMs(attempt: number): number {
  return Math.min(2_000 * 4 ** Math.max(0, attempt - 1), 600_000);
}

/**
 * Marks a running job done and runs `commit` (which writes its results) in the same transaction. Returns false,
 * writing nothing, when the job is no longer running under `owner` (cancelled, or taken back after a stall).
 */
export function completeJob(
  db: Database.Database,
  id: number,
  owner: string,
  result: unknown,
  commit?: () => void,
  now: number = Date.now(),
): boolean {
  const s = statements(db);
  return db.transaction(() => {
    const row = s.get.get(id);
    if (!row || row.state !== 'running' || row.owner !== owner) return false;
    commit?.();
    s.finish.run({ id, owner, state: 'done', progress: 1, result: JSON.stringify(result ?? null), error: null, now });
    if (row.parent_id !== null) updateGroup(db, row.parent_id, now);
    return true;
  }).immediate();
}

/** Why a job failed: the message is for the user; retryable errors are tried again with backoff. */
export interface JobFailure {
  readonly message: string;
  readonly isRetryable: boolean;
  /** Delay before the retry; default {@link backoffMs} of the tries so far. */
  readonly retryAfterMs?: number;
}

/**
 * Records a failure of a running job: queued again after a backoff while tries remain and the error is
 * retryable, else failed for good. The error text is kept on the row either way. Returns the new state, or
 * undefined when the job was no longer ours.
 */
export function failJob(
  db: Database.Database,
  id: number,
  owner: string,
  failure: JobFailure,
  now: number = Date.now(),
): JobState | undefined {
  const s = statements(db);
  return db.transaction((): JobState | undefined => {
    const row = s.get.get(id);
    if (!row || row.state !== 'running' || row.owner !== owner) return undefined;
    if (failure.isRetryable && row.attempts < row.max_attempts) {
      s.retryLater.run({ id, owner, error: failure.message, runAfter: now + (failure.retryAfterMs ?? backoffMs(row.attempts)), now });
      return 'queued';
    }
    s.finish.run({ id, owner, state: 'failed', progress: row.progress, result: null, error: failure.message, now });
    if (row.parent_id !== null) updateGroup(db, row.parent_id, now);
    return 'failed';
  }).immediate();
}

/**
 * Turns a claimed job into a running group: `fanOut` (inside the same transaction) inserts the children with
 * parent_id = id and returns how many; with none the group is done at once.
 */
export function completeAsGroup(
  db: Database.Database,
  id: number,
  owner: string,
  fanOut: (parentId: number) => number,
  now: number = Date.now(),
): number | undefined {
  const s = statements(db);
  return db.transaction(() => {
    const row = s.get.get(id);
    if (!row || row.state !== 'running' || row.owner !== owner) return undefined;
    const n = fanOut(id);
    s.becomeGroup.run({ id, owner, result: JSON.stringify({ total: n }), now });
    updateGroup(db, id, now);
    return n;
  }).immediate();
}

/** Children counts of a group by state. */
export function groupCounts(db: Database.Database, parentId: number): GroupCounts {
  const counts: GroupCounts = { queued: 0, running: 0, paused: 0, done: 0, failed: 0, cancelled: 0, total: 0 };
  for (const r of statements(db).groupCounts.all(parentId)) {
    counts[r.state] = r.n;
    counts.total += r.n;
  }
  return counts;
}

function updateGroup(db: Database.Database, parentId: number, now: number): void {
  const s = statements(db);
  const c = groupCounts(db, parentId);
  const finished = c.done + c.failed + c.cancelled;
  if (c.total > 0 && finished < c.total) {
    s.groupProgress.run(finished / c.total, now, parentId);
    return;
  }
  const parent = s.get.get(parentId);
  if (!parent || (parent.state !== 'running' && parent.state !== 'paused') || parent.owner !== null) return;
  const result = JSON.stringify({ total: c.total, done: c.done, failed: c.failed, cancelled: c.cancelled });
  const error = c.failed > 0 ? `${c.failed} of ${c.total} failed; see \`musilingo jobs list --all\` for each error.` : null;
  s.finishGroup.run({ id: parentId, state: c.failed > 0 && c.done === 0 ? 'failed' : 'done', result, error, now });
}

/** Updates a running job's progress (0..1). */
export function setJobProgress(db: Database.Database, id: number, owner: string, progress: number, now: number = Date.now()): void {
  statements(db).setProgress.run(Math.max(0, Math.min(1, progress)), now, id, owner);
}

/** Refreshes the heartbeat of every job `owner` runs and returns which of `inFlight` it still owns. */
export function heartbeatJobs(db: Database.Database, owner: string, inFlight: readonly number[], now: number = Date.now()): Set<number> {
  const s = statements(db);
  s.heartbeat.run(now, owner);
  return new Set(s.stillOwned.all(JSON.stringify(inFlight), owner).map((r) => r.id));
}

/** Parses an owner id written by {@link ownerId}. */
export function parseOwner(owner: string): { host: string; pid: number; startedAt: number } | undefined {
  const m = /^(.*):(\d+):(\d+)$/.exec(owner);
  return m ? { host: m[1] ?? '', pid: Number(m[2]), startedAt: Number(m[3]) } : undefined;
}

/** An owner id for this process: 'host:pid:startedAtMs'. */
export function ownerId(host: string, pid: number, startedAt: number): string {
  return `${host}:${pid}:${startedAt}`;
}

/**
 * Gives back the running jobs of dead owners: `isAlive(owner)` says whether the process lives, and an owner
 * whose newest heartbeat is older than `leaseMs` counts as dead too (a hung or remote process). Also finishes
 * groups whose children all finished. Returns how many jobs went back to the queue.
 */
export function recoverStaleJobs(
  db: Database.Database,
  opts: { isAlive: (owner: string) => boolean; leaseMs: number; self?: string; now?: number },
): number {
  const s = statements(db);
  const now = opts.now ?? Date.now();
  return db.transaction(() => {
    let requeued = 0;
    for (const o of s.owners.all()) {
      if (o.owner === opts.self) continue;
      const isStale = (o.heartbeat ?? 0) < now - opts.leaseMs;
      if (!isStale && opts.isAlive(o.owner)) continue;
      requeued += s.requeueOwner.run({ owner: o.owner, now, grace: CRASH_GRACE }).changes;
      const failed = s.failOwner.all({ owner: o.owner, now }) as { parent_id: number | null }[];
      for (const f of failed) if (f.parent_id !== null) updateGroup(db, f.parent_id, now);
    }
    for (const g of s.openGroups.all()) updateGroup(db, g.id, now);
    return requeued;
  }).immediate();
}

function isGroup(db: Database.Database, id: number): boolean {
  return (statements(db).hasChildren.get(id)?.n ?? 0) > 0;
}

/**
 * Pauses a job: a queued job waits until resumed; a group's unfinished children wait (those already running
 * finish). A running single job cannot stop halfway: it finishes. Returns whether anything changed.
 */
export function pauseJob(db: Database.Database, id: number, now: number = Date.now()): boolean {
  const s = statements(db);
  return db.transaction(() => {
    if (isGroup(db, id)) {
      const changed = s.setState.all('paused', now, id, JSON.stringify(['running', 'queued'])).length > 0;
      s.setChildrenState.run({ id, to: 'paused', from: JSON.stringify(['queued']), now });
      return changed;
    }
    return s.setState.all('paused', now, id, JSON.stringify(['queued'])).length > 0;
  }).immediate();
}

/** Resumes a paused job or group. Returns whether anything changed. */
export function resumeJob(db: Database.Database, id: number, now: number = Date.now()): boolean {
  const s = statements(db);
  return db.transaction(() => {
    if (isGroup(db, id)) {
      const row = s.get.get(id);
      if (row?.state !== 'paused') return false;
      s.reopenGroup.run({ id, now });
      s.setChildrenState.run({ id, to: 'queued', from: JSON.stringify(['paused']), now });
      updateGroup(db, id, now);
      return true;
    }
    return s.setState.all('queued', now, id, JSON.stringify(['paused'])).length > 0;
  }).immediate();
}

/**
 * Cancels a job (and a group's unfinished children). A running job is marked cancelled at once; its runner
 * sees that at the next heartbeat, aborts the work and discards the result.
 */
export function cancelJob(db: Database.Database, id: number, now: number = Date.now()): boolean {
  const s = statements(db);
  return db.transaction(() => {
    const row = s.get.get(id);
    s.cancelChildren.run({ id, now });
    const changed = s.cancelRow.run({ id, now }).changes > 0;
    if (changed && row?.parent_id != null) updateGroup(db, row.parent_id, now);
    return changed;
  }).immediate();
}

/** Queues a failed or cancelled job (or a group's failed and cancelled children) again, with fresh tries. */
export function retryJob(db: Database.Database, id: number, now: number = Date.now()): boolean {
  const s = statements(db);
  return db.transaction(() => {
    if (isGroup(db, id)) {
      const n = s.retryChildren.run({ id, now }).changes;
      if (n > 0) {
        s.reopenGroup.run({ id, now });
        updateGroup(db, id, now);
      }
      return n > 0;
    }
    const row = s.get.get(id);
    const changed = s.retryRow.run({ id, now }).changes > 0;
    if (changed && row?.parent_id != null) {
      s.reopenGroup.run({ id: row.parent_id, now });
      updateGroup(db, row.parent_id, now);
    }
    return changed;
  }).immediate();
}

/** Applies pause, resume or cancel to every top-level job where it applies. Returns how many changed. */
export function applyToAll(db: Database.Database, action: 'pause' | 'resume' | 'cancel', now: number = Date.now()): number {
  const states = action === 'resume' ? ['paused'] : ['queued', 'running', 'paused'];
  const fn = action === 'pause' ? pauseJob : action === 'resume' ? resumeJob : cancelJob;
  return listJobs(db, { states: states as JobState[], limit: 1_000_000 }).filter((j) => fn(db, j.id, now)).length;
}

/** Jobs in the given states (default: unfinished), top-level only unless `withChildren`; active first. */
export function listJobs(
  db: Database.Database,
  opts: { states?: readonly JobState[]; withChildren?: boolean; limit?: number } = {},
): Job[] {
  const states = opts.states ?? ['queued', 'running', 'paused'];
  return statements(db)
    .list.all(JSON.stringify(states), opts.withChildren ? 1 : 0, opts.limit ?? 100)
    .map(toJob);
}

/** A group's children, oldest first. */
export function childJobs(db: Database.Database, parentId: number, limit = 1_000_000): Job[] {
  return statements(db).children.all(parentId, limit).map(toJob);
}

/** Earliest run_after among queued jobs of `kinds` (for sleeping through a backoff), or undefined. */
export function nextRunAfter(db: Database.Database, kinds: readonly string[]): number | undefined {
  return statements(db).nextRunAfter.get(JSON.stringify(kinds))?.t ?? undefined;
}

/** What {@link fanOutTrackJobs} creates. */
export interface FanOutSpec {
  readonly childKind: 'caption-one' | 'embed';
  /** The payload's model and adapter references (as the user named them) and window. */
  readonly model: string;
  readonly adapter: string;
  readonly window: unknown;
  /** Stable window key for dedupe keys (see main/jobs/kinds.ts windowKey). */
  readonly windowKey: string;
  /** Stored ids the results carry: captions.model_id/adapter_id, or windows.model_id for embeddings. */
  readonly modelId: string;
  readonly adapterId: string;
  readonly encoderId: string;
  /** Redo tracks that already have the result. */
  readonly force: boolean;
  readonly priority: number;
}

/**
 * Inserts one child job per present track that lacks the result (a model caption from this model and adapter;
 * or, for embeddings, a window at 0 ms from this encoder, which every full window layout has). One statement,
 * so 100,000 tracks fan out in one short transaction. Tracks with a pending job for the same work are skipped
 * (the dedupe index). Returns how many children were created.
 */
export function fanOutTrackJobs(db: Database.Database, parentId: number, spec: FanOutSpec, now: number = Date.now()): number {
  const { prefix, tail: keyTail } = trackDedupeKeyParts(spec.childKind, spec.model, spec.adapter, spec.windowKey);
  const lacking =
    spec.childKind === 'caption-one'
      ? `NOT EXISTS (SELECT 1 FROM captions c WHERE c.track_id = t.id AND c.model_id = @modelId AND c.adapter_id = @adapterId AND c.source = 'model')`
      : `NOT EXISTS (SELECT 1 FROM windows w WHERE w.track_id = t.id AND w.model_id = @encoderId AND w.start_ms = 0)`;
  const info = db
    .prepare(
      `INSERT OR IGNORE INTO jobs (kind, payload, priority, parent_id, dedupe_key, max_attempts, created_at, updated_at)
       SELECT @kind,
              json_object('trackId', t.id, 'model', @model, 'adapter', @adapter, 'window', json(@window), 'batchKey', @batchKey),
              @priority, @parentId, @prefix || ':' || t.id || @keyTail, 3, @now, @now
       FROM tracks t
       WHERE t.missing_since IS NULL AND (@force = 1 OR ${lacking})
       ORDER BY t.id`,
    )
    .run({
      kind: spec.childKind,
      model: spec.model,
      adapter: spec.adapter,
      window: JSON.stringify(spec.window),
      batchKey: batchKeyOf(spec.model, spec.adapter),
      priority: spec.priority,
      parentId,
      prefix,
      keyTail,
      now,
      force: spec.force ? 1 : 0,
      modelId: spec.modelId,
      adapterId: spec.adapterId,
      encoderId: spec.encoderId,
    });
  return info.changes;
}

/**
 * Gives a claimed job back to the queue without counting the try (the runner is stopping). Returns whether it
 * was still ours.
 */
export function releaseJob(db: Database.Database, id: number, owner: string, now: number = Date.now()): boolean {
  return (
    db
      .prepare(
        `UPDATE jobs SET state = 'queued', owner = NULL, attempts = max(0, attempts - 1), updated_at = ?
         WHERE id = ? AND state = 'running' AND owner = ?`,
      )
      .run(now, id, owner).changes > 0
  );
}
