/**
 * @file Repository for `folders`: the music folders the user asked us to index and watch. Main process, CLI
 * and tests; all SQL for the table lives here, prepared once per connection.
 */
import type Database from 'better-sqlite3';

/** A watched music folder. `path` is absolute and resolved (no trailing separator). */
export interface Folder {
  readonly id: number;
  readonly path: string;
  readonly addedAt: number;
  /** Milliseconds since the epoch of the last complete scan, or null before the first one. */
  readonly lastScanAt: number | null;
}

/** A folder with its counts, for `folders list` and the UI's folder page. */
export interface FolderStats extends Folder {
  readonly trackCount: number;
  readonly missingCount: number;
  readonly errorCount: number;
}

interface FolderRow {
  id: number;
  path: string;
  added_at: number;
  last_scan_at: number | null;
}

function toFolder(r: FolderRow): Folder {
  return { id: r.id, path: r.path, addedAt: r.added_at, lastScanAt: r.last_scan_at };
}

/** Statements over `folders`, prepared once. Create one per connection. */
export class FoldersRepo {
  readonly #insert: Database.Statement<[string, number]>;
  readonly #byId: Database.Statement<[number], FolderRow>;
  readonly #byPath: Database.Statement<[string], FolderRow>;
  readonly #all: Database.Statement<[], FolderRow>;
  readonly #stats: Database.Statement<[], FolderRow & { track_count: number; missing_count: number; error_count: number }>;
  readonly #delete: Database.Statement<[number]>;
  readonly #markScanned: Database.Statement<[number, number]>;

  constructor(db: Database.Database) {
    this.#insert = db.prepare('INSERT INTO folders (path, added_at) VALUES (?, ?)');
    this.#byId = db.prepare('SELECT * FROM folders WHERE id = ?');
    this.#byPath = db.prepare('SELECT * FROM folders WHERE path = ?');
    this.#all = db.prepare('SELECT * FROM folders ORDER BY path');
    this.#stats = db.prepare(`
      SELECT f.*,
        (SELECT count(*) FROM tracks t WHERE t.folder_id = f.id AND t.missing_since IS NULL) AS track_count,
        (SELECT count(*) FROM tracks t WHERE t.folder_id = f.id AND t.missing_since IS NOT NULL) AS missing_count,
        (SELECT count(*) FROM scan_errors e WHERE e.folder_id = f.id AND e.code <> 'unsupported') AS error_count
      FROM folders f ORDER BY f.path`);
    this.#delete = db.prepare('DELETE FROM folders WHERE id = ?');
    this.#markScanned = db.prepare('UPDATE folders SET last_scan_at = ? WHERE id = ?');
  }

  /** Inserts a folder row. The caller has resolved and validated `path`. */
  insert(path: string, now: number): Folder {
    // .run(), not RETURNING + .get(): see [Note: RETURNING outside a transaction] in ./write.ts.
    const row = this.#byId.get(Number(this.#insert.run(path, now).lastInsertRowid));
    if (!row) throw new Error(`Could not add folder "${path}"`);
    return toFolder(row);
  }

  /** The folder with this id, or undefined. */
  getById(id: number): Folder | undefined {
    const r = this.#byId.get(id);
    return r && toFolder(r);
  }

  /** The folder with exactly this path, or undefined. */
  getByPath(path: string): Folder | undefined {
    const r = this.#byPath.get(path);
    return r && toFolder(r);
  }

  /** Every folder, by path. */
  list(): Folder[] {
    return this.#all.all().map(toFolder);
  }

  /** Every folder with its present, missing and error counts. */
  listWithStats(): FolderStats[] {
    return this.#stats.all().map((r) => ({
      ...toFolder(r),
      trackCount: r.track_count,
      missingCount: r.missing_count,
      errorCount: r.error_count,
    }));
  }

  /** Deletes the folder row. Its tracks keep their rows (folder_id becomes NULL through the foreign key). */
  delete(id: number): void {
    this.#delete.run(id);
  }

  /** Records the end of a complete scan. */
  markScanned(id: number, at: number): void {
    this.#markScanned.run(at, id);
  }
}
