/**
 * @file Reconciles what is on disk with the `tracks` table: full folder scans and the watcher's batches of
 * changed paths share one pipeline (classify by size + mtime → read new/changed files → write in batches).
 * Main process and CLI; the database connection is the single writer.
 *
 * [Note: Scan pipeline]
 * 1. List: walk the folder (readdir + stat only). An unchanged library costs exactly this.
 * 2. Classify each file against the stored size and mtime: unchanged (skip), back from missing with the same
 *    size and mtime (clear missing_since), or to read (new or changed).
 * 3. Mark stored tracks that were not found missing, *before* reading, so that a moved file's fingerprint
 *    finds its old row among the missing ones. Tracks under folders we could not list are left alone.
 * 4. Read files with a few in flight (fingerprint, sniff, tags), re-stat after reading (a file that changed
 *    meanwhile is retried once, then reported as 'changed'), and write results in one transaction per
 *    `batchSize` files. A result is stored as: the row at the same path (changed in place, keeps its id),
 *    else the most recently missing row with the same fingerprint (a move: keeps its id and everything attached),
 *    else a new row.
 * Every failure becomes a scan_errors row for its path; nothing stored is deleted by a scan.
 *
 * [Note: Where files are read]
 * A CPU profile of the 2,000-file scan bench showed the main thread busy with asynchronous file
 * calls (each a hand-off to libuv's pool and back, ~20 per MP3 through music-metadata's own file reader) and
 * with parsing, while the pool sat idle. Each file is now opened once and read once per end
 * ([Note: One read per end] in head-tail-tokenizer.ts), and on a folder's first scan or a large batch the reads
 * go to scan threads while this thread writes ([Note: Scan threads] in scan-pool.ts); `ScannerDeps.openReaders`
 * is the seam. Small batches (a watcher's few files) and injected file systems read in this thread.
 */
import type Database from 'better-sqlite3';
import { sep } from 'node:path';
import type { Folder, FoldersRepo } from '../db/folders';
import type { ScanErrorsRepo } from '../db/scan-errors';
import type { TrackFile, TrackMeta, TracksRepo, TrackStat } from '../db/tracks';
import { describeFsError, ScanCancelledError, ScanFileError } from './errors';
import { hasAudioExtension, skippedAudioReason } from './formats';
import type { LibraryFs } from './fs';
import { readTrackMeta } from './metadata';
import { readOutcome, type ReadOutcome, type TrackReader } from './read-track';
import { walkFolder, type FoundFile } from './walk';

/** Files a first scan hands to its threads while still listing the folder (their outcomes wait in memory). */
export const PREFETCH_MAX_FILES = 1024;

/** Progress of one scan, for progress bars. */
export interface ScanProgress {
  readonly folderId: number;
  readonly folderPath: string;
  /** listing: walking folders; reading: reading new/changed files; done / cancelled: finished. */
  readonly phase: 'listing' | 'reading' | 'done' | 'cancelled';
  /** Audio files found so far. */
  readonly found: number;
  /** Files that need reading (new or changed); known once listing is over. */
  readonly toRead: number;
  /** Files read so far (successfully or not). */
  readonly done: number;
  readonly errors: number;
  readonly currentPath: string | null;
}

/** Track ids touched by a write batch: what the UI refreshes and the caption queue picks up. */
export interface LibraryChanges {
  readonly added: number[];
  readonly updated: number[];
  readonly moved: number[];
  readonly restored: number[];
  readonly missing: number[];
}

/** The outcome of a scan or of a watcher batch. */
export interface ScanSummary {
  readonly folderId: number;
  readonly folderPath: string;
  found: number;
  unchanged: number;
  added: number;
  updated: number;
  moved: number;
  restored: number;
  missing: number;
  errors: number;
  /** Audio files in formats the library cannot read, recorded with their reason (not errors). */
  skipped: number;
  durationMs: number;
  cancelled: boolean;
}

/** What the scanner is given. */
export interface ScannerDeps {
  readonly db: Database.Database;
  readonly tracks: TracksRepo;
  readonly folders: FoldersRepo;
  readonly scanErrors: ScanErrorsRepo;
  readonly fs: LibraryFs;
  readonly now: () => number;
  /** Files per write transaction. */
  readonly batchSize: number;
  /** Files read at once. */
  readonly concurrency: number;
  /** Reads tags; replaceable in tests. */
  readonly readMeta?: typeof readTrackMeta;
  /**
   * Scan threads for reading `files` files (see [Note: Scan threads] in scan-pool.ts), or null to read them in
   * this thread; `inProcess` is the in-thread reader, for the pool to fall back on. Absent: always in-thread.
   */
  readonly openReaders?: ((files: number, inProcess: TrackReader) => PooledReader | null) | undefined;
}

/** A reader with threads to stop once a scan has read its files. */
export interface PooledReader extends TrackReader {
  /** Reads to keep asked for at once (more than `ScannerDeps.concurrency`: threads must not wait). */
  readonly concurrency: number;
  /** Stops the threads; a second call does nothing. */
  close(): Promise<void>;
}

/** Per-call options. */
export interface ScanOptions {
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((p: ScanProgress) => void) | undefined;
  readonly onChanges?: ((c: LibraryChanges) => void) | undefined;
}

/** One folder's share of a watcher batch. */
export interface PathBatch {
  readonly folder: Folder;
  readonly paths: readonly string[];
  readonly removedDirs: readonly string[];
}

type ReadResult =
  | { ok: true; file: TrackFile; meta: TrackMeta; movedFrom: number | null }
  | { ok: false; error: ScanFileError };

function emptyChanges(): LibraryChanges {
  return { added: [], updated: [], moved: [], restored: [], missing: [] };
}

function isUnder(path: string, dirs: readonly string[]): boolean {
  return dirs.some((d) => path === d || path.startsWith(d.endsWith(sep) ? d : d + sep));
}

/** Scans folders and applies watcher batches. One instance per database connection. */
export class Scanner {
  readonly #d: ScannerDeps;
  readonly #inProcess: TrackReader;

  constructor(deps: ScannerDeps) {
    this.#d = deps;
    const readMeta = deps.readMeta ?? readTrackMeta;
    this.#inProcess = { read: (path, sizeBytes, signal) => readOutcome(deps.fs, path, sizeBytes, readMeta, signal) };
  }

  /** Full scan of one folder. Throws FolderError when the folder itself cannot be listed. */
  async scanFolder(folder: Folder, opts: ScanOptions = {}): Promise<ScanSummary> {
    // A folder's first scan reads every file: start the scan threads now, so that they load while the folder
    // is listed (see [Note: Scan threads] in scan-pool.ts). Later scans start them only for enough changed files.
    const early = folder.lastScanAt === null ? (this.#d.openReaders?.(Number.POSITIVE_INFINITY, this.#inProcess) ?? null) : null;
    try {
      return await this.#scanFolder(folder, opts, early);
    } finally {
      await early?.close();
    }
  }

  async #scanFolder(folder: Folder, opts: ScanOptions, early: PooledReader | null): Promise<ScanSummary> {
    const d = this.#d;
    const start = d.now();
    const summary = newSummary(folder);
    const progress = this.#progressReporter(folder, summary, opts);
    progress('listing', null);
    const known = new Map(d.tracks.statsOfFolder(folder.id).map((t) => [t.path, t]));
    // With threads started early, files to read are handed to them as the walk finds them (up to
    // PREFETCH_MAX_FILES), so the threads read while this thread lists; #ingest takes the outcomes from here.
    const prefetched = new Map<string, { sizeBytes: number; outcome: Promise<ReadOutcome> }>();
    const onFile = early
      ? (f: FoundFile): void => {
          const k = known.get(f.path);
          if (prefetched.size >= PREFETCH_MAX_FILES || (k && k.sizeBytes === f.sizeBytes && k.mtimeMs === f.mtimeMs)) return;
          prefetched.set(f.path, { sizeBytes: f.sizeBytes, outcome: early.read(f.path, f.sizeBytes, opts.signal) });
        }
      : undefined;
    let walk;
    try {
      walk = await walkFolder(folder.path, {
        fs: d.fs,
        signal: opts.signal,
        onFound: (n, path) => {
          summary.found = n;
          progress('listing', path, true);
        },
        onFile,
      });
    } catch (e) {
      if (e instanceof ScanCancelledError) return this.#finish(summary, start, progress, true);
      throw e;
    }
    summary.found = walk.files.length;
    const foundPaths = new Set(walk.files.map((f) => f.path));
    const gone = [...known.values()].filter(
      (t) => t.missingSince === null && !foundPaths.has(t.path) && !isUnder(t.path, walk.incompleteDirs),
    );
    const changes = emptyChanges();
    d.db.transaction(() => {
      const now = d.now();
      for (const t of gone) {
        d.tracks.markMissing(t.id, now);
        changes.missing.push(t.id);
      }
      for (const err of walk.errors) this.#recordError(folder.id, err, now);
      for (const skip of walk.skipped) this.#recordError(folder.id, skip, now);
    })();
    summary.skipped = walk.skipped.length;
    summary.missing += gone.length;
    summary.errors += walk.errors.length;
    if (gone.length) opts.onChanges?.(changes);

    const reader: PooledReader | null = early && {
      concurrency: early.concurrency,
      close: () => early.close(),
      read(path, sizeBytes, signal) {
        const hit = prefetched.get(path);
        prefetched.delete(path);
        return hit?.sizeBytes === sizeBytes ? hit.outcome : early.read(path, sizeBytes, signal);
      },
    };
    const cancelled = await this.#ingest(folder, walk.files, known, summary, progress, opts, new Set(gone.map((t) => t.id)), reader);
    if (!cancelled) {
      d.db.transaction(() => {
        d.scanErrors.clearStale(folder.id, start);
        d.folders.markScanned(folder.id, d.now());
      })();
    }
    return this.#finish(summary, start, progress, cancelled);
  }

  /**
   * Applies a watcher batch: per folder, `paths` were added, changed or removed (each is stat'ed to find out
   * which) and `removedDirs` were removed with everything under them. Removals of every folder are written
   * before anything is read, so a file moved from one folder to another keeps its id.
   */
  async applyBatch(groups: readonly PathBatch[], opts: ScanOptions = {}): Promise<ScanSummary[]> {
    const d = this.#d;
    const start = d.now();
    const staged: { folder: Folder; summary: ScanSummary; found: FoundFile[]; known: Map<string, TrackStat> }[] = [];
    const gone: TrackStat[] = [];
    const vanished: string[] = [];
    const fileErrors: { folderId: number; error: ScanFileError }[] = [];
    for (const g of groups) {
      const summary = newSummary(g.folder);
      const found: FoundFile[] = [];
      const known = new Map<string, TrackStat>();
      const candidates = new Set(g.paths);
      for (const dir of g.removedDirs) for (const t of d.tracks.statsUnder(dir, sep)) candidates.add(t.path);
      for (const path of candidates) {
        const stored = d.tracks.statByPath(path);
        if (stored) known.set(path, stored);
        try {
          const st = await d.fs.stat(path);
          if (st.isFile() && hasAudioExtension(path)) found.push({ path, sizeBytes: st.size, mtimeMs: Math.trunc(st.mtimeMs) });
          else if (st.isFile() && skippedAudioReason(path)) {
            fileErrors.push({ folderId: g.folder.id, error: new ScanFileError(path, 'unsupported', `"${path}" was skipped: ${skippedAudioReason(path)}`) });
            summary.skipped++;
          }
        } catch (e) {
          const code = (e as NodeJS.ErrnoException | undefined)?.code;
          if (code === 'ENOENT' || code === 'ENOTDIR') {
            vanished.push(path);
            if (stored && stored.missingSince === null) {
              gone.push(stored);
              summary.missing++;
            }
          } else {
            fileErrors.push({ folderId: g.folder.id, error: describeFsError(path, e) });
            summary.errors++;
          }
        }
      }
      summary.found = found.length;
      staged.push({ folder: g.folder, summary, found, known });
    }
    const changes = emptyChanges();
    d.db.transaction(() => {
      const now = d.now();
      for (const t of gone) {
        d.tracks.markMissing(t.id, now);
        changes.missing.push(t.id);
      }
      for (const p of vanished) d.scanErrors.clear(p);
      for (const e of fileErrors) this.#recordError(e.folderId, e.error, now);
    })();
    if (gone.length) opts.onChanges?.(changes);
    const goneIds = new Set(gone.map((t) => t.id));
    const out: ScanSummary[] = [];
    for (const s of staged) {
      const progress = this.#progressReporter(s.folder, s.summary, opts);
      const cancelled = await this.#ingest(s.folder, s.found, s.known, s.summary, progress, opts, goneIds);
      out.push(this.#finish(s.summary, start, progress, cancelled));
      if (cancelled) break;
    }
    return out;
  }

  /** Steps 2 and 4 of [Note: Scan pipeline]. Returns true when cancelled. */
  async #ingest(
    folder: Folder,
    files: readonly FoundFile[],
    known: ReadonlyMap<string, TrackStat>,
    summary: ScanSummary,
    progress: ProgressFn,
    opts: ScanOptions,
    goneIds: ReadonlySet<number>,
    early: PooledReader | null = null,
  ): Promise<boolean> {
    const d = this.#d;
    const toRead: FoundFile[] = [];
    const restore: { stat: TrackStat; file: FoundFile }[] = [];
    for (const f of files) {
      const k = known.get(f.path);
      if (k && k.sizeBytes === f.sizeBytes && k.mtimeMs === f.mtimeMs) {
        if (k.missingSince === null) summary.unchanged++;
        else restore.push({ stat: k, file: f });
      } else {
        toRead.push(f);
      }
    }
    if (restore.length) {
      const changes = emptyChanges();
      d.db.transaction(() => {
        for (const r of restore) {
          d.tracks.clearMissing(r.stat.id, folder.id, r.file.sizeBytes, r.file.mtimeMs);
          changes.restored.push(r.stat.id);
        }
      })();
      summary.restored += restore.length;
      opts.onChanges?.(changes);
    }

    let done = 0;
    const pending: ReadResult[] = [];
    const flush = (): void => {
      if (!pending.length) return;
      const batch = pending.splice(0);
      const changes = emptyChanges();
      d.db.transaction(() => {
        const now = d.now();
        for (const r of batch) this.#store(folder, r, now, summary, changes, goneIds);
      })();
      opts.onChanges?.(changes);
    };

    progress('reading', null, false, toRead.length, 0);
    let next = 0;
    let cancelled = false;
    const pool = early ?? (toRead.length ? (d.openReaders?.(toRead.length, this.#inProcess) ?? null) : null);
    const reader = pool ?? this.#inProcess;
    const worker = async (): Promise<void> => {
      while (next < toRead.length) {
        if (opts.signal?.aborted) {
          cancelled = true;
          return;
        }
        const f = toRead[next++]!;
        const result = await this.#readFile(reader, f, opts.signal);
        // Read after the abort (scan threads keep dozens of reads asked for): left to the next scan, so that a
        // cancel takes effect at once whatever the number in flight.
        if (opts.signal?.aborted) {
          cancelled = true;
          return;
        }
        pending.push(result);
        done++;
        if (pending.length >= d.batchSize) flush();
        progress('reading', f.path, true, toRead.length, done);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, d.concurrency, pool?.concurrency ?? 0) }, worker));
    } finally {
      await pool?.close();
    }
    flush();
    return cancelled || (opts.signal?.aborted ?? false);
  }

  /** Reads one file; never throws. */
  async #readFile(reader: TrackReader, f: FoundFile, signal: AbortSignal | undefined, attempt = 0): Promise<ReadResult> {
    const r = await reader.read(f.path, f.sizeBytes, signal);
    if (!r.ok) return { ok: false, error: new ScanFileError(r.error.path, r.error.code, r.error.message) };
    // [Note: Files changing during a scan] The reader stats the file after reading it: if it changed, what was
    // read may mix two versions. Read it again once; a file still being written is reported and picked up later.
    if (r.after.sizeBytes !== f.sizeBytes || r.after.mtimeMs !== f.mtimeMs) {
      const again = { path: f.path, sizeBytes: r.after.sizeBytes, mtimeMs: r.after.mtimeMs };
      if (attempt < 1) return this.#readFile(reader, again, signal, attempt + 1);
      return { ok: false, error: new ScanFileError(f.path, 'changed', `"${f.path}" kept changing while it was read; it will be read again when it settles`) };
    }
    return {
      ok: true,
      file: { path: f.path, folderId: null, sizeBytes: f.sizeBytes, mtimeMs: f.mtimeMs, fingerprint: r.fingerprint },
      meta: r.meta,
      movedFrom: await this.#findUnnoticedMove(r.fingerprint, f.path),
    };
  }

  /**
   * A present track with the same fingerprint whose file is gone: the file moved and the removal has not been
   * seen yet (watchers may report the add before the unlink). Copies are told apart by their source still
   * existing.
   */
  async #findUnnoticedMove(fingerprint: string, path: string): Promise<number | null> {
    for (const t of this.#d.tracks.presentByFingerprint(fingerprint, path)) {
      try {
        await this.#d.fs.stat(t.path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException | undefined)?.code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return t.id;
      }
    }
    return null;
  }

  #store(folder: Folder, r: ReadResult, now: number, summary: ScanSummary, changes: LibraryChanges, goneIds: ReadonlySet<number>): void {
    const d = this.#d;
    if (!r.ok) {
      this.#recordError(folder.id, r.error, now);
      summary.errors++;
      return;
    }
    const file = { ...r.file, folderId: folder.id };
    const atPath = d.tracks.statByPath(file.path);
    if (atPath) {
      d.tracks.update(atPath.id, file, r.meta, now);
      summary.updated++;
      changes.updated.push(atPath.id);
    } else {
      const unnoticed = r.movedFrom !== null ? d.tracks.getById(r.movedFrom) : undefined;
      const moved = (unnoticed && unnoticed.missingSince === null ? unnoticed : undefined) ?? d.tracks.missingByFingerprint(file.fingerprint)[0];
      if (moved) {
        d.tracks.update(moved.id, file, r.meta, now);
        summary.moved++;
        // Marked missing earlier in this same scan or batch: it moved, it is not missing.
        if (goneIds.has(moved.id)) summary.missing--;
        changes.moved.push(moved.id);
      } else {
        changes.added.push(d.tracks.insert(file, r.meta, now));
        summary.added++;
      }
    }
    d.scanErrors.clear(file.path);
  }

  #recordError(folderId: number, err: ScanFileError, now: number): void {
    this.#d.scanErrors.record({ folderId, path: err.path, code: err.code, message: err.message, at: now });
  }

  #progressReporter(folder: Folder, summary: ScanSummary, opts: ScanOptions): ProgressFn {
    let toRead = 0;
    let done = 0;
    return (phase, currentPath, _tick = false, total?: number, doneNow?: number) => {
      if (total !== undefined) toRead = total;
      if (doneNow !== undefined) done = doneNow;
      opts.onProgress?.({
        folderId: folder.id,
        folderPath: folder.path,
        phase,
        found: summary.found,
        toRead,
        done,
        errors: summary.errors,
        currentPath,
      });
    };
  }

  #finish(summary: ScanSummary, start: number, progress: ProgressFn, cancelled: boolean): ScanSummary {
    summary.cancelled = cancelled;
    summary.durationMs = this.#d.now() - start;
    progress(cancelled ? 'cancelled' : 'done', null);
    return summary;
  }
}

type ProgressFn = (
  phase: ScanProgress['phase'],
  currentPath: string | null,
  tick?: boolean,
  total?: number,
  done?: number,
) => void;

function newSummary(folder: Folder): ScanSummary {
  return {
    folderId: folder.id,
    folderPath: folder.path,
    found: 0,
    unchanged: 0,
    added: 0,
    updated: 0,
    moved: 0,
    restored: 0,
    missing: 0,
    errors: 0,
    skipped: 0,
    durationMs: 0,
    cancelled: false,
  };
}
