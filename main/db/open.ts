/**
 * @file Opens the library database: WAL, foreign keys, busy timeout, migrations. Main, CLI and tests.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { DbFromFutureError, migrate } from './migrate';
import { MIGRATIONS } from './migrations';

/** Options for {@link openDatabase}. */
export interface OpenOptions {
  /** Open without writing (worker processes). Skips migrations; the writer owns the schema. */
  readonly readonly?: boolean;
}

/**
 * [Note: Refuse a future database before touching it]
 * Switching to WAL rewrites the file header (and creates -wal/-shm files), so a database from a newer app must be
 * recognised before any writable handle exists: its version is read through a read-only handle that is closed
 * again, and only then is the file opened for writing.
 */
function assertNotFromFuture(path: string): void {
  if (path === ':memory:' || !existsSync(path)) return;
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  const probe = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const current = probe.pragma('user_version', { simple: true }) as number;
    if (current > latest) throw new DbFromFutureError(current, latest);
  } finally {
    probe.close();
  }
}

/** Opens (creating if needed) and migrates the database at `path`; ':memory:' for tests. */
export function openDatabase(path: string, opts: OpenOptions = {}): Database.Database {
  if (!opts.readonly) assertNotFromFuture(path);
  if (path !== ':memory:' && !opts.readonly) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  try {
    // Pragmas that cannot run inside a transaction come first.
    if (!opts.readonly) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // A 64 MiB page cache (the default is 2 MiB): at 1,000,000 tracks a search reads a few MB of index and
    // content pages, and with the default most of them come back through a system call each time.
    db.pragma('cache_size = -65536');
    if (!opts.readonly) {
      db.pragma('synchronous = NORMAL');
      migrate(db, MIGRATIONS);
    }
    return db;
  } catch (e) {
    // A handle that is not returned would never be closed (and would keep -wal/-shm files around).
    db.close();
    throw e;
  }
}
