/**
 * @file App settings repository (main process, E2E bridge): the theme and the window state, stored as JSON in
 * the app_settings table (migration 0050). Plain Node: no Electron import.
 */
import type Database from 'better-sqlite3';
import { z } from 'zod';
import type { Settings } from '../../preload/contract';

const SettingsSchema = z.object({ theme: z.enum(['system', 'light', 'dark']).catch('system') });

/** Saved bounds of the main window. */
export interface WindowState {
  x: number | null;
  y: number | null;
  width: number;
  height: number;
  isMaximized: boolean;
}

const WindowStateSchema = z.object({
  x: z.number().int().nullable(),
  y: z.number().int().nullable(),
  width: z.number().int().min(400).max(20_000),
  height: z.number().int().min(300).max(20_000),
  isMaximized: z.boolean(),
});

/** The window state used when none is saved (or the saved one is unreadable). */
export const DEFAULT_WINDOW_STATE: WindowState = { x: null, y: null, width: 1280, height: 820, isMaximized: false };

/** Reads and writes settings; statements are prepared once. */
export interface SettingsStore {
  get(): Settings;
  update(patch: Partial<Settings>): Settings;
  getWindowState(): WindowState;
  setWindowState(state: WindowState): void;
  /** The model (id or pack id) captions and answers use; null = the newest ready pack. */
  getActiveModel(): string | null;
  setActiveModel(model: string | null): void;
}

/** Creates the settings repository over an open, migrated database. */
export function createSettingsStore(db: Database.Database, now: () => number = Date.now): SettingsStore {
  const read = db.prepare<[string], { value: string }>('SELECT value FROM app_settings WHERE key = ?');
  const write = db.prepare<[string, string, number]>(
    `INSERT INTO app_settings (key, value, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  );

  function readJson(key: string): unknown {
    const row = read.get(key);
    if (!row) return undefined;
    try {
      return JSON.parse(row.value) as unknown;
    } catch {
      return undefined;
    }
  }

  function get(): Settings {
    const parsed = SettingsSchema.safeParse(readJson('settings') ?? {});
    return parsed.success ? parsed.data : { theme: 'system' };
  }

  return {
    get,
    update(patch) {
      const next: Settings = { ...get(), ...patch };
      write.run('settings', JSON.stringify(next), now());
      return next;
    },
    getWindowState() {
      const parsed = WindowStateSchema.safeParse(readJson('window'));
      return parsed.success ? parsed.data : { ...DEFAULT_WINDOW_STATE };
    },
    setWindowState(state) {
      write.run('window', JSON.stringify(WindowStateSchema.parse(state)), now());
    },
    getActiveModel() {
      const v = readJson('activeModel');
      return typeof v === 'string' && v !== '' ? v : null;
    },
    setActiveModel(model) {
      write.run('activeModel', JSON.stringify(model ?? ''), now());
    },
  };
}
