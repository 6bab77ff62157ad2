/**
 * @file The single source of truth for renderer <-> main IPC (STYLE B3). Types and `as const` data only: it is
 * imported by main (handlers, schemas, registration), by the sandboxed preload (bundled into one file) and, as
 * `import type`, by the renderer. Nothing here may have side effects.
 */

/** Why a call failed; the renderer picks its wording and recovery from this. */
export type ErrorCode =
  | 'invalid-argument'
  | 'not-found'
  | 'model-unavailable'
  | 'unavailable'
  | 'cancelled'
  | 'internal';

/** Every invoke answers with a Result envelope: errors cross the process boundary as data, never as throws. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: { code: ErrorCode; message: string } };

// ---------------------------------------------------------------------------------------------------------
// Data shapes (structured-clone-safe: plain objects, no classes, no Dates; times are ms since the epoch).
// ---------------------------------------------------------------------------------------------------------

/** Columns the library table can sort by. */
export type TrackSortKey = 'relevance' | 'title' | 'artist' | 'album' | 'genre' | 'year' | 'durationMs' | 'addedAt';

/** Caption state of one track, as the library table shows it. */
export type CaptionState = 'none' | 'queued' | 'running' | 'done' | 'failed';

/** One page of the library table: the query, the window into it, and its total size. */
export interface TrackQuery {
  /** Free text: matched against tags and captions (full-text search). Empty = everything. */
  text: string;
  sort: TrackSortKey;
  direction: 'asc' | 'desc';
  offset: number;
  limit: number;
  /** Exact genre filter (display genre), or '' for any. */
  genre: string;
  /** Only tracks that have (true) or lack (false) a caption; null = either. */
  captioned: boolean | null;
}

/** A row of the library table. */
export interface TrackRow {
  id: number;
  title: string;
  artist: string;
  album: string;
  genre: string;
  year: number | null;
  durationMs: number | null;
  /** True when durationMs is an estimate (an MP3 without a frame-count header); shown as "~3:45". */
  durationEstimated?: boolean;
  path: string;
  trackNo: number | null;
  discNo: number | null;
  /** The newest caption (user edits win), or '' when there is none. */
  caption: string;
  captionState: CaptionState;
}

/** A window of rows plus the number of rows the whole query matches. */
export interface TrackPage {
  total: number;
  offset: number;
  rows: TrackRow[];
}

/** One caption of one analysis window. */
export interface CaptionEntry {
  id: number;
  startMs: number;
  lengthMs: number;
  modelId: string;
  adapterId: string;
  source: 'model' | 'user';
  text: string;
  createdAt: number;
}

/** Everything the Track page shows about one track. */
export interface TrackDetail extends TrackRow {
  albumArtist: string;
  trackNo: number | null;
  discNo: number | null;
  mood: string;
  comment: string;
  bpm: number | null;
  musicalKey: string;
  codec: string;
  container: string;
  sampleRateHz: number | null;
  channels: number | null;
  bitrateBps: number | null;
  sizeBytes: number;
  addedAt: number;
  missing: boolean;
  captions: CaptionEntry[];
}

/** One message of a question-and-answer thread about a track. */
export interface QaMessage {
  id: number;
  threadId: string;
  role: 'user' | 'assistant';
  text: string;
  modelId: string | null;
  createdAt: number;
}

/** A watched music folder and the state of its scan. */
export interface FolderInfo {
  id: number;
  path: string;
  addedAt: number;
  lastScanAt: number | null;
  trackCount: number;
  errorCount: number;
  scan: ScanStatus;
}

/** Where a folder's scan stands. */
export interface ScanStatus {
  state: 'idle' | 'scanning' | 'watching' | 'error';
  /** Files looked at so far in the current scan. */
  seen: number;
  /** Files the scan found in total, once known. */
  total: number | null;
  message: string;
}

/** A file the scanner could not read, with the cause in words. */
export interface ScanErrorRow {
  id: number;
  folderId: number | null;
  path: string;
  code: string;
  message: string;
  at: number;
}

/** States a background job moves through. */
export type JobState = 'queued' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled';

/** A row of the Jobs page. */
export interface JobRow {
  id: number;
  kind: string;
  /** One line saying what the job works on (a track title, a model name). */
  label: string;
  state: JobState;
  /** 0..1 */
  progress: number;
  error: string | null;
  attempts: number;
  createdAt: number;
  updatedAt: number;
  /** For a group (caption the library, a selection …): how many of its tracks are finished, of how many. */
  counts: { done: number; failed: number; total: number } | null;
  /** When the job (or the group's first child) started running; null until then. Rate and time left use it. */
  startedAt: number | null;
}

/** The queue as a whole. */
export interface JobsSnapshot {
  paused: boolean;
  jobs: JobRow[];
}

/** A model in the catalog and what is on disk for it. */
export interface ModelEntry {
  id: string;
  name: string;
  description: string;
  /** Download size when known. */
  sizeBytes: number | null;
  state: 'available' | 'downloading' | 'downloaded' | 'converting' | 'ready' | 'failed';
  /** Progress of the current download or conversion, 0..1, or null. */
  progress: number | null;
  /** Converted packs on disk (variant names such as float32, float16, int4). */
  variants: string[];
  isActive: boolean;
  error: string | null;
}

/** What the Models page says about the hardware path. */
export interface DoctorReport {
  /** The execution provider sessions will use (cpu, cuda, webgpu …). */
  executionProvider: string;
  /** Why that one: the providers tried and what each said. */
  reason: string;
  /** The pack variant this machine should convert to, and why (the Models page leads with it). */
  recommendedVariant: 'float32' | 'float16' | 'int4';
  variantReason: string;
  /** Free-form lines (name: value) for the doctor panel. */
  lines: { label: string; value: string; ok: boolean }[];
}

/** A training run. */
export interface TrainingRun {
  id: string;
  state: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  startedAt: number;
  step: number;
  totalSteps: number;
  lastLoss: number | null;
  adapterId: string | null;
  error: string | null;
}

/** One point of a loss curve. */
export interface LossPoint {
  step: number;
  loss: number;
  split: 'train' | 'heldout';
}

/** A trained (or the base) adapter. */
export interface AdapterInfo {
  id: string;
  name: string;
  createdAt: number;
  runId: string | null;
  isActive: boolean;
  heldoutLoss: number | null;
}

/** Tracks whose caption came from an older adapter of the active model (the re-caption offer). */
export interface StaleCaptions {
  /** Tracks to re-caption; tracks with a caption the user edited are never counted. */
  count: number;
  /** The adapter new captions would come from ('' = the model's own). */
  adapterId: string;
  adapterName: string | null;
  /** The pack captions use, or null when no model is ready. */
  modelId: string | null;
}

/**
 * Options for starting a training run. The run always learns from every tag of the library (genre, mood,
 * instruments, BPM, key, comments, turned into captions and Q&A pairs) and from captions the user edited.
 */
export interface TrainOptions {
  /** A model id or pack id with a ready pack. */
  modelId: string;
  steps: number;
  learningRate: number;
  /** Make the new adapter active when the run finishes. */
  activate: boolean;
}

/** State of a supervised utility process. */
export interface WorkerStatus {
  /** 'converter' is a model conversion's worker: it is started again from the Models page, not restarted. */
  name: 'inference' | 'trainer' | 'converter';
  state: 'stopped' | 'starting' | 'running' | 'restarting' | 'failed';
  restarts: number;
  lastError: string | null;
}

/** The pages a build may lack (a service that did not ship). */
export type Feature = 'library' | 'captions' | 'qa' | 'jobs' | 'models' | 'training';

/** What the renderer needs to know about the app itself. */
export interface AppInfo {
  version: string;
  platform: string;
  dataDir: string;
  /** True when folders can be picked with a native dialog (Electron), false in a browser test harness. */
  hasNativeDialogs: boolean;
  features: Record<Feature, boolean>;
  /** The URL prefix a track id goes after to play it (main/library/media-protocol.ts); only library tracks play. */
  mediaBase: string;
}

/** The evaluation sets `musilingo eval` knows (model/eval/datasets.ts). */
export type EvalDataset = 'musiccaps' | 'mi-short' | 'mi-long' | 'musicqa';

/** What the Evaluation page runs: score a predictions file, or ask the model about a dataset's audio. */
export interface EvalRequest {
  /** JSONL of {reference, candidate} (or {id, prediction} with dataset + annPath). */
  predictionsPath: string | null;
  dataset: EvalDataset | null;
  annPath: string | null;
  /** The dataset's audio folder: the model answers each item (no predictions file). */
  audioDir: string | null;
  limit: number | null;
  /** Compute BERT-S (needs the roberta-large checkpoint). */
  bertScore: boolean;
}

/** The paper's four columns, as fractions (0..1); null = not computed / not known. */
export interface EvalScores {
  bleu: number | null;
  meteor: number | null;
  rougeL: number | null;
  bertScore: number | null;
}

/** One row of the paper's own results (model/eval/paper-results.ts), on the paper's scale. */
export interface EvalPaperRow extends EvalScores {
  dataset: EvalDataset;
  table: string;
  task: string;
  /** The paper prints values × scale (100 for percentages). */
  scale: number;
  /** Every row of the paper's table for this dataset, in print order (the row above is one of them). */
  rows: EvalPaperTableRow[];
}

/** One model's row of the paper's table (values as printed; `flagged`: starred by the paper). */
export interface EvalPaperTableRow {
  model: string;
  bleu: number;
  meteor: number;
  rougeL: number;
  bertScore: number;
  flagged: boolean;
}

/** One scored pair. */
export interface EvalPair {
  index: number;
  id: string | null;
  reference: string | null;
  candidate: string | null;
  bleu: number;
  meteor: number;
  rougeL: number;
  bertScore: number | null;
}

/** A finished evaluation. */
export interface EvalResult {
  dataset: EvalDataset | null;
  count: number;
  measured: EvalScores;
  pairs: EvalPair[];
  notes: string[];
}

/** Library table columns the user can show, hide and resize. */
export type LibraryColumn = 'title' | 'artist' | 'album' | 'trackNo' | 'discNo' | 'genre' | 'year' | 'durationMs' | 'caption';

/**
 * Where the user left the Library: query, filters, sort, selection, scroll anchor and column layout. Kept by
 * main so it survives Back (renderer memory) and restarts (stored).
 */
export interface LibraryView {
  text: string;
  sort: TrackSortKey;
  direction: 'asc' | 'desc';
  genre: string;
  captioned: boolean | null;
  /** True once the user picked a sort column (a search then keeps it instead of sorting by relevance). */
  isUserSort: boolean;
  /** The keyboard-active row and the first row in view (the scroll anchor), as indexes into the query. */
  activeIndex: number;
  anchorIndex: number;
  /** Selected track ids (multi-select). */
  selectedIds: number[];
  hiddenColumns: LibraryColumn[];
  /** Column widths in px the user dragged to; absent = the default width. */
  columnWidths: Partial<Record<LibraryColumn, number>>;
}

/** Settings the user changes in the UI. */
export interface Settings {
  theme: 'system' | 'light' | 'dark';
}

/** The tag fields the tagger suggests and writes (main/tags/fields.ts owns their mapping into files). */
export type TagFieldName = 'genre' | 'mood' | 'instruments' | 'vocals' | 'tempo' | 'caption';

/** One suggested (or user-set) value; see docs/tagging.md. */
export interface TagSuggestionInfo {
  id: number;
  field: TagFieldName;
  value: string;
  source: 'caption' | 'question' | 'user';
  inVocabulary: boolean;
  /** The caption span, or "question → answer". */
  evidence: string | null;
  state: 'pending' | 'accepted' | 'rejected';
}

/** A field of the Tags card: what the file holds, what is suggested, what will be written. */
export interface TagFieldInfo {
  field: TagFieldName;
  fileValues: string[] | null;
  suggestions: TagSuggestionInfo[];
  /** True when accepted values wait to be written; `pending` null then means "remove the field". */
  hasPending: boolean;
  pending: string[] | null;
}

/** The Tags card of one track. */
export interface TrackTagsInfo {
  trackId: number;
  path: string;
  writable: boolean;
  readError: string | null;
  fields: TagFieldInfo[];
}

/** What writing would change in one file. */
export interface TagPreviewFile {
  trackId: number;
  path: string;
  error: string | null;
  changes: { field: TagFieldName; key: string; oldValues: string[] | null; newValues: string[] | null }[];
}

/** The outcome of a write or undo batch. */
export interface TagBatchResult {
  batchId: string | null;
  files: { trackId: number | null; path: string; status: 'written' | 'unchanged' | 'skipped' | 'failed'; message: string | null }[];
}

/** A write or undo batch, for history and "Undo last batch". */
export interface TagBatchInfo {
  id: string;
  kind: 'write' | 'undo';
  undoes: string | null;
  undoneBy: string | null;
  fields: string[];
  createdAt: number;
  written: number;
  failed: number;
}

// ---------------------------------------------------------------------------------------------------------
// Channels
// ---------------------------------------------------------------------------------------------------------

/** Renderer -> main requests (ipcRenderer.invoke). Channel = key. */
export interface Invoke {
  'app:info': () => AppInfo;
  'settings:get': () => Settings;
  'settings:set': (patch: Partial<Settings>) => Settings;
  'workers:status': () => WorkerStatus[];
  /** Starts a worker the supervisor gave up on (state 'failed'), with a fresh crash count. */
  'workers:restart': (name: WorkerStatus['name']) => void;

  'library:list': (q: TrackQuery) => TrackPage;
  'library:genres': () => string[];
  'track:get': (trackId: number) => TrackDetail;
  /** Track ids of a window of the query in table order (limit up to 1,000,000): ranges and Select all. */
  'library:ids': (q: TrackQuery) => number[];
  /** The stored Library view (null before the first save). */
  'library:get-view': () => LibraryView | null;
  'library:save-view': (view: LibraryView) => void;

  'folders:list': () => FolderInfo[];
  'folders:pick': () => string | null;
  'folders:add': (path: string) => FolderInfo;
  'folders:remove': (folderId: number) => void;
  'folders:rescan': (folderId: number) => void;
  'folders:errors': (folderId: number) => ScanErrorRow[];

  'caption:request': (trackId: number) => { jobId: number };
  /**
   * Queues captions for the given tracks, or for the whole library (trackIds null). Without `redo`, tracks that
   * already have a caption are skipped; with it they are captioned again. Answers how many were queued (with
   * `dryRun`, how many would be, and nothing is queued: the count the user confirms).
   */
  'caption:request-many': (q: { trackIds: number[] | null; redo: boolean; dryRun: boolean }) => { queued: number };
  /** Asks the same question about each track (a new thread each). Answers how many were queued. */
  'qa:ask-many': (q: { trackIds: number[]; question: string }) => { queued: number };
  'caption:edit': (edit: { trackId: number; startMs: number; lengthMs: number; text: string }) => CaptionEntry;
  'qa:history': (trackId: number) => QaMessage[];
  'qa:ask': (q: { trackId: number; threadId: string; question: string }) => { jobId: number };
  'similar:list': (q: { trackId: number; limit: number }) => TrackRow[];

  'jobs:list': () => JobsSnapshot;
  'jobs:pause': (jobId: number | null) => void;
  'jobs:resume': (jobId: number | null) => void;
  'jobs:cancel': (jobId: number) => void;
  /** Queues a failed or cancelled job (or a group's failed children) again. */
  'jobs:retry': (jobId: number) => void;
  /** Removes finished jobs from the list (results are kept). Answers how many went. */
  'jobs:clear': () => { cleared: number };

  'models:catalog': () => ModelEntry[];
  /** Starts a download in the background; progress arrives as models:progress. */
  'models:download': (modelId: string) => void;
  /** Starts a conversion in the background (its own process); progress arrives as models:progress. */
  'models:convert': (q: { modelId: string; variant: 'float32' | 'float16' | 'int4' }) => void;
  'models:activate': (modelId: string) => void;
  'models:doctor': () => DoctorReport;

  'training:runs': () => TrainingRun[];
  'training:start': (opts: TrainOptions) => { runId: string };
  'training:cancel': (runId: string) => void;
  'training:loss': (runId: string) => LossPoint[];
  'training:adapters': () => AdapterInfo[];
  'training:activate': (adapterId: string) => void;

  /** Runs `musilingo eval` in its own process; progress arrives as eval:progress; answers when it is done. */
  'eval:run': (q: EvalRequest) => EvalResult;
  /** The paper's own rows, to print beside measured ones. */
  'eval:paper': () => EvalPaperRow[];
  /** How many tracks have a caption from an older adapter of the active model. */
  'training:stale-captions': () => StaleCaptions;
  /** Queues a new caption for each of them with the active adapter; returns how many were queued. */
  'training:recaption-stale': () => { queued: number };
  /** The Tags card: file values, suggestions, pending edits (caption-derived suggestions are refreshed first). */
  'tags:get': (trackId: number) => TrackTagsInfo;
  /** Refreshes caption-derived suggestions (trackIds null = every present track); returns how many were stored. */
  'tags:suggest': (trackIds: number[] | null) => { suggestions: number };
  /**
   * Queues the model's fixed tag questions as 'suggest-tags' jobs with the active model (trackIds null = every
   * present track); answers become suggestions as the jobs finish. Returns how many jobs were queued.
   */
  'tags:ask-model': (trackIds: number[] | null) => { queued: number };
  'tags:decide': (q: { trackId: number; field: TagFieldName; decision: 'accepted' | 'rejected'; value: string | null }) => TrackTagsInfo;
  'tags:set': (q: { trackId: number; field: TagFieldName; values: string[] }) => TrackTagsInfo;
  /** How many tracks a bulk accept of `field` would change (dryRun) or changed. */
  'tags:bulk-accept': (q: { field: TagFieldName; whereEmpty: boolean; dryRun: boolean }) => { tracks: number };
  /** What writing the accepted values would change; trackIds null = every track with accepted values. */
  'tags:preview': (trackIds: number[] | null) => TagPreviewFile[];
  'tags:write': (trackIds: number[] | null) => TagBatchResult;
  /** Undoes a batch (null = the last write that changed a file). */
  'tags:undo': (batchId: string | null) => TagBatchResult;
  'tags:history': () => TagBatchInfo[];
}

/** Main -> renderer pushes (webContents.send). */
export interface Events {
  /** Tracks were added, changed or removed: visible rows should be refetched. */
  'library:changed': { reason: 'scan' | 'watch' | 'caption' | 'remove'; trackIds: number[] | null };
  'folders:progress': { folderId: number; scan: ScanStatus };
  /** A caption is being written (text so far) or is done. */
  'caption:progress': { trackId: number; jobId: number; text: string; done: boolean; error: string | null };
  /** A streamed answer: `text` is the whole answer so far. */
  'qa:progress': { trackId: number; threadId: string; jobId: number; text: string; done: boolean; error: string | null };
  'jobs:changed': { job: JobRow | null };
  /** `failed`: the download or conversion stopped with an error (in `message`); the catalog says the rest. */
  'models:progress': { modelId: string; phase: 'download' | 'convert' | 'verify'; progress: number; message: string; failed?: boolean };
  'training:progress': { runId: string; step: number; loss: number; split: 'train' | 'heldout' };
  /** A run started or ended (done, failed, cancelled): runs and adapters should be reloaded. */
  'training:changed': { runId: string };
  'workers:changed': WorkerStatus;
  /** A line of a running evaluation's progress. */
  'eval:progress': { message: string };
  /** A menu item or shortcut handled in main asks the renderer to do something. */
  'app:command': { command: 'navigate'; page: PageId } | { command: 'focus-search' } | { command: 'toggle-theme' };
}

/** The renderer's pages (also used by menu commands). */
export type PageId = 'library' | 'folders' | 'models' | 'jobs' | 'training' | 'evaluation';

// Mapped objects: forgetting a channel here is a compile error, and they double as runtime allow-lists.
/** Invoke channels the preload exposes and main registers. */
export const INVOKE = {
  'app:info': 1,
  'settings:get': 1,
  'settings:set': 1,
  'workers:status': 1,
  'workers:restart': 1,
  'library:list': 1,
  'library:genres': 1,
  'track:get': 1,
  'library:ids': 1,
  'library:get-view': 1,
  'library:save-view': 1,
  'folders:list': 1,
  'folders:pick': 1,
  'folders:add': 1,
  'folders:remove': 1,
  'folders:rescan': 1,
  'folders:errors': 1,
  'caption:request': 1,
  'caption:request-many': 1,
  'caption:edit': 1,
  'qa:history': 1,
  'qa:ask': 1,
  'qa:ask-many': 1,
  'similar:list': 1,
  'jobs:list': 1,
  'jobs:pause': 1,
  'jobs:resume': 1,
  'jobs:cancel': 1,
  'jobs:retry': 1,
  'jobs:clear': 1,
  'models:catalog': 1,
  'models:download': 1,
  'models:convert': 1,
  'models:activate': 1,
  'models:doctor': 1,
  'training:runs': 1,
  'training:start': 1,
  'training:cancel': 1,
  'training:loss': 1,
  'training:adapters': 1,
  'training:activate': 1,
  'eval:run': 1,
  'eval:paper': 1,
  'training:stale-captions': 1,
  'training:recaption-stale': 1,
  'tags:get': 1,
  'tags:suggest': 1,
  'tags:ask-model': 1,
  'tags:decide': 1,
  'tags:set': 1,
  'tags:bulk-accept': 1,
  'tags:preview': 1,
  'tags:write': 1,
  'tags:undo': 1,
  'tags:history': 1,
} as const satisfies Record<keyof Invoke, 1>;

/** Event channels main may send and the preload lets through. */
export const EVENTS = {
  'library:changed': 1,
  'folders:progress': 1,
  'caption:progress': 1,
  'qa:progress': 1,
  'jobs:changed': 1,
  'models:progress': 1,
  'training:progress': 1,
  'training:changed': 1,
  'workers:changed': 1,
  'eval:progress': 1,
  'app:command': 1,
} as const satisfies Record<keyof Events, 1>;

/** An invoke channel name. */
export type InvokeChannel = keyof Invoke;
/** An event channel name. */
export type EventChannel = keyof Events;

/** What the preload exposes as `window.api` (and what the E2E shim implements over a WebSocket). */
export interface Api {
  invoke<K extends InvokeChannel>(channel: K, ...args: Parameters<Invoke[K]>): Promise<Result<ReturnType<Invoke[K]>>>;
  on<K extends EventChannel>(channel: K, listener: (payload: Events[K]) => void): () => void;
}
