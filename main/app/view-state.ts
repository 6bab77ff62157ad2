/**
 * @file Where the user left each page (main process, E2E bridge): the Library's query, filters, sort,
 * selection, scroll anchor and columns, stored as JSON in app_settings (migration 0050) so a restart puts the
 * user back where they were. Plain Node: no Electron import.
 */
import type Database from 'better-sqlite3';
import type { LibraryView } from '../../preload/contract';
import { libraryView } from '../ipc/schemas';

/** Reads and writes the stored views. */
export interface ViewStore {
  /** The stored Library view, or null when there is none or it no longer parses (then the defaults apply). */
  getLibrary(): LibraryView | null;
  saveLibrary(view: LibraryView): void;
}

const KEY = 'view:library';

/** Creates the view store over an open, migrated database. */
export function createViewStore(db: Database.Database, now: () => number = Date.now): ViewStore {
  const read = db.prepare<[string], { value: string }>('SELECT value FROM app_settings WHERE key = ?');
  const write = db.prepare<[string, string, number]>(
    `INSERT INTO app_settings (key, value, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  );
  return {
    getLibrary() {
      const row = read.get(KEY);
      if (!row) return null;
      try {
        const parsed = libraryView.safeParse(JSON.parse(row.value));
        return parsed.success ? (parsed.data as LibraryView) : null;
      } catch {
        return null;
      }
    },
    saveLibrary(view) {
      write.run(KEY, JSON.stringify(view), now());
    },
  };
}
