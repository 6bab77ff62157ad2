/**
 * @file Which paths may become library folders: the one place that decides (plain Node; the CLI's `folders add`,
 * `scan` and `watch`, and the app's `folders:add` all ask it). Existence and readability are checked later, by
 * LibraryService.addFolder, against the file system.
 *
 * [Note: Library folder paths]
 * - `~` and `~/…` are the user's home folder (a shell expands them, but not in a quoted argument, and never in
 *   the app's path field).
 * - A relative path typed on the command line means "from here" (the shell's working directory). From the app a
 *   relative path means nothing (main's working directory is wherever the app was started), so it is refused.
 * - The filesystem root (`/`, `C:\`) is refused: it would absorb every other folder and scan the whole disk.
 * - The data folder and anything inside it are refused: the library would index its own models and database.
 */
import { homedir } from 'node:os';
import nodePath from 'node:path';
import { FolderError } from './errors';

/** Where a path came from: typed on the command line, or sent by the app's renderer. */
export type FolderPathOrigin = 'cli' | 'renderer';

/** What {@link checkFolderPath} needs to know besides the path. */
export interface FolderPathContext {
  readonly origin: FolderPathOrigin;
  /** The app's data folder (database, models). */
  readonly dataDir: string;
  /** Base of relative CLI paths; default process.cwd(). */
  readonly cwd?: string;
  /** For `~`; default os.homedir(). */
  readonly home?: string;
  /** Default: the platform's own path module (tests pass path.win32). */
  readonly pathApi?: nodePath.PlatformPath;
}

/** Expands a leading `~` (alone, or before a separator) to `home`. `~user` is left as it is. */
export function expandHome(raw: string, home: string, pathApi: nodePath.PlatformPath = nodePath): string {
  if (raw === '~') return home;
  if (raw.startsWith('~/') || (pathApi.sep === '\\' && raw.startsWith('~\\'))) return pathApi.join(home, raw.slice(2));
  return raw;
}

/** True when `child` is `parent` or inside it (whole path segments, case-insensitive on Windows). */
function isInside(child: string, parent: string, pathApi: nodePath.PlatformPath): boolean {
  const rel = pathApi.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !pathApi.isAbsolute(rel));
}

/**
 * The absolute, normalised folder path for `raw`, or a {@link FolderError} saying why it cannot be a library
 * folder. See [Note: Library folder paths].
 */
export function checkFolderPath(raw: string, ctx: FolderPathContext): string {
  const p = ctx.pathApi ?? nodePath;
  const trimmed = raw.trim();
  if (trimmed === '') throw new FolderError(raw, 'The folder path is empty');
  if (trimmed.includes('\0')) throw new FolderError(raw, `"${raw}" is not a valid folder path`);
  const expanded = expandHome(trimmed, ctx.home ?? homedir(), p);
  if (!p.isAbsolute(expanded)) {
    if (ctx.origin === 'renderer') throw new FolderError(raw, `"${raw}" is not a full path: choose the folder with "Choose folder…" or type a path that starts at the top of the disk`);
  }
  const abs = p.resolve(ctx.cwd ?? process.cwd(), expanded);
  if (p.parse(abs).root === abs || p.dirname(abs) === abs) {
    throw new FolderError(abs, `"${abs}" is the top of the disk: add the folders that hold your music instead`);
  }
  const data = p.resolve(ctx.dataDir);
  if (isInside(abs, data, p)) {
    throw new FolderError(abs, `"${abs}" is inside MusiLingo's own data folder (${data}): add a folder that holds your music`);
  }
  return abs;
}
