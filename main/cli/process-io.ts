/**
 * @file How the CLI meets its process: a reader that goes away (EPIPE) and the --db folder check. Plain Node.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Makes a closed reader (`musilingo list | head -1`) end the process quietly with status 0, as Unix tools do on
 * SIGPIPE. [Note: EPIPE is an 'error' event] Node ignores SIGPIPE, so a write to a closed pipe surfaces as an
 * asynchronous 'error' on the stream; without a listener it becomes an uncaught exception and exit 1.
 */
export function exitQuietlyOnBrokenPipe(streams: readonly NodeJS.WritableStream[], exit: (code: number) => never = (c) => process.exit(c)): void {
  for (const s of streams) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') exit(0);
      throw e;
    });
  }
}

/**
 * Why `--db <path>` cannot be used, or undefined when it can. A database is only ever created inside an existing
 * folder, because a mistyped path should not silently start an empty library somewhere new; the app's own data
 * folder is the exception (it is created on first use).
 */
export function dbPathProblem(dbPath: string, dataDir: string): string | undefined {
  if (dbPath === ':memory:') return undefined;
  const dir = dirname(resolve(dbPath));
  if (dir === resolve(dataDir)) return undefined;
  if (!existsSync(dir)) return `the folder of --db "${dbPath}" does not exist: ${dir} (create it first)`;
  if (!statSync(dir).isDirectory()) return `the folder of --db "${dbPath}" is not a folder: ${dir}`;
  return undefined;
}
