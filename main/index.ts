/**
 * @file Electron main entry: app lifecycle only (single-instance lock, ready, windows, quit). Everything else is
 * wired in main/app/ (services), main/ipc/ (handlers) and main/workers/ (utility processes).
 */
import { join } from 'node:path';
import { app, BrowserWindow, dialog, protocol, session } from 'electron';
import { MEDIA_SCHEME, registerMediaProtocol } from './library/media-protocol';
import { appDataDir } from './paths';
import { createAppServices, type AppServices } from './app/services';
import { installMenu } from './menu';
import { registerIpc } from './ipc/register';
import { createMainWindow } from './window';
import { hardenSession } from './security';
import { electronCliRunner, electronWorkerLaunchers } from './app/electron-workers';

// [Note: One data folder for app and CLI]
// Electron's userData folder is derived from productName; main/paths.ts derives the same folder for the CLI,
// and MUSILINGO_HOME overrides both, so `musilingo scan` and the app share one library.
app.setPath('userData', appDataDir());

// The Track page's player streams library tracks through this scheme (range requests need `stream`); it must
// be declared before ready. The handler itself is registered in onReady, over the database.
protocol.registerSchemesAsPrivileged([{ scheme: MEDIA_SCHEME, privileges: { secure: true, stream: true, supportFetchAPI: true } }]);

let services: AppServices | null = null;
let mainWindow: BrowserWindow | null = null;

function focusMainWindow(): void {
  if (!mainWindow) return;
  if (mainWindow.isMinimized()) mainWindow.restore();
  mainWindow.focus();
}

function broadcast(channel: string, payload: unknown): void {
  for (const win of BrowserWindow.getAllWindows()) {
    if (!win.isDestroyed()) win.webContents.send(channel, payload);
  }
}

function log(level: 'info' | 'error', message: string, error?: unknown): void {
  if (level === 'error') console.error(message, error ?? '');
  else console.log(message);
}

async function onReady(): Promise<void> {
  hardenSession(session.defaultSession);
  services = await createAppServices({
    dataDir: app.getPath('userData'),
    version: app.getVersion(),
    hasNativeDialogs: true,
    pickFolder: async () => {
      const options: Electron.OpenDialogOptions = { title: 'Add a music folder', properties: ['openDirectory'] };
      const result = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
    // A path typed on the Folders page is added only after the user says yes here, in main's own dialog.
    confirmFolder: async (path) => {
      const options: Electron.MessageBoxOptions = {
        type: 'question',
        title: 'Add a music folder',
        message: `Add this folder to your library?`,
        detail: `${path}\n\nMusiLingo will read every audio file in it and in its subfolders.`,
        buttons: ['Add folder', 'Cancel'],
        defaultId: 0,
        cancelId: 1,
      };
      const result = mainWindow ? await dialog.showMessageBox(mainWindow, options) : await dialog.showMessageBox(options);
      return result.response === 0;
    },
    launchers: electronWorkerLaunchers(log),
    // out/main/index.js → out/cli/musilingo.mjs (shipped in the asar; see [Note: The CLI as a child process]).
    runCli: electronCliRunner(join(import.meta.dirname, '../cli/musilingo.mjs'), app.getPath('userData')),
    log,
  });
  services.events.subscribe(broadcast);
  registerMediaProtocol(protocol, services.db);
  registerIpc(services);
  mainWindow = createMainWindow(services.settings);
  mainWindow.on('closed', () => {
    mainWindow = null;
  });
  installMenu((command) => mainWindow?.webContents.send('app:command', command));
}

if (!app.requestSingleInstanceLock()) {
  // A second launch only brings the first instance's window forward (handled in 'second-instance' there).
  app.quit();
} else {
  app.on('second-instance', focusMainWindow);
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (services && BrowserWindow.getAllWindows().length === 0) mainWindow = createMainWindow(services.settings);
  });
  let isQuitting = false;
  app.on('will-quit', (event) => {
    if (isQuitting || !services) return;
    // Stop workers and close the database before the process ends, so jobs resume cleanly next time.
    event.preventDefault();
    isQuitting = true;
    const closing = services;
    services = null;
    void closing.close().finally(() => app.quit());
  });
  app.whenReady().then(onReady).catch((e: unknown) => {
    dialog.showErrorBox('MusiLingo Desktop could not start', e instanceof Error ? e.message : String(e));
    app.exit(1);
  });
}
