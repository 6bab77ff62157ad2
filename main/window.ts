/**
 * @file The main window (main process): secure webPreferences, window-state persistence, the renderer URL.
 */
import { join } from 'node:path';
import { BrowserWindow, nativeTheme, screen } from 'electron';
import type { SettingsStore, WindowState } from './app/settings';
import { hardenWebContents } from './security';
import { SECURE_WEB_PREFERENCES } from './app/web-hardening';

/** Where the bundled preload and renderer live relative to out/main/index.js. */
const PRELOAD_PATH = join(import.meta.dirname, '../preload/index.cjs');
const RENDERER_HTML = join(import.meta.dirname, '../renderer/index.html');

/** Keeps the saved bounds only when they are still on a connected display (monitors come and go). */
function visibleState(state: WindowState): WindowState {
  if (state.x === null || state.y === null) return state;
  const { x, y, width } = state;
  const onScreen = screen.getAllDisplays().some(({ workArea: a }) =>
    x + width > a.x + 50 && x < a.x + a.width - 50 && y >= a.y - 10 && y < a.y + a.height - 50,
  );
  return onScreen ? state : { ...state, x: null, y: null };
}

/** Creates the main window, restores its saved bounds, and saves them again as they change. */
export function createMainWindow(settings: SettingsStore): BrowserWindow {
  const state = visibleState(settings.getWindowState());
  const { theme } = settings.get();
  const isDark = theme === 'dark' || (theme === 'system' && nativeTheme.shouldUseDarkColors);
  const win = new BrowserWindow({
    ...(state.x !== null && state.y !== null ? { x: state.x, y: state.y } : {}),
    width: state.width,
    height: state.height,
    minWidth: 720,
    minHeight: 480,
    show: false,
    title: 'MusiLingo Desktop',
    // The page's own background (renderer/styles.css), so there is no flash before the first paint.
    backgroundColor: isDark ? '#16181d' : '#f7f7f9',
    webPreferences: {
      ...SECURE_WEB_PREFERENCES,
      preload: PRELOAD_PATH,
    },
  });
  hardenWebContents(win.webContents);
  if (state.isMaximized) win.maximize();
  win.once('ready-to-show', () => win.show());

  let saveTimer: NodeJS.Timeout | undefined;
  function save(): void {
    if (win.isDestroyed() || win.isMinimized()) return;
    const b = win.getNormalBounds();
    settings.setWindowState({ x: b.x, y: b.y, width: b.width, height: b.height, isMaximized: win.isMaximized() });
  }
  function saveSoon(): void {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(save, 500);
  }
  win.on('resize', saveSoon);
  win.on('move', saveSoon);
  win.on('close', () => {
    clearTimeout(saveTimer);
    save();
  });

  const devUrl = process.env.ELECTRON_RENDERER_URL;
  if (devUrl) void win.loadURL(devUrl);
  else void win.loadFile(RENDERER_HTML);
  return win;
}
