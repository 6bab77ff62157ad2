/**
 * @file Forward-only SQL migration runner (STYLE B6). Runs in main, the CLI and tests.
 */
import type Database from 'better-sqlite3';

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
  db.transaction(() => {
    for (const m of applicable) if (m.version > current) db.exec(m.sql);
    db.pragma(`user_version = ${latest}`);
  })();
}
