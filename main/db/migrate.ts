/**
 * @file Forward-only SQL migration runner (STYLE B6). Runs in main, the CLI and tests.
 */
import type Database from 'better-sqlite3';
import { NATURAL_SORT_KEY_SQL, naturalSortKey } from './natural-key';

/** One numbered migration: `version` from the file name (0010_init.sql → 10), `sql` its text. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** The database was written by a newer version of the app; opening it could corrupt it. */
export class DbFromFutureError extends Error {
  constructor(
    readonly current: number,
    readonly latest: number,
  ) {
    super(
      `This library database is at schema version ${current}, newer than this app understands (${latest}). ` +
        'Update MusiLingo Desktop, or open a different database.',
    );
    this.name = 'DbFromFutureError';
  }
}

/** Turns `{ './migrations/0010_init.sql': sql }` (import.meta.glob output) into sorted migrations. */
export function migrationsFromFiles(files: Record<string, string>): Migration[] {
  return Object.entries(files)
    .map(([path, sql]) => {
      const name = path.split('/').at(-1) ?? path;
      const m = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(name);
      if (!m) throw new Error(`Migration file name "${name}" must look like NNNN_snake_case.sql`);
      return { version: Number(m[1]), name: m[2] ?? '', sql };
    })
    .sort((a, b) => a.version - b.version);
}

function assertStrictlyIncreasing(migrations: readonly Migration[]): void {
  for (let i = 1; i < migrations.length; i++) {
    const prev = migrations[i - 1];
    const cur = migrations[i];
    if (prev && cur && cur.version <= prev.version) {
      throw new Error(`Migration versions are not monotonic: ${prev.version} then ${cur.version}`);
    }
  }
}

/**
 * Applies every migration newer than the database's `user_version` in one transaction, so a crash
 * leaves the database at the old version, never half-migrated. Refuses a database from the future.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[], upTo?: number): void {
  assertStrictlyIncreasing(migrations);
  const current = db.pragma('user_version', { simple: true }) as number;
  const applicable = upTo === undefined ? migrations : migrations.filter((m) => m.version <= upTo);
  const latest = applicable.at(-1)?.version ?? 0;
  if (current > (migrations.at(-1)?.version ?? 0)) throw new DbFromFutureError(current, migrations.at(-1)?.version ?? 0);
  if (current >= latest) return;
  // SQL functions migrations may call to fill new columns the way the app writes them.
  db.function(NATURAL_SORT_KEY_SQL, { deterministic: true }, (path: unknown) => (typeof path === 'string' ? naturalSortKey(path) : null));
  const pending = applicable.filter((m) => m.version > current);
  // [Note: table rebuilds] A migration that rebuilds a parent table (create, copy, drop, rename) must run with
  // foreign keys off, or DROP TABLE cascades into its children. The pragma is a no-op inside a transaction, so
  // it is switched here, and every foreign key is checked before the commit instead.
  const fkOff = pending.some((m) => FOREIGN_KEYS_OFF.test(m.sql));
  const fkWasOn = fkOff && (db.pragma('foreign_keys', { simple: true }) as number) === 1;
  if (fkWasOn) db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      for (const m of pending) db.exec(m.sql);
      if (fkOff) {
        const broken = db.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[];
        if (broken.length) throw new Error(`Migration left ${broken.length} broken foreign keys (first: ${broken[0]?.table} row ${broken[0]?.rowid} → ${broken[0]?.parent})`);
      }
      db.pragma(`user_version = ${latest}`);
    })();
  } finally {
    if (fkWasOn) db.pragma('foreign_keys = ON');
  }
}

/** First-line header of a migration that must run with foreign keys off (see [Note: table rebuilds]). */
const FOREIGN_KEYS_OFF = /^-- migrate: foreign_keys=off[ \t]*\r?\n/;
