/**
 * @file Opens the library database: WAL, foreign keys, busy timeout, migrations. Main, CLI and tests.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrate';
import { MIGRATIONS } from './migrations';

/** Options for {@link openDatabase}. */
export interface OpenOptions {
  /** Open without writing (worker processes). Skips migrations; the writer owns the schema. */
  readonly readonly?: boolean;
}

/** Opens (creating if needed) and migrates the database at `path`; ':memory:' for tests. */
export function openDatabase(path: string, opts: OpenOptions = {}): Database.Database {
  if (path !== ':memory:' && !opts.readonly) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
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
}
