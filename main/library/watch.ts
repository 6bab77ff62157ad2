/**
 * @file Watches the library folders with chokidar and hands over debounced batches of changed paths. Main
 * process and the CLI's `watch` command.
 *
 * [Note: Batched watching]
 * A copy of an album, a tag editor saving 300 files or a `git checkout` produce bursts of events. We collect
 * paths until no event has arrived for `debounceMs` (or `maxWaitMs` passed since the first one, so a long copy
 * still shows progress) and hand the batch over at once; the scanner stats each path to learn what it is now,
 * so the order and kind of events inside a batch do not matter (an unlink then add of one path is a change).
 * A rename is an unlink and an add: the scanner marks the old path missing before reading the new one, so the
 * fingerprint matches and the track keeps its id, in one batch or across two.
 */
import { sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { hasAudioExtension, isIgnoredName } from './formats';

/** A batch of changes: paths to re-check, and folders that were removed with everything under them. */
export interface WatchBatch {
  readonly paths: string[];
  readonly removedDirs: string[];
}

/** Options for {@link LibraryWatcher}. */
export interface WatchOptions {
  /** Quiet time that ends a batch. Default 500 ms. */
  readonly debounceMs?: number;
  /** Longest a batch waits while events keep coming. Default 5 s. */
  readonly maxWaitMs?: number;
  /** Poll instead of native events (network shares). Default false. */
  readonly usePolling?: boolean;
  /** Polling interval when polling. Default 1 s. */
  readonly pollIntervalMs?: number;
}

/** Skips hidden/system entries anywhere below a root, and non-audio files. Exported for tests. */
export function isIgnoredWatchPath(path: string, isFile: boolean | undefined): boolean {
  const name = path.slice(path.lastIndexOf(sep) + 1);
  if (isIgnoredName(name)) return true;
  return isFile === true && !hasAudioExtension(name);
}

/** A chokidar watcher that reports debounced {@link WatchBatch}es. */
export class LibraryWatcher {
  readonly #onBatch: (b: WatchBatch) => void;
  readonly #onError: (e: Error) => void;
  readonly #debounceMs: number;
  readonly #maxWaitMs: number;
  readonly #opts: WatchOptions;
  #watcher: FSWatcher | undefined;
  readonly #roots = new Set<string>();
  #paths = new Set<string>();
  #dirs = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #firstEventAt = 0;

  constructor(onBatch: (b: WatchBatch) => void, onError: (e: Error) => void, opts: WatchOptions = {}) {
    this.#onBatch = onBatch;
    this.#onError = onError;
    this.#debounceMs = opts.debounceMs ?? 500;
    this.#maxWaitMs = opts.maxWaitMs ?? 5000;
    this.#opts = opts;
  }

  /** Starts watching `roots` (or adds them to a running watcher). Resolves once the initial listing is done. */
  async add(roots: readonly string[]): Promise<void> {
    if (!roots.length) return;
    for (const r of roots) this.#roots.add(r);
    if (this.#watcher) {
      const w = this.#watcher;
      const ready = new Promise<void>((resolve) => setTimeout(resolve, 0));
      w.add([...roots]);
      return ready;
    }
    const w = watch([...roots], {
      ignoreInitial: true,
      followSymlinks: true,
      ignorePermissionErrors: true,
      // Our batches stat every path, so an editor's delete-and-recreate already reads as a change; chokidar's
      // atomic mode would only delay unlink events by 100 ms.
      atomic: false,
      usePolling: this.#opts.usePolling ?? false,
      interval: this.#opts.pollIntervalMs ?? 1000,
      // A library folder may itself have a hidden name (~/.music): only what is below a root is filtered.
      ignored: (path, stats) => !this.#roots.has(path) && isIgnoredWatchPath(path, stats?.isFile()),
    });
    this.#watcher = w;
    w.on('add', (p) => this.#push(p, false));
    w.on('change', (p) => this.#push(p, false));
    w.on('unlink', (p) => this.#push(p, false));
    w.on('unlinkDir', (p) => this.#push(p, true));
    w.on('error', (e) => this.#onError(e instanceof Error ? e : new Error(String(e))));
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
  }

  /** Stops watching `roots`. */
  async remove(roots: readonly string[]): Promise<void> {
    for (const r of roots) this.#roots.delete(r);
    await this.#watcher?.unwatch([...roots]);
  }

  /** Stops watching and flushes nothing: pending events are dropped (the next startup rescan sees them). */
  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#paths.clear();
    this.#dirs.clear();
    const w = this.#watcher;
    this.#watcher = undefined;
    await w?.close();
  }

  /** Hands over the pending batch now (tests, shutdown). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#paths.size && !this.#dirs.size) return;
    const batch = { paths: [...this.#paths], removedDirs: [...this.#dirs] };
    this.#paths.clear();
    this.#dirs.clear();
    this.#onBatch(batch);
  }

  #push(path: string, isDir: boolean): void {
    if (isDir) this.#dirs.add(path);
    else this.#paths.add(path);
    const now = Date.now();
    if (!this.#timer) this.#firstEventAt = now;
    if (this.#timer) clearTimeout(this.#timer);
    const wait = Math.max(0, Math.min(this.#debounceMs, this.#firstEventAt + this.#maxWaitMs - now));
    this.#timer = setTimeout(() => this.flush(), wait);
  }
}
