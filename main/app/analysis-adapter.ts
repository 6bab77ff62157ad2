/**
 * @file Wires the job queue and the inference worker to the IPC contract (main process, E2E bridge): captions,
 * questions with streamed answers, similar tracks, and the Jobs page. The job runner (main/jobs/runner.ts)
 * does the work; this file turns its events into contract events and the contract's calls into queue rows.
 */
import type Database from 'better-sqlite3';
import type { CaptionEntry, JobRow, QaMessage, StaleCaptions } from '../../preload/contract';
import { editCaption } from '../db/captions';
import { applyToAll, cancelJob, getJob, groupCounts, listJobs, pauseJob, resumeJob, retryJob, type Job } from '../db/jobs';
import { clearFinishedJobs } from '../db/jobs-clear';
import { enqueueSelectionCaptions, SELECTION_GROUP_KIND } from '../jobs/selection';
import { qaThread, qaThreads } from '../db/qa';
import { staleCaptionTrackIds } from '../db/stale-captions';
import { NoEmbeddingError, similarTracks } from '../db/windows';
import { IpcError } from '../ipc/errors';
import { loadRequestFor, ModelNotFoundError, resolveModel, type ResolvedModel } from '../models/registry';
import { enqueueAsk, enqueueCaption, enqueueGroup, JOB_PRIORITY } from '../jobs/kinds';
import { TracksRepo } from '../db/tracks';
import { enqueueSuggestTags, SUGGEST_KIND } from '../tags/suggest';
import { createJobRunner, type InferenceClient, type JobRunner, type RunnerEvent } from '../jobs/runner';
import { rpcClient, type RpcPort } from '../../model/inference/protocol';
import type { InferenceHandlers } from '../../model/inference/service';
import type { EventHub } from './events';
import type { InferenceFacade, JobsFacade } from './facades';
import type { AppLog } from './services';
import type { SettingsStore } from './settings';
import type { TrackTableRepo } from './track-table-repo';

// [Note: Streamed answers reach the renderer as whole text]
// The inference service emits the decoded answer so far with every token (not a delta), and the runner passes
// it on. qa:progress and caption:progress carry that whole text too: a dropped or reordered event can never
// garble what the user reads, and the renderer simply replaces the message. Answers are short, so the cost
// is nothing next to a decoder step.

/** Options of {@link createAnalysis}. */
export interface AnalysisOptions {
  readonly db: Database.Database;
  readonly dataDir: string;
  readonly events: EventHub;
  readonly settings: SettingsStore;
  readonly table: TrackTableRepo;
  readonly log: AppLog;
  /** Inference threads per session (0 = ONNX Runtime's default). */
  readonly threads?: number;
  readonly pollMs?: number;
}

/** The analysis side of the app: facades plus the hooks the worker supervisor calls. */
export interface Analysis {
  readonly inference: InferenceFacade;
  readonly jobs: JobsFacade;
  readonly runner: JobRunner;
  /** A (re)started worker's port: the runner uses a new client on it. */
  attach(port: RpcPort): void;
  /** The worker is gone: fail its pending calls (the runner retries them). */
  detach(reason: string): void;
  /** Queues background captions of every uncaptioned track when a model is ready (deduplicated). */
  captionLibrary(): void;
  /** Tracks whose caption came from an older adapter of the active model (the re-caption offer). */
  staleCaptions(): StaleCaptions;
  /** Queues a caption with the active adapter for each stale track; returns how many were queued. */
  recaptionStale(): { queued: number };
}

function label(job: Job, titleOf: (id: number) => string): string {
  const p = (job.payload ?? {}) as { trackId?: number; question?: string; model?: string; count?: number; redo?: boolean };
  const track = typeof p.trackId === 'number' ? titleOf(p.trackId) : '';
  switch (job.kind) {
    case 'caption-one': return `Caption “${track}”`;
    case 'embed': return `Listen to “${track}”`;
    case 'ask': return `Answer “${p.question ?? ''}” about “${track}”`;
    case SUGGEST_KIND: return `Suggest tags for “${track}”`;
    case 'caption-all': return `Caption the library${p.model ? ` with ${p.model}` : ''}`;
    case SELECTION_GROUP_KIND: return `${p.redo ? 'Re-caption' : 'Caption'} ${(p.count ?? 0).toLocaleString('en')} selected tracks`;
    case 'embed-all': return 'Listen to the whole library';
    case 'convert': return `Convert ${p.model ?? 'a model'}`;
    case 'download': return `Download ${p.model ?? 'a model'}`;
    case 'train': return 'Train the adapter';
    default: return job.kind;
  }
}

function isGroupKind(kind: string): boolean {
  return kind === 'caption-all' || kind === 'embed-all' || kind === SELECTION_GROUP_KIND;
}

/** Creates the runner and facades. Call `runner.start()` once a worker is attached (done here on first attach). */
export function createAnalysis(opts: AnalysisOptions): Analysis {
  const { db, events, log, table } = opts;
  let client: InferenceClient | null = null;
  const askJobs = new Map<number, { trackId: number; threadId: string }>();

  function titleOf(trackId: number): string {
    return table.rowsByIds([trackId])[0]?.title ?? `track ${trackId}`;
  }

  function toRow(job: Job): JobRow {
    return {
      id: job.id,
      kind: job.kind,
      label: label(job, titleOf),
      state: job.state,
      progress: job.progress,
      error: job.error,
      attempts: job.attempts,
      createdAt: job.createdAt,
      updatedAt: job.updatedAt,
      counts: isGroupKind(job.kind) ? countsOf(job.id) : null,
      startedAt: job.startedAt,
    };
  }

  /** Tracks in the library, or those with (true) or without (false) a caption. */
  function libraryCount(captioned: boolean | null): number {
    return table.page({ text: '', sort: 'title', direction: 'asc', offset: 0, limit: 1, genre: '', captioned }).total;
  }

  function countsOf(groupId: number): JobRow['counts'] {
    const c = groupCounts(db, groupId);
    return { done: c.done, failed: c.failed, total: c.total };
  }

  function askOf(jobId: number): { trackId: number; threadId: string } | undefined {
    let a = askJobs.get(jobId);
    if (!a) {
      const job = getJob(db, jobId);
      const p = job?.payload as { trackId?: number; threadId?: string } | undefined;
      if (job?.kind === 'ask' && typeof p?.trackId === 'number' && typeof p.threadId === 'string') {
        a = { trackId: p.trackId, threadId: p.threadId };
        askJobs.set(jobId, a);
      }
    }
    return a;
  }

  function onRunnerEvent(e: RunnerEvent): void {
    switch (e.type) {
      case 'job': {
        events.emit('jobs:changed', { job: toRow(e.job) });
        const ask = e.job.kind === 'ask' ? askOf(e.job.id) : undefined;
        if (ask && (e.job.state === 'failed' || e.job.state === 'cancelled')) {
          events.emit('qa:progress', { ...ask, jobId: e.job.id, text: '', done: true, error: e.job.error ?? `The question was ${e.job.state}.` });
          askJobs.delete(e.job.id);
        }
        if (e.job.kind === 'caption-one' && (e.job.state === 'failed' || e.job.state === 'cancelled')) {
          const trackId = (e.job.payload as { trackId?: number }).trackId ?? 0;
          events.emit('caption:progress', { trackId, jobId: e.job.id, text: '', done: true, error: e.job.error });
        }
        break;
      }
      case 'token': {
        const ask = askOf(e.jobId);
        if (ask) events.emit('qa:progress', { ...ask, jobId: e.jobId, text: e.text, done: false, error: null });
        else events.emit('caption:progress', { trackId: e.trackId, jobId: e.jobId, text: e.text, done: false, error: null });
        break;
      }
      case 'caption':
        events.emit('caption:progress', { trackId: e.trackId, jobId: e.jobId, text: e.text, done: true, error: null });
        events.emit('library:changed', { reason: 'caption', trackIds: [e.trackId] });
        break;
      case 'answer':
        events.emit('qa:progress', { trackId: e.trackId, threadId: e.threadId, jobId: e.jobId, text: e.text, done: true, error: null });
        askJobs.delete(e.jobId);
        break;
      case 'model':
        log('info', `[jobs] model ${e.info.modelId} loaded on ${e.info.executionProvider}`);
        break;
    }
  }

  const runner = createJobRunner({
    db,
    client: () => client,
    resolvePack: (model, adapter) => loadRequestFor(resolveModel(db, opts.dataDir, model, adapter), { threads: opts.threads ?? 0 }),
    onEvent: onRunnerEvent,
    log: (level, message) => log(level === 'error' ? 'error' : 'info', message),
    ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
  });
  let isStarted = false;

  /**
   * The model and adapter captions and answers use (the chosen pack, its model's active adapter), or a
   * 'model-unavailable' error that says how to get one.
   */
  function activeModel(): ResolvedModel {
    try {
      return resolveModel(db, opts.dataDir, opts.settings.getActiveModel() || undefined);
    } catch (e) {
      if (e instanceof ModelNotFoundError) {
        throw new IpcError('model-unavailable', 'No model is ready yet. Download and convert one on the Models page first.');
      }
      throw e;
    }
  }

  const inference: InferenceFacade = {
    requestCaption(trackId) {
      const m = activeModel();
      const { id } = enqueueCaption(db, { trackId, model: m.ref, adapter: m.adapter.id, priority: JOB_PRIORITY.userCaption });
      runner.wake();
      events.emit('library:changed', { reason: 'caption', trackIds: [trackId] });
      return { jobId: id };
    },
    requestCaptions({ trackIds, redo, dryRun }) {
      const model = activeModel();
      if (dryRun) {
        if (trackIds === null) return { queued: libraryCount(redo ? null : false) };
        return { queued: table.rowsByIds(trackIds).filter((r) => redo || r.caption === '').length };
      }
      if (trackIds === null) {
        // The whole library: one group job fans out to the tracks (all of them when redoing).
        const queued = libraryCount(redo ? null : false);
        if (queued > 0) enqueueGroup(db, { kind: 'caption-all', model: model.ref, adapter: model.adapter.id, force: redo });
        runner.wake();
        events.emit('jobs:changed', { job: null });
        return { queued };
      }
      const { queued } = enqueueSelectionCaptions(db, { trackIds, model: model.ref, adapter: model.adapter.id, redo });
      runner.wake();
      events.emit('jobs:changed', { job: null });
      events.emit('library:changed', { reason: 'caption', trackIds: null });
      return { queued };
    },
    editCaption(edit): CaptionEntry {
      if (!table.rowsByIds([edit.trackId]).length) throw new IpcError('not-found', `Track ${edit.trackId} is not in the library.`);
      const saved = editCaption(db, edit);
      events.emit('library:changed', { reason: 'caption', trackIds: [edit.trackId] });
      return { id: saved.id, startMs: saved.startMs, lengthMs: saved.lengthMs, modelId: saved.modelId, adapterId: saved.adapterId, source: saved.source, text: saved.text, createdAt: saved.createdAt };
    },
    history(trackId): QaMessage[] {
      const latest = qaThreads(db, trackId)[0];
      if (!latest) return [];
      return qaThread(db, trackId, latest.threadId).map((m) => ({ id: m.id, threadId: m.threadId, role: m.role, text: m.text, modelId: m.modelId, createdAt: m.createdAt }));
    },
    ask({ trackId, threadId, question }) {
      if (!table.rowsByIds([trackId]).length) throw new IpcError('not-found', `Track ${trackId} is not in the library.`);
      const m = activeModel();
      const { jobId } = enqueueAsk(db, { trackId, threadId, question, model: m.ref, adapter: m.adapter.id });
      askJobs.set(jobId, { trackId, threadId });
      runner.wake();
      return { jobId };
    },
    askMany({ trackIds, question }) {
      const model = activeModel();
      const present = table.rowsByIds(trackIds);
      for (const r of present) {
        const { jobId, threadId } = enqueueAsk(db, { trackId: r.id, question, model: model.ref, adapter: model.adapter.id });
        askJobs.set(jobId, { trackId: r.id, threadId });
      }
      runner.wake();
      events.emit('jobs:changed', { job: null });
      return { queued: present.length };
    },
    askTagQuestions(trackIds) {
      // The model the captions and answers use, through the registry (resolveModel), as `tags suggest` does.
      const model = activeModel();
      const ids = trackIds === null ? new TracksRepo(db).list({ state: 'present', limit: Number.MAX_SAFE_INTEGER }).map((t) => t.id) : table.rowsByIds(trackIds).map((r) => r.id);
      let queued = 0;
      for (const trackId of ids) if (enqueueSuggestTags(db, { trackId, model: model.ref, adapter: model.adapter.id }).isNew) queued++;
      runner.wake();
      events.emit('jobs:changed', { job: null });
      return { queued };
    },
    similar({ trackId, limit }) {
      try {
        const hits = similarTracks(db, trackId, { limit });
        return table.rowsByIds(hits.map((h) => h.trackId));
      } catch (e) {
        if (e instanceof NoEmbeddingError) throw new IpcError('not-found', 'This track has not been listened to yet: similar tracks appear once it has a caption.');
        throw e;
      }
    },
  };

  const jobs: JobsFacade = {
    snapshot() {
      const all = listJobs(db, { states: ['queued', 'running', 'paused', 'done', 'failed', 'cancelled'], limit: 300 });
      const active = all.filter((j) => j.state === 'queued' || j.state === 'running');
      return { paused: active.length === 0 && all.some((j) => j.state === 'paused'), jobs: all.map(toRow) };
    },
    pause(jobId) {
      if (jobId === null) applyToAll(db, 'pause');
      else if (!pauseJob(db, jobId)) throw new IpcError('invalid-argument', `Job ${jobId} cannot be paused now (only queued jobs and groups can).`);
      events.emit('jobs:changed', { job: null });
    },
    resume(jobId) {
      if (jobId === null) applyToAll(db, 'resume');
      else if (!resumeJob(db, jobId)) throw new IpcError('invalid-argument', `Job ${jobId} is not paused.`);
      runner.wake();
      events.emit('jobs:changed', { job: null });
    },
    cancel(jobId) {
      if (!cancelJob(db, jobId)) throw new IpcError('invalid-argument', `Job ${jobId} has already finished.`);
      events.emit('jobs:changed', { job: null });
    },
    retry(jobId) {
      if (!retryJob(db, jobId)) throw new IpcError('invalid-argument', `Job ${jobId} cannot be retried: only failed or cancelled jobs can.`);
      runner.wake();
      events.emit('jobs:changed', { job: null });
    },
    clear() {
      const cleared = clearFinishedJobs(db);
      events.emit('jobs:changed', { job: null });
      return { cleared };
    },
    close: () => runner.stop(),
  };

  return {
    inference,
    jobs,
    runner,
    attach(port) {
      client?.failAll('The inference worker was replaced.');
      client = rpcClient<InferenceHandlers>(port, (level, message) => log(level === 'error' ? 'error' : 'info', message));
      if (!isStarted) {
        isStarted = true;
        runner.start();
      }
      runner.wake();
    },
    detach(reason) {
      client?.failAll(reason);
      client = null;
    },
    captionLibrary() {
      let m: ResolvedModel;
      try {
        m = activeModel();
      } catch {
        return; // no model yet: nothing to queue
      }
      const { isNew } = enqueueGroup(db, { kind: 'caption-all', model: m.ref, adapter: m.adapter.id });
      if (isNew) runner.wake();
    },
    staleCaptions() {
      let m: ResolvedModel;
      try {
        m = activeModel();
      } catch {
        return { count: 0, adapterId: '', adapterName: null, modelId: null };
      }
      const packId = `${m.pack.modelId}@${m.pack.variant ?? ''}`;
      return { count: staleCaptionTrackIds(db, packId, m.adapter.id).length, adapterId: m.adapter.id, adapterName: m.adapter.name, modelId: packId };
    },
    recaptionStale() {
      const m = activeModel();
      const ids = staleCaptionTrackIds(db, `${m.pack.modelId}@${m.pack.variant ?? ''}`, m.adapter.id);
      // One transaction: the offer's count and what is queued are the same set of tracks.
      db.transaction(() => {
        for (const trackId of ids) enqueueCaption(db, { trackId, model: m.ref, adapter: m.adapter.id, priority: JOB_PRIORITY.background });
      })();
      if (ids.length > 0) runner.wake();
      return { queued: ids.length };
    },
  };
}
