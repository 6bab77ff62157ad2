/**
 * @file LibraryService: the music library as one plain-Node object (no Electron): folders, scans, watching,
 * missing-file purging, and events for the UI. The desktop shell wires it into IPC; the CLI and tests use it
 * directly. It owns the single writable connection's library tables.
 *
 * [Note: One scan at a time]
 * Scans, rescans and watcher batches run one after another on an internal queue. SQLite has one writer anyway,
 * and interleaving a full scan's "mark what was not found missing" with a watcher batch could mark a file
 * missing that the batch just added. The queue costs nothing when idle and keeps every step simple.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve, sep } from 'node:path';
import type Database from 'better-sqlite3';
import { FoldersRepo, type Folder, type FolderStats } from '../db/folders';
import { ScanErrorsRepo } from '../db/scan-errors';
import { SearchRepo } from '../db/search';
import { MERGE_AFTER_ROWS, mergeSearchIndexes } from '../db/search-index-merge';
import { TracksRepo } from '../db/tracks';
import { FolderError } from './errors';
import { nodeFs, type LibraryFs } from './fs';
import { findThreadEntry } from '../training/worker-thread';
import { ScanThreadPool, workerThreadLauncher } from './scan-pool';
import { Scanner, type LibraryChanges, type PathBatch, type ScanProgress, type ScannerDeps, type ScanSummary } from './scanner';
import { LibraryWatcher, type WatchBatch, type WatchOptions } from './watch';

/** Default time a missing track is kept (with its captions) before purge deletes it: 30 days. */
export const DEFAULT_MISSING_GRACE_MS = 30 * 24 * 3600 * 1000;

/** Options of {@link LibraryService}. Every field has a sensible default. */
export interface LibraryServiceOptions {
  readonly fs?: LibraryFs;
  readonly now?: () => number;
  /** Files per write transaction. Default 200. */
  readonly batchSize?: number;
  /** Files read at once. Default 8. */
  readonly concurrency?: number;
  /** How long missing tracks are kept. Default {@link DEFAULT_MISSING_GRACE_MS}. */
  readonly missingGraceMs?: number;
  /** Least time between two `progress` events of a scan (phase changes always go out). Default 100 ms. */
  readonly progressIntervalMs?: number;
  readonly watch?: WatchOptions;
  /**
   * Scan threads reading files while the main thread writes (see [Note: Scan threads] in scan-pool.ts).
   * Default {@link DEFAULT_SCAN_THREADS}; 0 reads in this thread. Used only with the real file system.
   */
  readonly scanThreads?: number;
  /** The bundled scan-thread entry; default: scan.thread.mjs found beside the CLI bundle ($MUSILINGO_SCAN_THREAD overrides), null: none. */
  readonly scanThreadEntry?: URL | null;
  /**
   * Tracks a scan must write for the search indexes to be merged after it (see [Note: Merging the search
   * index]). Default {@link MERGE_AFTER_ROWS}; Infinity never merges.
   */
  readonly mergeIndexAfterRows?: number;
}

/**
 * Scan threads by default: one per core but one (the main thread writes meanwhile), at most 4. On two cores
 * that is one thread: a second one measured slower there, each thread parsing with its own cold JIT and
 * competing with the writer for the same cores.
 */
export const DEFAULT_SCAN_THREADS = Math.max(1, Math.min(4, availableParallelism() - 1));

/**
 * Fewest files to read for which starting scan threads pays (a watcher batch of a few files reads in-thread). A
 * folder's first scan starts them while listing, whatever the count (the scanner asks for Infinity).
 */
export const SCAN_THREADS_MIN_FILES = 64;

/** Events of {@link LibraryService}. */
export interface LibraryEvents {
  /** Scan progress, throttled. */
  progress: ScanProgress;
  /** Tracks added, updated, moved, restored or marked missing (by a scan or the watcher). */
  changed: LibraryChanges;
  /** A watcher batch finished. */
  'watch-batch': ScanSummary[];
  /** The watcher or a watcher batch failed; watching goes on. */
  'watch-error': { message: string };
  /** The search indexes were merged after a big scan (complete: false when stopped first; the index stays valid). */
  'index-merged': { steps: number; complete: boolean; ms: number };
  /** Merging the search indexes failed (a busy or full disk); search works as before, only slower. */
  'index-merge-error': { message: string };
}

type Listener<K extends keyof LibraryEvents> = (payload: LibraryEvents[K]) => void;

/** Normalizes a user-given folder path: absolute, no trailing separator. */
export function normalizeFolderPath(path: string): string {
  const abs = resolve(path);
  return abs.length > 1 && abs.endsWith(sep) ? abs.slice(0, -1) : abs;
}

function contains(parent: string, child: string): boolean {
  return child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

/** How the scanner gets scan threads under `opts`, or undefined when it reads in its own thread. */
function scanThreadsFor(fs: LibraryFs, opts: LibraryServiceOptions): ScannerDeps['openReaders'] {
  const threads = opts.scanThreads ?? DEFAULT_SCAN_THREADS;
  // Injected file systems (tests simulating faults) cannot cross into a thread: they read in-thread.
  if (threads <= 0 || fs !== nodeFs) return undefined;
  const entry = opts.scanThreadEntry !== undefined ? opts.scanThreadEntry : findThreadEntry('scan.thread.mjs', 'MUSILINGO_SCAN_THREAD');
  if (!entry) return undefined;
  const launch = workerThreadLauncher(entry);
  return (files, inProcess) => (files >= SCAN_THREADS_MIN_FILES ? new ScanThreadPool(launch, threads, inProcess) : null);
}

/** The music library. See the file comment. */
export class LibraryService {
  /** Repositories on the service's connection, for read paths (IPC handlers, CLI `show`). */
  readonly tracks: TracksRepo;
  readonly folders: FoldersRepo;
  readonly scanErrors: ScanErrorsRepo;
  readonly search: SearchRepo;

  readonly #db: Database.Database;
  readonly #fs: LibraryFs;
  readonly #now: () => number;
  readonly #graceMs: number;
  readonly #progressIntervalMs: number;
  readonly #watchOpts: WatchOptions;
  readonly #mergeAfterRows: number;
  readonly #scanner: Scanner;
  readonly #listeners = new Map<keyof LibraryEvents, Set<Listener<keyof LibraryEvents>>>();
  #queue: Promise<unknown> = Promise.resolve();
  #stopController = new AbortController();
  #watcher: LibraryWatcher | undefined;

  constructor(db: Database.Database, opts: LibraryServiceOptions = {}) {
    this.#db = db;
    this.#fs = opts.fs ?? nodeFs;
    this.#now = opts.now ?? Date.now;
    this.#graceMs = opts.missingGraceMs ?? DEFAULT_MISSING_GRACE_MS;
    this.#progressIntervalMs = opts.progressIntervalMs ?? 100;
    this.#watchOpts = opts.watch ?? {};
    this.#mergeAfterRows = opts.mergeIndexAfterRows ?? MERGE_AFTER_ROWS;
    this.tracks = new TracksRepo(db);
    this.folders = new FoldersRepo(db);
    this.scanErrors = new ScanErrorsRepo(db);
    this.search = new SearchRepo(db);
    this.#scanner = new Scanner({
      db,
      tracks: this.tracks,
      folders: this.folders,
      scanErrors: this.scanErrors,
      fs: this.#fs,
      now: this.#now,
      batchSize: opts.batchSize ?? 200,
      concurrency: opts.concurrency ?? 8,
      openReaders: scanThreadsFor(this.#fs, opts),
    });
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof LibraryEvents>(event: K, listener: Listener<K>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as Listener<keyof LibraryEvents>);
    return () => set.delete(listener as Listener<keyof LibraryEvents>);
  }

  #emit<K extends keyof LibraryEvents>(event: K, payload: LibraryEvents[K]): void {
    for (const l of this.#listeners.get(event) ?? []) {
      try {
        (l as Listener<K>)(payload);
      } catch {
        // A listener's bug must not break a scan.
      }
    }
  }

  /**
   * Adds a folder (absolute or relative path). Returns the existing row when already added. A folder inside
   * an added one is refused (it is already covered); a folder that contains added ones absorbs them.
   * Throws {@link FolderError} when the path is not a readable folder.
   */
  addFolder(path: string): Folder {
    const abs = normalizeFolderPath(path);
    let st;
    try {
      st = statSync(abs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new FolderError(abs, code === 'ENOENT' ? `Folder "${abs}" does not exist` : `Cannot open folder "${abs}": ${(e as Error).message}`);
    }
    if (!st.isDirectory()) throw new FolderError(abs, `"${abs}" is not a folder`);
    const existing = this.folders.getByPath(abs);
    if (existing) return existing;
    const all = this.folders.list();
    const parent = all.find((f) => contains(f.path, abs));
    if (parent) throw new FolderError(abs, `"${abs}" is already in the library as part of "${parent.path}"`);
    const folder = this.#db.transaction(() => {
      const f = this.folders.insert(abs, this.#now());
      for (const child of all.filter((c) => contains(abs, c.path))) this.folders.delete(child.id);
      // Tracks under the new folder (of absorbed folders, or of a folder removed earlier) now belong to it.
      this.tracks.setFolderUnder(f.id, abs, sep);
      return f;
    })();
    if (this.#watcher) void this.#watcher.add([abs]).catch((e: unknown) => this.#emit('watch-error', { message: String(e) }));
    return folder;
  }

  /**
   * Removes a folder from the library. Its tracks are marked missing (kept with their captions for the grace
   * period, so re-adding the folder restores them) unless `purge` deletes them now.
   */
  async removeFolder(pathOrId: string | number, opts: { purge?: boolean } = {}): Promise<{ folder: Folder; missing: number; purged: number }> {
    const folder = this.#resolveFolder(pathOrId);
    await this.#watcher?.remove([folder.path]);
    return this.#enqueue(() =>
      this.#db.transaction(() => {
        const now = this.#now();
        const missing = this.tracks.markFolderMissing(folder.id, now);
        this.folders.delete(folder.id);
        const purged = opts.purge ? this.tracks.purgeMissingBefore(now + 1) : 0;
        return { folder, missing, purged };
      })(),
    );
  }

  /** Every folder with its counts. */
  listFolders(): FolderStats[] {
    return this.folders.listWithStats();
  }

  /**
   * Scans one folder, adding it first when it is a path not yet in the library. Resolves with the summary
   * (cancelled: true when `signal` or {@link stop} interrupted it; what was read is kept).
   */
  async scan(folder: string | number, opts: { signal?: AbortSignal } = {}): Promise<ScanSummary> {
    const f = typeof folder === 'number' ? this.#resolveFolder(folder) : this.folders.getByPath(normalizeFolderPath(folder)) ?? this.addFolder(folder);
    const summary = await this.#enqueue(() => this.#scanner.scanFolder(f, this.#scanOptions(opts.signal)));
    this.#mergeAfter(summary, opts.signal);
    return summary;
  }

  /**
   * Rescans every folder: what the app does at startup. Unchanged files cost one stat each. Also purges
   * tracks missing for longer than the grace period. A folder that cannot be opened (an unplugged drive) is
   * reported in `failed` and its tracks are left as they are.
   */
  async rescanAll(opts: { signal?: AbortSignal } = {}): Promise<{ summaries: ScanSummary[]; failed: { folder: Folder; message: string }[]; purged: number }> {
    const summaries: ScanSummary[] = [];
    const failed: { folder: Folder; message: string }[] = [];
    for (const f of this.folders.list()) {
      try {
        const s = await this.#enqueue(() => this.#scanner.scanFolder(f, this.#scanOptions(opts.signal)));
        summaries.push(s);
        this.#mergeAfter(s, opts.signal);
        if (s.cancelled) break;
      } catch (e) {
        if (!(e instanceof FolderError)) throw e;
        failed.push({ folder: f, message: e.message });
      }
    }
    const purged = this.purgeMissing();
    return { summaries, failed, purged };
  }

  /** Deletes tracks missing for longer than `olderThanMs` (default: the grace period); `all` deletes every missing track. */
  purgeMissing(opts: { olderThanMs?: number; all?: boolean } = {}): number {
    const before = opts.all ? this.#now() + 1 : this.#now() - (opts.olderThanMs ?? this.#graceMs);
    return this.tracks.purgeMissingBefore(before);
  }

  /** Starts watching every folder (and folders added later). Resolves once the watcher is ready. */
  async watch(): Promise<void> {
    if (this.#watcher) return;
    this.#stopController = this.#stopController.signal.aborted ? new AbortController() : this.#stopController;
    const watcher = new LibraryWatcher(
      (b) => void this.#applyWatchBatch(b),
      (e) => this.#emit('watch-error', { message: `Watching the library failed: ${e.message}` }),
      this.#watchOpts,
    );
    this.#watcher = watcher;
    await watcher.add(this.folders.list().map((f) => f.path));
  }

  /** Folders with a native watch (0 when not watching); see [Note: One watch per real folder]. */
  get watchedFolders(): number {
    return this.#watcher?.watchedFolders ?? 0;
  }

  /** True while watching. */
  get isWatching(): boolean {
    return this.#watcher !== undefined;
  }

  /** Hands pending watcher events over now instead of after the debounce (tests, shutdown). */
  flushWatcher(): void {
    this.#watcher?.flush();
  }

  /** Resolves when every queued scan and watcher batch is done. */
  async idle(): Promise<void> {
    let last;
    do {
      last = this.#queue;
      await last.catch(() => undefined);
    } while (last !== this.#queue);
  }

  /** Stops watching, cancels running scans (they keep what they wrote) and waits for them to end. */
  async stop(): Promise<void> {
    const w = this.#watcher;
    this.#watcher = undefined;
    this.#stopController.abort();
    await w?.close();
    await this.idle();
    this.#stopController = new AbortController();
  }

  async #applyWatchBatch(b: WatchBatch): Promise<void> {
    const folders = this.folders.list().sort((a, z) => z.path.length - a.path.length);
    const groups = new Map<number, { folder: Folder; paths: string[]; removedDirs: string[] }>();
    const group = (p: string): { paths: string[]; removedDirs: string[] } | undefined => {
      const f = folders.find((x) => contains(x.path, p));
      if (!f) return undefined;
      let g = groups.get(f.id);
      if (!g) groups.set(f.id, (g = { folder: f, paths: [], removedDirs: [] }));
      return g;
    };
    for (const p of b.paths) group(p)?.paths.push(p);
    for (const d of b.removedDirs) group(d)?.removedDirs.push(d);
    if (!groups.size) return;
    try {
      const batches: PathBatch[] = [...groups.values()];
      const summaries = await this.#enqueue(() => this.#scanner.applyBatch(batches, this.#scanOptions(undefined)));
      this.#emit('watch-batch', summaries);
    } catch (e) {
      this.#emit('watch-error', { message: `Updating the library after a change failed: ${(e as Error).message}` });
    }
  }

  /**
   * Queues a merge of the search indexes when the scan wrote enough tracks (see [Note: Merging the search
   * index]): after the scan has resolved, so its summary is not held up; before anything queued later. `idle()`
   * waits for it, `stop()` and `signal` end it between steps.
   */
  #mergeAfter(s: ScanSummary, signal: AbortSignal | undefined): void {
    if (s.added + s.updated + s.moved + s.restored < this.#mergeAfterRows) return;
    const stop = signal ? AbortSignal.any([signal, this.#stopController.signal]) : this.#stopController.signal;
    void this.#enqueue(async () => {
      const t0 = Date.now();
      try {
        const r = await mergeSearchIndexes(this.#db, { signal: stop });
        this.#emit('index-merged', { ...r, ms: Date.now() - t0 });
      } catch (e) {
        this.#emit('index-merge-error', { message: `Merging the search index failed: ${(e as Error).message}` });
      }
    });
  }

  #scanOptions(signal: AbortSignal | undefined): { signal: AbortSignal; onProgress: (p: ScanProgress) => void; onChanges: (c: LibraryChanges) => void } {
    let last = 0;
    let lastPhase = '';
    return {
      signal: signal ? AbortSignal.any([signal, this.#stopController.signal]) : this.#stopController.signal,
      onProgress: (p) => {
        const t = Date.now();
        if (p.phase !== lastPhase || t - last >= this.#progressIntervalMs || p.phase === 'done' || p.phase === 'cancelled') {
          last = t;
          lastPhase = p.phase;
          this.#emit('progress', p);
        }
      },
      onChanges: (c) => this.#emit('changed', c),
    };
  }

  #resolveFolder(pathOrId: string | number): Folder {
    const f = typeof pathOrId === 'number' ? this.folders.getById(pathOrId) : this.folders.getByPath(normalizeFolderPath(pathOrId));
    if (!f) {
      const known = this.folders.list().map((x) => `${x.id} ${x.path}`);
      throw new FolderError(String(pathOrId), `Folder "${pathOrId}" is not in the library. Folders: ${known.length ? known.join(', ') : '(none)'}`);
    }
    return f;
  }

  #enqueue<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
