/**
 * @file Writes whose result the caller reads back (an `INSERT … RETURNING` id), made safe against a commit that
 * fails, and the one place that turns SQLite's "disk is full" into a message for the user. Main process, CLI.
 *
 * [Note: RETURNING outside a transaction]
 * better-sqlite3's `.get()` steps a statement once and resets it. In autocommit mode the implicit COMMIT runs
 * at that reset, and an error there (SQLITE_FULL when the WAL cannot grow, a deferred constraint) is dropped:
 * `.get()` hands back the new row's id while the row was rolled back. Inside an explicit transaction the COMMIT
 * is a statement of its own and its error is thrown. So every write that reads a row back runs through
 * {@link returningRow}, or uses `.run()` (which steps to the end and reports the commit).
 */
import type Database from 'better-sqlite3';

/** The library database could not be written because its disk is full. */
export class DatabaseFullError extends Error {
  readonly code = 'disk-full';
  constructor(readonly file: string, cause: unknown) {
    super(`Disk full: could not save to the library database ${file}. Free some space on that disk and try again; nothing already saved was lost.`, { cause });
    this.name = 'DatabaseFullError';
  }
}

/** True for SQLite's "database or disk is full" (and the OS's ENOSPC behind it). */
export function isDiskFull(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || (typeof code === 'string' && code.startsWith('SQLITE_IOERR') && /no space/i.test(String((e as Error).message)));
}

/** Rethrows `e`, as a {@link DatabaseFullError} when the disk is full. */
export function rethrowWrite(db: Database.Database, e: unknown): never {
  if (isDiskFull(e)) throw new DatabaseFullError(db.name, e);
  throw e;
}

/**
 * Runs a statement that returns the written row (`… RETURNING`) inside a transaction (a savepoint when one is
 * already open), so a failed commit throws instead of returning a row that is not there. See [Note: RETURNING
 * outside a transaction].
 */
export function returningRow<R>(db: Database.Database, statement: Database.Statement, params: unknown): R | undefined {
  try {
    return db.transaction(() => statement.get(params) as R | undefined)();
  } catch (e) {
    return rethrowWrite(db, e);
  }
}
