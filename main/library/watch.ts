/**
 * @file Watches the library folders and hands over debounced batches of changed paths. Main process and the
 * CLI's `watch` command.
 *
 * [Note: Batched watching]
 * A copy of an album, a tag editor saving 300 files or a `git checkout` produce bursts of events. We collect
 * paths until no event has arrived for `debounceMs` (or `maxWaitMs` passed since the first one, so a long copy
 * still shows progress) and hand the batch over at once; the scanner stats each path to learn what it is now,
 * so the order and kind of events inside a batch do not matter (an unlink then add of one path is a change).
 * A rename is an unlink and an add: the scanner marks the old path missing before reading the new one, so the
 * fingerprint matches and the track keeps its id, in one batch or across two.
 *
 * [Note: One watch per real folder]
 * The watcher keeps one native watch (inotify, FSEvents, ReadDirectoryChangesW through fs.watch) per folder and
 * nothing per file, so its memory grows with the number of folders, not files: a million files in ten thousand
 * folders cost ten thousand small handles. (chokidar, used before, kept every file name in memory and followed
 * symbolic links without noticing loops: `ln -s .. sub/back` sent it round forever, growing without bound and
 * deaf to Ctrl-C.) Folders are identified by device + inode before they are watched, as the scanner's walk does
 * ([Note: Symlink loops] in walk.ts): a link to an ancestor, or a second link to a folder, is watched once.
 * A folder that appears (created, or moved in from elsewhere in the tree or outside it) is watched at once and
 * every audio file in it is put in the batch, so a moved folder's files find their old rows by fingerprint and
 * keep their ids and captions; a watched folder that disappears is reported in `removedDirs` (everything stored
 * under it is re-checked). Removals of a batch are applied before additions, so a folder moved as a whole
 * frees its device + inode before its new path claims it.
 * Polling (network shares, where native events do not arrive) uses chokidar without following links.
 */
import { watch as fsWatch, type FSWatcher as NodeWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { watch as chokidarWatch, type FSWatcher } from 'chokidar';
import { hasAudioExtension, isIgnoredName, skippedAudioReason } from './formats';

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

/** Files a batch carries: audio the library reads, and audio it skips (recorded with the reason). */
function isReported(name: string): boolean {
  return hasAudioExtension(name) || skippedAudioReason(name) !== null;
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** Folders listed at once while setting up watches. */
const DIR_CONCURRENCY = 4;

/** Watches folder trees and reports debounced {@link WatchBatch}es. */
export class LibraryWatcher {
  readonly #onBatch: (b: WatchBatch) => void;
  readonly #onError: (e: Error) => void;
  readonly #debounceMs: number;
  readonly #maxWaitMs: number;
  readonly #opts: WatchOptions;
  readonly #roots = new Set<string>();
  /** Watched folders by path, with their device + inode. */
  readonly #dirs = new Map<string, { watcher: NodeWatcher; key: string }>();
  /** Device + inode of every watched folder → its path. */
  readonly #keys = new Map<string, string>();
  #poller: FSWatcher | undefined;
  #paths = new Set<string>();
  #polledDirs = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #firstEventAt = 0;
  #closed = false;
  #limitReported = false;
  /** Old paths of watched folders found under a new path while preparing a batch. */
  readonly #movedAway = new Set<string>();
  /** Batches are prepared one after the other (preparing one may set up watches). */
  #flushing: Promise<void> = Promise.resolve();

  constructor(onBatch: (b: WatchBatch) => void, onError: (e: Error) => void, opts: WatchOptions = {}) {
    this.#onBatch = onBatch;
    this.#onError = onError;
    this.#debounceMs = opts.debounceMs ?? 500;
    this.#maxWaitMs = opts.maxWaitMs ?? 5000;
    this.#opts = opts;
  }

  /** The number of folders with a native watch (for the bench and tests). */
  get watchedFolders(): number {
    return this.#dirs.size;
  }

  /** Starts watching `roots` (or adds them to a running watcher). Resolves once every folder is watched. */
  async add(roots: readonly string[]): Promise<void> {
    if (!roots.length || this.#closed) return;
    for (const r of roots) this.#roots.add(r);
    if (this.#opts.usePolling) return this.#addPolled(roots);
    for (const r of roots) await this.#watchTree(r, null);
  }

  /** Stops watching `roots`. */
  async remove(roots: readonly string[]): Promise<void> {
    for (const r of roots) {
      this.#roots.delete(r);
      this.#unwatchUnder(r);
    }
    await this.#poller?.unwatch([...roots]);
  }

  /** Stops watching (also a set-up still in progress) and drops pending events: the next startup rescan sees them. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#paths.clear();
    this.#polledDirs.clear();
    for (const d of this.#dirs.values()) d.watcher.close();
    this.#dirs.clear();
    this.#keys.clear();
    const p = this.#poller;
    this.#poller = undefined;
    await p?.close();
    await this.#flushing.catch(() => undefined);
  }

  /** Hands over the pending batch now (tests, shutdown). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#paths.size && !this.#polledDirs.size) return;
    const paths = [...this.#paths];
    const polledDirs = [...this.#polledDirs];
    this.#paths.clear();
    this.#polledDirs.clear();
    this.#flushing = this.#flushing
      .then(() => this.#prepare(paths, polledDirs))
      .then((batch) => {
        if (batch && (batch.paths.length || batch.removedDirs.length)) this.#onBatch(batch);
      })
      .catch((e: unknown) => this.#onError(e instanceof Error ? e : new Error(String(e))));
  }

  /** Turns the changed paths into a batch: new folders are watched and their files listed; gone ones reported. */
  async #prepare(changed: readonly string[], polledDirs: readonly string[]): Promise<WatchBatch | null> {
    const paths = new Set<string>();
    const removedDirs = new Set<string>(polledDirs);
    this.#movedAway.clear();
    const present: { path: string; isDir: boolean; key: string }[] = [];
    for (const p of changed) {
      if (this.#closed) return null;
      try {
        const st = await stat(p);
        present.push({ path: p, isDir: st.isDirectory(), key: `${st.dev}:${st.ino}` });
        if (st.isFile() && isReported(p)) paths.add(p);
      } catch {
        // Gone (or a dangling link, or a link loop): a watched folder is removed with what is under it; a file
        // is re-checked by the scanner, which marks it missing.
        if (this.#dirs.has(p)) {
          removedDirs.add(p);
          this.#unwatchUnder(p);
        } else if (isReported(p)) {
          paths.add(p);
        }
      }
    }
    for (const { path, isDir, key } of present) {
      // Polling: chokidar reports the files of a new folder itself.
      if (!isDir || this.#closed || this.#opts.usePolling) continue;
      const watched = this.#dirs.get(path);
      if (watched && watched.key === key) continue; // an event on the folder itself: its entries report their own
      if (watched) {
        // Another folder now has this path (moved over it): what was stored under it is re-checked.
        removedDirs.add(path);
        this.#unwatchUnder(path);
      }
      const files: string[] = [];
      await this.#watchTree(path, files);
      for (const f of files) paths.add(f);
    }
    for (const d of this.#movedAway) removedDirs.add(d);
    this.#movedAway.clear();
    return { paths: [...paths], removedDirs: [...removedDirs] };
  }

  /**
   * Watches `root` and every folder under it not watched yet (by device + inode); with `files`, also lists the
   * audio files found (a folder that appeared while watching).
   */
  async #watchTree(root: string, files: string[] | null): Promise<void> {
    const queue: string[] = [root];
    const running = new Set<Promise<void>>();
    const visit = async (dir: string): Promise<void> => {
      let key: string;
      try {
        const st = await stat(dir);
        if (!st.isDirectory()) return;
        key = `${st.dev}:${st.ino}`;
      } catch {
        return; // vanished, a dangling link or a link loop (ELOOP): nothing to watch
      }
      if (this.#closed || this.#dirs.has(dir)) return;
      const other = this.#keys.get(key);
      if (other !== undefined) {
        // The same folder under another path: a loop or a second link (skip), or the folder moved and the
        // event of its old path is still to come (watch it here; the scanner re-checks the old path).
        const then = await stat(other).catch(() => null);
        if (then && `${then.dev}:${then.ino}` === key) return;
        this.#unwatchUnder(other);
        this.#movedAway.add(other);
      }
      // Watch before listing, so nothing created in between is missed.
      if (!this.#watchDir(dir, key)) return;
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return; // unreadable: the scan reports it
      }
      for (const ent of entries) {
        if (isIgnoredName(ent.name)) continue;
        const path = join(dir, ent.name);
        if (ent.isDirectory() || ent.isSymbolicLink()) queue.push(path);
        else if (files && ent.isFile() && isReported(ent.name)) files.push(path);
      }
      // A link may point at a file: visit() skips non-folders, so list linked audio files here.
      if (files) {
        for (const ent of entries) {
          if (!ent.isSymbolicLink() || !hasAudioExtension(ent.name)) continue;
          const path = join(dir, ent.name);
          const st = await stat(path).catch(() => null);
          if (st?.isFile()) files.push(path);
        }
      }
    };
    while ((queue.length || running.size) && !this.#closed) {
      while (queue.length && running.size < DIR_CONCURRENCY) {
        const dir = queue.shift()!;
        const p: Promise<void> = visit(dir).finally(() => running.delete(p));
        running.add(p);
      }
      if (running.size) await Promise.race(running);
    }
    await Promise.all(running);
  }

  /** Starts the native watch of one folder; false when the system refuses (reported once). */
  #watchDir(dir: string, key: string): boolean {
    let watcher: NodeWatcher;
    try {
      watcher = fsWatch(dir, { persistent: true }, (_event, name) => {
        if (name === null) this.#push(dir);
        else if (!isIgnoredName(String(name))) this.#push(join(dir, String(name)));
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!this.#limitReported && (code === 'ENOSPC' || code === 'EMFILE')) {
        this.#limitReported = true;
        this.#onError(
          new Error(
            `Cannot watch more folders (${code}: the system's limit of file watches is reached at ${this.#dirs.size} folders). ` +
              `Changes under ${dir} and folders after it are picked up by the next scan; on Linux, raise fs.inotify.max_user_watches.`,
          ),
        );
      }
      return false;
    }
    // A watched folder that is deleted or unmounted errors on some systems: its parent reports the removal.
    watcher.on('error', () => this.#unwatch(dir));
    this.#dirs.set(dir, { watcher, key });
    this.#keys.set(key, dir);
    return true;
  }

  #unwatch(dir: string): void {
    const d = this.#dirs.get(dir);
    if (!d) return;
    d.watcher.close();
    this.#dirs.delete(dir);
    if (this.#keys.get(d.key) === dir) this.#keys.delete(d.key);
  }

  #unwatchUnder(dir: string): void {
    for (const p of [...this.#dirs.keys()]) if (isUnder(p, dir)) this.#unwatch(p);
  }

  async #addPolled(roots: readonly string[]): Promise<void> {
    if (this.#poller) {
      this.#poller.add([...roots]);
      return;
    }
    const w = chokidarWatch([...roots], {
      ignoreInitial: true,
      followSymlinks: false, // chokidar cannot tell a link loop; see [Note: One watch per real folder]
      ignorePermissionErrors: true,
      atomic: false,
      usePolling: true,
      interval: this.#opts.pollIntervalMs ?? 1000,
      ignored: (path, stats) => !this.#roots.has(path) && isIgnoredWatchPath(path, stats?.isFile()),
    });
    this.#poller = w;
    w.on('add', (p) => this.#push(p));
    w.on('change', (p) => this.#push(p));
    w.on('unlink', (p) => this.#push(p));
    w.on('unlinkDir', (p) => {
      this.#polledDirs.add(p);
      this.#push(p);
    });
    w.on('error', (e) => this.#onError(e instanceof Error ? e : new Error(String(e))));
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
  }

  #push(path: string): void {
    if (this.#closed) return;
    this.#paths.add(path);
    const now = Date.now();
    if (!this.#timer) this.#firstEventAt = now;
    if (this.#timer) clearTimeout(this.#timer);
    const wait = Math.max(0, Math.min(this.#debounceMs, this.#firstEventAt + this.#maxWaitMs - now));
    this.#timer = setTimeout(() => this.flush(), wait);
  }
}
