/**
 * @file Recursive listing of the audio files under a folder: skips hidden and system entries, follows
 * symbolic links without looping, and reports unreadable folders instead of failing. Main process, CLI, tests.
 */
import { join } from 'node:path';
import { describeFsError, FolderError, ScanCancelledError, ScanFileError } from './errors';
import { hasAudioExtension, isIgnoredName, skippedAudioReason } from './formats';
import type { LibraryFs } from './fs';

/** An audio file found on disk. */
export interface FoundFile {
  readonly path: string;
  readonly sizeBytes: number;
  readonly mtimeMs: number;
}

/** What a walk found. */
export interface WalkResult {
  readonly files: FoundFile[];
  /** Entries that could not be listed or stat'ed. */
  readonly errors: ScanFileError[];
  /**
   * Folders whose listing failed: what was stored under them must not be marked missing, because we could
   * not look (a permission change, a flaky network share).
   */
  readonly incompleteDirs: string[];
  /** Audio files in formats the library cannot read (code 'unsupported'): counted and listed, not read. */
  readonly skipped: ScanFileError[];
}

/** Options for {@link walkFolder}. */
export interface WalkOptions {
  readonly fs: LibraryFs;
  readonly signal?: AbortSignal | undefined;
  /** Called as files are found (for progress). */
  readonly onFound?: ((count: number, path: string) => void) | undefined;
  /** Called with each audio file as it is found (the scanner starts reading before the walk is over). */
  readonly onFile?: ((file: FoundFile) => void) | undefined;
}

const STAT_CHUNK = 64;
const DIR_CONCURRENCY = 4;

/**
 * Lists every audio file under `root` (absolute). Throws {@link FolderError} when `root` itself cannot be
 * listed and {@link ScanCancelledError} when `signal` fires.
 *
 * [Note: Symlink loops]
 * Symlinked folders are followed (music libraries are often assembled from links), and every folder is
 * identified by device + inode before it is entered, so a link to an ancestor, or two links to one folder, are
 * walked once. Paths are reported as found (through the link), not resolved, so the user sees their own paths.
 */
export async function walkFolder(root: string, opts: WalkOptions): Promise<WalkResult> {
  const { fs, signal } = opts;
  const files: FoundFile[] = [];
  const errors: ScanFileError[] = [];
  const incompleteDirs: string[] = [];
  const skipped: ScanFileError[] = [];
  const skip = (path: string, name: string): boolean => {
    const reason = skippedAudioReason(name);
    if (reason) skipped.push(new ScanFileError(path, 'unsupported', `"${path}" was skipped: ${reason}`));
    return reason !== null;
  };
  const seenDirs = new Set<string>();

  let rootStat;
  try {
    rootStat = await fs.stat(root);
  } catch (e) {
    throw new FolderError(root, `Cannot open folder "${root}": ${describeFsError(root, e).message}`);
  }
  if (!rootStat.isDirectory()) throw new FolderError(root, `"${root}" is not a folder`);
  seenDirs.add(`${rootStat.dev}:${rootStat.ino}`);

  const queue: string[] = [root];
  async function listDir(dir: string): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(dir);
    } catch (e) {
      if (dir === root) throw new FolderError(root, `Cannot list folder "${root}": ${describeFsError(root, e).message}`);
      errors.push(describeFsError(dir, e));
      incompleteDirs.push(dir);
      return;
    }
    const candidates: { path: string; isLink: boolean }[] = [];
    for (const ent of entries) {
      const name = ent.name;
      if (isIgnoredName(name)) continue;
      const path = join(dir, name);
      if (ent.isDirectory()) {
        candidates.push({ path, isLink: false });
      } else if (ent.isSymbolicLink()) {
        candidates.push({ path, isLink: true });
      } else if (ent.isFile() && hasAudioExtension(name)) {
        candidates.push({ path, isLink: false });
      } else if (ent.isFile()) {
        skip(path, name);
      }
    }
    for (let i = 0; i < candidates.length; i += STAT_CHUNK) {
      if (signal?.aborted) return; // the main loop throws; throwing here would leave rejections unhandled
      const chunk = candidates.slice(i, i + STAT_CHUNK);
      const stats = await Promise.allSettled(chunk.map((c) => fs.stat(c.path)));
      stats.forEach((s, j) => {
        const c = chunk[j]!;
        if (s.status === 'rejected') {
          const code = (s.reason as NodeJS.ErrnoException | undefined)?.code;
          // Vanished since the listing, or a dangling link: nothing to index, nothing to report.
          if (code === 'ENOENT' || code === 'ENOTDIR') return;
          if (c.isLink || hasAudioExtension(c.path)) errors.push(describeFsError(c.path, s.reason));
          if (!hasAudioExtension(c.path)) incompleteDirs.push(c.path);
          return;
        }
        const st = s.value;
        if (st.isDirectory()) {
          const key = `${st.dev}:${st.ino}`;
          if (seenDirs.has(key)) return; // a loop or a second link to a folder already walked
          seenDirs.add(key);
          queue.push(c.path);
        } else if (st.isFile() && hasAudioExtension(c.path)) {
          const file = { path: c.path, sizeBytes: st.size, mtimeMs: Math.trunc(st.mtimeMs) };
          files.push(file);
          opts.onFound?.(files.length, c.path);
          opts.onFile?.(file);
        } else if (st.isFile() && c.isLink) {
          skip(c.path, c.path);
        }
      });
    }
  }

  // A small pool of folder listings in flight keeps the disk queue busy without opening thousands of handles.
  const running = new Set<Promise<void>>();
  while (queue.length || running.size) {
    if (signal?.aborted) throw new ScanCancelledError();
    while (queue.length && running.size < DIR_CONCURRENCY) {
      const dir = queue.shift()!;
      const p: Promise<void> = listDir(dir).finally(() => running.delete(p));
      running.add(p);
    }
    if (running.size) await Promise.race(running);
  }
  if (signal?.aborted) throw new ScanCancelledError();
  return { files, errors, incompleteDirs, skipped };
}
