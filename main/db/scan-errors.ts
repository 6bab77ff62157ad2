/**
 * @file Repository for `scan_errors`: files the scanner could not read, one row per path, with a cause a user
 * understands. Main process, CLI and tests.
 */
import type Database from 'better-sqlite3';

/**
 * Why a file could not be indexed.
 * - unreadable: an I/O error (or the file vanished) while reading it
 * - empty: zero bytes
 * - corrupt: looks like audio but its structure is broken or truncated
 * - not-audio: has an audio extension but holds something else
 * - permission: the OS denied access
 * - changed: the file kept changing while it was read (it is retried on the next scan or change event)
 * - internal: a bug in our code; the message says what failed
 * - unsupported: not an error but a skip: an audio format the library cannot read (`musilingo list --skipped`)
 */
export type ScanErrorCode = 'unreadable' | 'empty' | 'corrupt' | 'not-audio' | 'permission' | 'changed' | 'internal' | 'unsupported';

/** One scan error. */
export interface ScanErrorRecord {
  readonly id: number;
  readonly folderId: number | null;
  readonly path: string;
  readonly code: ScanErrorCode;
  readonly message: string;
  readonly at: number;
}

interface Row {
  id: number;
  folder_id: number | null;
  path: string;
  code: string;
  message: string;
  at: number;
}

function toRecord(r: Row): ScanErrorRecord {
  return { id: r.id, folderId: r.folder_id, path: r.path, code: r.code as ScanErrorCode, message: r.message, at: r.at };
}

/** Statements over `scan_errors`, prepared once. */
export class ScanErrorsRepo {
  readonly #upsert: Database.Statement<[number | null, string, string, string, number]>;
  readonly #clear: Database.Statement<[string]>;
  readonly #clearStale: Database.Statement<[number, number]>;
  readonly #listAll: Database.Statement<[number, number], Row>;
  readonly #listFolder: Database.Statement<[number, number, number], Row>;
  readonly #byPath: Database.Statement<[string], Row>;
  readonly #count: Database.Statement<[], { n: number }>;

  constructor(db: Database.Database) {
    this.#upsert = db.prepare(`
      INSERT INTO scan_errors (folder_id, path, code, message, at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (path) DO UPDATE SET folder_id = excluded.folder_id, code = excluded.code,
        message = excluded.message, at = excluded.at`);
    this.#clear = db.prepare('DELETE FROM scan_errors WHERE path = ?');
    this.#clearStale = db.prepare('DELETE FROM scan_errors WHERE folder_id = ? AND at < ?');
    // Skipped files (code 'unsupported') share the table but are listed apart: @skipped picks which.
    this.#listAll = db.prepare("SELECT * FROM scan_errors WHERE (code = 'unsupported') = ? ORDER BY path LIMIT ?");
    this.#listFolder = db.prepare("SELECT * FROM scan_errors WHERE folder_id = ? AND (code = 'unsupported') = ? ORDER BY path LIMIT ?");
    this.#byPath = db.prepare('SELECT * FROM scan_errors WHERE path = ?');
    this.#count = db.prepare('SELECT count(*) AS n FROM scan_errors');
  }

  /** Records (or replaces) the error for `path`. */
  record(e: { folderId: number | null; path: string; code: ScanErrorCode; message: string; at: number }): void {
    this.#upsert.run(e.folderId, e.path, e.code, e.message, e.at);
  }

  /** Forgets the error for `path` (it was read successfully, or it is gone). */
  clear(path: string): void {
    this.#clear.run(path);
  }

  /** Deletes a folder's errors older than `before`: those a complete scan did not record again. */
  clearStale(folderId: number, before: number): void {
    this.#clearStale.run(folderId, before);
  }

  /** The error recorded for `path`, if any. */
  getByPath(path: string): ScanErrorRecord | undefined {
    const r = this.#byPath.get(path);
    return r && toRecord(r);
  }

  /** Errors (or, with `skipped`, the skipped files), by path, optionally of one folder. */
  list(opts: { folderId?: number; limit?: number; skipped?: boolean } = {}): ScanErrorRecord[] {
    const limit = opts.limit ?? 1000;
    const skipped = opts.skipped ? 1 : 0;
    const rows = opts.folderId === undefined ? this.#listAll.all(skipped, limit) : this.#listFolder.all(opts.folderId, skipped, limit);
    return rows.map(toRecord);
  }

  /** How many errors are recorded. */
  count(): number {
    return this.#count.get()?.n ?? 0;
  }
}
