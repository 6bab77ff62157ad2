/**
 * @file Where the app keeps its data. Plain Node (CLI, workers, tests); Electron's main process gets the same
 * answer from app.getPath('userData'), because both derive it from the product name.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The product name; Electron derives `userData` from it (package.json productName). */
export const PRODUCT_NAME = 'MusiLingo Desktop';

/**
 * The per-user data folder: $MUSILINGO_HOME when set, else the platform's app-data folder
 * (Linux: $XDG_CONFIG_HOME or ~/.config; macOS: ~/Library/Application Support; Windows: %APPDATA%).
 */
export function appDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env['MUSILINGO_HOME']) return env['MUSILINGO_HOME'];
  const home = homedir();
  if (platform === 'win32') return join(env['APPDATA'] ?? join(home, 'AppData', 'Roaming'), PRODUCT_NAME);
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', PRODUCT_NAME);
  return join(env['XDG_CONFIG_HOME'] ?? join(home, '.config'), PRODUCT_NAME);
}

/** Default database path, shared by the app and the CLI. */
export function defaultDbPath(dataDir: string = appDataDir()): string {
  return join(dataDir, 'library.sqlite');
}

/** Folder holding converted model packs and downloads. Never inside the asar. */
export function modelsDir(dataDir: string = appDataDir()): string {
  return join(dataDir, 'models');
}
