/**
 * @file What the IPC handlers need from each service, in the contract's own terms (main process, E2E bridge).
 * Adapters in main/app/*-adapter.ts implement these over the real services (library, jobs, models, trainer);
 * a facade that is null means the service is not part of this build and its page says so.
 */
import type {
  AdapterInfo,
  CaptionEntry,
  DoctorReport,
  FolderInfo,
  Invoke,
  JobsSnapshot,
  LossPoint,
  StaleCaptions,
  ModelEntry,
  QaMessage,
  ScanErrorRow,
  TrackDetail,
  TrackPage,
  TrackQuery,
  TrackRow,
  TrainingRun,
  TrainOptions,
} from '../../preload/contract';

type Awaitable<T> = T | Promise<T>;

/** Library: tracks, folders, scans. */
export interface LibraryFacade {
  list(q: TrackQuery): Awaitable<TrackPage>;
  /** Track ids of a window of the query, in table order. */
  ids(q: TrackQuery): Awaitable<number[]>;
  genres(): Awaitable<string[]>;
  get(trackId: number): Awaitable<TrackDetail>;
  folders(): Awaitable<FolderInfo[]>;
  addFolder(path: string): Awaitable<FolderInfo>;
  removeFolder(folderId: number): Awaitable<void>;
  rescan(folderId: number): Awaitable<void>;
  errors(folderId: number): Awaitable<ScanErrorRow[]>;
  close(): Awaitable<void>;
}

/** Captions, questions and similar tracks (the job queue + inference worker). */
export interface InferenceFacade {
  requestCaption(trackId: number): Awaitable<{ jobId: number }>;
  /** Queues captions of many tracks (null = the whole library); `redo` also re-captions captioned ones. */
  requestCaptions(q: Parameters<Invoke['caption:request-many']>[0]): Awaitable<{ queued: number }>;
  editCaption(edit: Parameters<Invoke['caption:edit']>[0]): Awaitable<CaptionEntry>;
  history(trackId: number): Awaitable<QaMessage[]>;
  ask(q: Parameters<Invoke['qa:ask']>[0]): Awaitable<{ jobId: number }>;
  askMany(q: Parameters<Invoke['qa:ask-many']>[0]): Awaitable<{ queued: number }>;
  /** Queues the fixed tag questions about each track (null = the whole library) as 'suggest-tags' jobs. */
  askTagQuestions(trackIds: number[] | null): Awaitable<{ queued: number }>;
  similar(q: Parameters<Invoke['similar:list']>[0]): Awaitable<TrackRow[]>;
}

/** The background job queue. */
export interface JobsFacade {
  snapshot(): Awaitable<JobsSnapshot>;
  pause(jobId: number | null): Awaitable<void>;
  resume(jobId: number | null): Awaitable<void>;
  cancel(jobId: number): Awaitable<void>;
  retry(jobId: number): Awaitable<void>;
  clear(): Awaitable<{ cleared: number }>;
  close(): Awaitable<void>;
}

/** Model catalog, downloads, conversion, hardware doctor. */
export interface ModelsFacade {
  catalog(): Awaitable<ModelEntry[]>;
  download(modelId: string): Awaitable<void>;
  convert(q: Parameters<Invoke['models:convert']>[0]): Awaitable<void>;
  activate(modelId: string): Awaitable<void>;
  doctor(): Awaitable<DoctorReport>;
}

/** Adapter training. */
export interface TrainingFacade {
  runs(): Awaitable<TrainingRun[]>;
  start(opts: TrainOptions): Awaitable<{ runId: string }>;
  cancel(runId: string): Awaitable<void>;
  loss(runId: string): Awaitable<LossPoint[]>;
  adapters(): Awaitable<AdapterInfo[]>;
  activate(adapterId: string): Awaitable<void>;
  staleCaptions(): Awaitable<StaleCaptions>;
  recaptionStale(): Awaitable<{ queued: number }>;
}
