/**
 * @file Prepared statements cached per connection, for repositories written as plain functions over a
 * `Database` (main process, CLI, tests).
 */
import type Database from 'better-sqlite3';

/**
 * Returns a getter that prepares a repository's statements once per connection and reuses them after
 * (STYLE B6: statements are prepared once). A WeakMap lets a closed connection's statements be collected.
 */
export function statementsPerConnection<S>(prepare: (db: Database.Database) => S): (db: Database.Database) => S {
  const cache = new WeakMap<Database.Database, S>();
  return (db) => {
    let s = cache.get(db);
    if (!s) {
      s = prepare(db);
      cache.set(db, s);
    }
    return s;
  };
}
