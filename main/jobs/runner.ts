/**
 * @file The analysis job runner: claims jobs from the SQLite queue, sends them to the inference service over
 * its RPC client, and writes each result in one transaction with the job's completion. Main process (app) and
 * CLI; the inference itself runs in a utility process or worker thread.
 *
 * [Note: Runner lifecycle]
 * start(): takes back the running jobs of dead processes (recoverStaleJobs), then loops: claim the most urgent
 * ready job (plus same-kind jobs for one decoder batch) → run → complete/fail each job on its own. A heartbeat
 * timer keeps the claims alive and notices cancelled jobs (their call is aborted, their results discarded).
 * stop(): aborts the call in flight and gives its jobs back without counting the try.
 */
import { hostname } from 'node:os';
import type Database from 'better-sqlite3';
import { trackForAnalysis, upsertModelCaption } from '../db/captions';
import {
  claimJobs,
  completeAsGroup,
  completeJob,
  failJob,
  fanOutTrackJobs,
  getJob,
  heartbeatJobs,
  nextRunAfter,
  ownerId,
  parseOwner,
  recoverStaleJobs,
  releaseJob,
  TERMINAL_STATES,
  type Job,
} from '../db/jobs';
import { appendQaMessage, qaTurns } from '../db/qa';
import { upsertWindow } from '../db/windows';
import { InferenceError, type RpcClient } from '../../model/inference/protocol';
import type { InferenceHandlers } from '../../model/inference/service';
import type { LoadRequest, PackInfo, TokenEventData, TrackItem } from '../../model/inference/types';
import { storeAnswerSuggestions, SUGGEST_KIND, SuggestTagsPayload, TAG_QUESTIONS } from '../tags/suggest';
import { ANALYSIS_KINDS, AskPayload, CaptionOnePayload, EmbedPayload, GroupPayload, JOB_PRIORITY, windowKey } from './kinds';

/** The inference client the runner talks to. */
export type InferenceClient = RpcClient<InferenceHandlers>;

/** Events the runner reports (the app forwards them to the renderer; the CLI draws progress). */
export type RunnerEvent =
  | { readonly type: 'job'; readonly job: Job }
  | { readonly type: 'token'; readonly jobId: number; readonly trackId: number; readonly startMs: number; readonly text: string }
  | { readonly type: 'caption'; readonly jobId: number; readonly trackId: number; readonly startMs: number; readonly lengthMs: number; readonly text: string }
  | { readonly type: 'answer'; readonly jobId: number; readonly trackId: number; readonly threadId: string; readonly messageId: number; readonly text: string }
  | { readonly type: 'model'; readonly info: PackInfo };

/** Options of {@link createJobRunner}. */
export interface JobRunnerOptions {
  /** The writable connection (main's, or the CLI's). */
  readonly db: Database.Database;
  /** The current inference client; called per batch so a restarted worker's new client is picked up. */
  readonly client: () => InferenceClient | null;
  /** Turns a job's model/adapter references into what the service loads. Throw for an unknown model. */
  readonly resolvePack: (model: string, adapter: string) => LoadRequest;
  /** Which kinds to run (default: all analysis kinds). */
  readonly kinds?: readonly string[];
  /** Most tracks per caption/embed call (decoder batch across tracks); default 4. */
  readonly maxBatch?: number;
  readonly pollMs?: number;
  readonly heartbeatMs?: number;
  /** A running job whose owner sent no heartbeat for this long is taken back; default 60 s. */
  readonly leaseMs?: number;
  readonly onEvent?: (e: RunnerEvent) => void;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Whether a job owner ('host:pid:start') still runs; default: same host → signal 0, other hosts → the lease. */
  readonly isOwnerAlive?: (owner: string) => boolean;
  readonly owner?: string;
  /** Delay before retry number `attempt` (1-based); default backoffMs (2 s, 8 s, 32 s, …). */
  readonly retryDelayMs?: (attempt: number) => number;
}

/** A running runner. */
export interface JobRunner {
  readonly owner: string;
  start(): void;
  /** Stops after giving the jobs in flight back to the queue. */
  stop(): Promise<void>;
  /** Looks for work now (call after enqueueing in this process). */
  wake(): void;
  /**
   * Resolves with the job once it reached done, failed or cancelled (groups: once every child did); with
   * `orPaused`, also when it is paused (by `musilingo jobs pause` or the app), so a waiting CLI can say so.
   */
  waitFor(jobId: number, signal?: AbortSignal, opts?: { orPaused?: boolean }): Promise<Job>;
}

/** Default liveness check: a local owner lives while its pid answers signal 0; remote owners rely on the lease. */
export function defaultIsOwnerAlive(owner: string): boolean {
  const o = parseOwner(owner);
  if (!o) return false;
  if (o.host !== hostname()) return true;
  if (o.pid === process.pid) return true;
  try {
    process.kill(o.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How often (in heartbeats) a running runner looks for work left by dead processes. */
const RECOVER_EVERY_BEATS = 6;

/** Whether an error code is worth another try (transient runtime trouble, not bad input). */
export function isRetryableCode(code: string): boolean {
  return code === 'session-failed' || code === 'worker-exited' || code === 'internal';
}

function isTerminal(job: Job | undefined): boolean {
  return job === undefined || TERMINAL_STATES.includes(job.state);
}

/** Creates a runner; call start(). */
export function createJobRunner(opts: JobRunnerOptions): JobRunner {
  const db = opts.db;
  const owner = opts.owner ?? ownerId(hostname(), process.pid, Date.now());
  const kinds = opts.kinds ?? ANALYSIS_KINDS;
  const maxBatch = Math.max(1, opts.maxBatch ?? 4);
  const pollMs = opts.pollMs ?? 1000;
  const heartbeatMs = opts.heartbeatMs ?? 5000;
  const leaseMs = opts.leaseMs ?? 60_000;
  const log = opts.log ?? (() => undefined);
  const emit = opts.onEvent ?? (() => undefined);
  const isAlive = opts.isOwnerAlive ?? defaultIsOwnerAlive;

  let isRunning = false;
  let loopDone: Promise<void> = Promise.resolve();
  let wakeUp: (() => void) | null = null;
  let inFlight: { ids: number[]; abort: AbortController } | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  let lastClient: InferenceClient | null = null;
  let loadedKey: string | null = null;
  let loaded: PackInfo | null = null;
  const waiters = new Set<() => void>();

  const notifyWaiters = (): void => {
    for (const w of [...waiters]) w();
  };

  function emitJob(id: number): void {
    const job = getJob(db, id);
    if (job) emit({ type: 'job', job });
    if (job?.parentId != null) {
      const parent = getJob(db, job.parentId);
      if (parent) emit({ type: 'job', job: parent });
    }
  }

  function requireClient(): InferenceClient {
    const c = opts.client();
    if (!c) throw new InferenceError('worker-exited', 'The inference worker is not running (it is starting or restarting).');
    if (c !== lastClient) {
      lastClient = c;
      loadedKey = null;
      loaded = null;
    }
    return c;
  }

  async function ensurePack(model: string, adapter: string): Promise<{ client: InferenceClient; info: PackInfo }> {
    const client = requireClient();
    const key = `${model}|${adapter}`;
    if (loadedKey === key && loaded) return { client, info: loaded };
    let req: LoadRequest;
    try {
      req = opts.resolvePack(model, adapter);
    } catch (e) {
      throw new InferenceError('model-unavailable', (e as Error).message);
    }
    loaded = await client.call('load', req);
    loadedKey = key;
    if (loaded.fallbackReason) log('warn', `[jobs] model ${loaded.modelId} runs on ${loaded.executionProvider}: ${loaded.fallbackReason}`);
    else log('info', `[jobs] model ${loaded.modelId} runs on ${loaded.executionProvider}${loaded.providerNotes ? ` (skipped: ${loaded.providerNotes})` : ''}`);
    emit({ type: 'model', info: loaded });
    return { client, info: loaded };
  }

  function fail(job: Job, code: string, message: string): void {
    const attempts = getJob(db, job.id)?.attempts ?? 1;
    const state = failJob(db, job.id, owner, {
      message,
      isRetryable: isRetryableCode(code),
      ...(opts.retryDelayMs ? { retryAfterMs: opts.retryDelayMs(attempts) } : {}),
    });
    if (state) log(state === 'failed' ? 'error' : 'warn', `[jobs] job ${job.id} (${job.kind}) ${state === 'failed' ? 'failed' : 'will retry'}: ${message}`);
    emitJob(job.id);
  }

  function errorOf(e: unknown): { code: string; message: string } {
    if (e instanceof InferenceError) return { code: e.code, message: e.message };
    return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
  }

  /** Resolves the track of a job or fails the job with a clear reason. */
  function trackItem(job: Job, trackId: number, window: TrackItem['window']): TrackItem | undefined {
    const t = trackForAnalysis(db, trackId);
    if (!t) {
      fail(job, 'not-found', `Track ${trackId} is no longer in the library.`);
      return undefined;
    }
    if (t.missingSince !== null) {
      // The title and a readable date: this message is what the Jobs page and the Track page show.
      const since = new Date(t.missingSince).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
      fail(job, 'not-found', `The file of “${t.title ?? t.path}” is missing: ${t.path} (gone since ${since}).`);
      return undefined;
    }
    return { key: String(job.id), path: t.path, window };
  }

  async function runGroup(job: Job): Promise<void> {
    const p = GroupPayload.parse(job.payload);
    const { info } = await ensurePack(p.model, p.adapter);
    const n = completeAsGroup(db, job.id, owner, (parentId) =>
      fanOutTrackJobs(db, parentId, {
        childKind: job.kind === 'embed-all' ? 'embed' : 'caption-one',
        model: p.model,
        adapter: p.adapter,
        window: p.window,
        windowKey: windowKey(p.window),
        modelId: info.modelId,
        adapterId: info.adapterId,
        encoderId: info.encoderId,
        force: p.force,
        priority: JOB_PRIORITY.background,
      }),
    );
    log('info', `[jobs] ${job.kind} ${job.id}: ${n ?? 0} tracks to do`);
    emitJob(job.id);
  }

  async function runCaptionOrEmbed(jobs: Job[], signal: AbortSignal): Promise<void> {
    const isCaption = jobs[0]?.kind === 'caption-one';
    const parsed = jobs.map((j) => ({ job: j, p: (isCaption ? CaptionOnePayload : EmbedPayload).parse(j.payload) }));
    const first = parsed[0];
    if (!first) return;
    const { client, info } = await ensurePack(first.p.model, first.p.adapter);
    const items: TrackItem[] = [];
    const byKey = new Map<string, (typeof parsed)[number]>();
    for (const x of parsed) {
      const item = trackItem(x.job, x.p.trackId, x.p.window);
      if (!item) continue;
      items.push(item);
      byKey.set(item.key, x);
    }
    if (items.length === 0) return;
    const onEvent = (event: string, data: unknown): void => {
      if (event !== 'token') return;
      const d = data as TokenEventData;
      const x = byKey.get(d.key);
      if (x) emit({ type: 'token', jobId: x.job.id, trackId: x.p.trackId, startMs: d.startMs, text: d.text });
    };
    const results = isCaption
      ? await client.call('caption', { items }, { signal, onEvent })
      : await client.call('embed', { items }, { signal });
    for (const r of results) {
      const x = byKey.get(r.key);
      if (!x) continue;
      if (!r.ok) {
        fail(x.job, r.error.code, r.error.message);
        continue;
      }
      const windows = r.value;
      const isOurs = completeJob(db, x.job.id, owner, { windows: windows.length, modelId: info.modelId, encoderId: info.encoderId }, () => {
        for (const w of windows) {
          upsertWindow(db, { trackId: x.p.trackId, modelId: info.encoderId, startMs: w.startMs, lengthMs: w.lengthMs, rows: w.embedding.rows, dim: w.embedding.dim, data: w.embedding.data });
          if ('text' in w && typeof w.text === 'string') {
            upsertModelCaption(db, { trackId: x.p.trackId, startMs: w.startMs, lengthMs: w.lengthMs, modelId: info.modelId, adapterId: info.adapterId, text: w.text });
          }
        }
      });
      if (isOurs && isCaption) {
        for (const w of windows) {
          if ('text' in w && typeof w.text === 'string') {
            emit({ type: 'caption', jobId: x.job.id, trackId: x.p.trackId, startMs: w.startMs, lengthMs: w.lengthMs, text: w.text });
          }
        }
      }
      emitJob(x.job.id);
    }
  }

  async function runAsk(job: Job, signal: AbortSignal): Promise<void> {
    const p = AskPayload.parse(job.payload);
    const item = trackItem(job, p.trackId, p.window);
    if (!item) return;
    const { client, info } = await ensurePack(p.model, p.adapter);
    const history = qaTurns(db, p.trackId, p.threadId, p.messageId);
    const answer = await client.call('ask', { item, question: p.question, history }, {
      signal,
      onEvent: (event, data) => {
        if (event === 'token') emit({ type: 'token', jobId: job.id, trackId: p.trackId, startMs: (data as TokenEventData).startMs, text: (data as TokenEventData).text });
      },
    });
    let messageId = 0;
    const isOurs = completeJob(db, job.id, owner, { text: answer.text, startMs: answer.startMs, turnsKept: answer.turnsKept }, () => {
      messageId = appendQaMessage(db, { trackId: p.trackId, threadId: p.threadId, role: 'assistant', text: answer.text, modelId: info.modelId, adapterId: info.adapterId });
      upsertWindow(db, { trackId: p.trackId, modelId: info.encoderId, startMs: answer.startMs, lengthMs: answer.lengthMs, rows: answer.embedding.rows, dim: answer.embedding.dim, data: answer.embedding.data });
    });
    if (isOurs) emit({ type: 'answer', jobId: job.id, trackId: p.trackId, threadId: p.threadId, messageId, text: answer.text });
    emitJob(job.id);
  }

  /** suggest-tags: the fixed tag questions about one track (main/tags/suggest.ts), answers stored as suggestions. */
  async function runSuggestTags(job: Job, signal: AbortSignal): Promise<void> {
    const p = SuggestTagsPayload.parse(job.payload);
    const item = trackItem(job, p.trackId, { kind: 'default' });
    if (!item) return;
    const { client, info } = await ensurePack(p.model, p.adapter);
    const answers: ((typeof TAG_QUESTIONS)[number] & { answer: string })[] = [];
    for (const q of TAG_QUESTIONS) answers.push({ ...q, answer: (await client.call('ask', { item, question: q.question, history: [] }, { signal })).text });
    completeJob(db, job.id, owner, { answers: answers.length, modelId: info.modelId }, () => {
      storeAnswerSuggestions(db, p.trackId, answers, { modelId: info.modelId, adapterId: info.adapterId });
    });
    emitJob(job.id);
  }

  async function runBatch(jobs: Job[]): Promise<void> {
    const abort = new AbortController();
    inFlight = { ids: jobs.map((j) => j.id), abort };
    for (const j of jobs) emit({ type: 'job', job: j });
    try {
      const head = jobs[0];
      if (!head) return;
      if (head.kind === 'caption-all' || head.kind === 'embed-all') await runGroup(head);
      else if (head.kind === 'ask') await runAsk(head, abort.signal);
      else if (head.kind === SUGGEST_KIND) await runSuggestTags(head, abort.signal);
      else if (head.kind === 'caption-one' || head.kind === 'embed') await runCaptionOrEmbed(jobs, abort.signal);
      else for (const j of jobs) fail(j, 'invalid-argument', `Unknown job kind "${j.kind}".`);
    } catch (e) {
      const err = errorOf(e);
      if (!isRunning && err.code === 'cancelled') {
        // Stopping: give the work back untouched.
        for (const j of jobs) releaseJob(db, j.id, owner);
      } else {
        // A dead worker lost its pack: load again on the next job. (A failed session is rebuilt by the service
        // itself, on the CPU when the GPU failed: loading again here would undo that.)
        if (err.code === 'worker-exited') {
          loadedKey = null;
          loaded = null;
        }
        // Jobs already completed or failed in this batch are no longer ours: failJob leaves them alone.
        for (const j of jobs) if (getJob(db, j.id)?.state === 'running') fail(j, err.code, err.message);
      }
    } finally {
      inFlight = null;
      notifyWaiters();
    }
  }

  let beats = 0;
  function beat(): void {
    try {
      // Now and then, also take back the work of processes that died while this one runs (a killed CLI
      // beside the app): their jobs would otherwise wait for the next start.
      if (++beats % RECOVER_EVERY_BEATS === 0) {
        const n = recoverStaleJobs(db, { isAlive, leaseMs, self: owner });
        if (n > 0) {
          log('info', `[jobs] resumed ${n} job(s) left by a stopped process`);
          wakeUp?.();
        }
      }
      const mine = heartbeatJobs(db, owner, inFlight?.ids ?? []);
      if (inFlight && inFlight.ids.length > 0 && inFlight.ids.every((id) => !mine.has(id))) {
        log('info', `[jobs] jobs ${inFlight.ids.join(', ')} were cancelled; stopping their work`);
        inFlight.abort.abort();
      }
    } catch (e) {
      log('warn', `[jobs] heartbeat failed: ${(e as Error).message}`);
    }
  }

  async function sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        wakeUp = null;
        resolve();
      }
      wakeUp = done;
    });
  }

  async function loop(): Promise<void> {
    while (isRunning) {
      let jobs: Job[] = [];
      try {
        jobs = claimJobs(db, owner, kinds, { maxBatch: (k) => (k === 'caption-one' || k === 'embed' ? maxBatch : 1) });
      } catch (e) {
        log('error', `[jobs] could not claim work: ${(e as Error).message}`);
      }
      if (jobs.length === 0) {
        notifyWaiters();
        const next = nextRunAfter(db, kinds);
        const wait = next === undefined ? pollMs : Math.max(10, Math.min(pollMs, next - Date.now()));
        await sleep(wait);
        continue;
      }
      await runBatch(jobs);
    }
  }

  return {
    owner,
    start() {
      if (isRunning) return;
      isRunning = true;
      const n = recoverStaleJobs(db, { isAlive, leaseMs, self: owner });
      if (n > 0) log('info', `[jobs] resumed ${n} job(s) interrupted by a stopped process`);
      heartbeat = setInterval(beat, heartbeatMs);
      heartbeat.unref();
      loopDone = loop();
    },
    async stop() {
      if (!isRunning) return;
      isRunning = false;
      inFlight?.abort.abort();
      wakeUp?.();
      if (heartbeat) clearInterval(heartbeat);
      await loopDone;
      notifyWaiters();
    },
    wake() {
      wakeUp?.();
    },
    waitFor(jobId, signal, waitOpts = {}) {
      return new Promise<Job>((resolve, reject) => {
        const check = (): void => {
          const job = getJob(db, jobId);
          if (signal?.aborted) {
            waiters.delete(check);
            reject(new InferenceError('cancelled', 'Stopped waiting.'));
          } else if (isTerminal(job) || (waitOpts.orPaused && job?.state === 'paused')) {
            waiters.delete(check);
            if (job) resolve(job);
            else reject(new Error(`Job ${jobId} does not exist.`));
          }
        };
        waiters.add(check);
        signal?.addEventListener('abort', check, { once: true });
        check();
      });
    },
  };
}

