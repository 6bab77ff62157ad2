/**
 * @file The application menu (main process). Page shortcuts (Ctrl/Cmd+1…5), search (Ctrl/Cmd+F) and the theme
 * toggle are menu accelerators, so they work everywhere and show up in the menu; they reach the renderer as
 * 'app:command' events.
 */
import { Menu, type MenuItemConstructorOptions } from 'electron';
import type { Events, PageId } from '../preload/contract';

/** Sends one app command to the focused window's renderer. */
export type CommandSender = (command: Events['app:command']) => void;

const PAGES: readonly { page: PageId; label: string }[] = [
  { page: 'library', label: 'Library' },
  { page: 'folders', label: 'Folders' },
  { page: 'models', label: 'Models' },
  { page: 'jobs', label: 'Jobs' },
  { page: 'training', label: 'Training' },
  { page: 'evaluation', label: 'Evaluation' },
];

/** Builds and installs the menu. */
export function installMenu(send: CommandSender): void {
  const isMac = process.platform === 'darwin';
  const go: MenuItemConstructorOptions[] = PAGES.map(({ page, label }, i) => ({
    label,
    accelerator: `CmdOrCtrl+${i + 1}`,
    click: () => send({ command: 'navigate', page }),
  }));
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        { label: 'Add Music Folder…', accelerator: 'CmdOrCtrl+O', click: () => send({ command: 'navigate', page: 'folders' }) },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        ...go,
        { type: 'separator' },
        { label: 'Search Library', accelerator: 'CmdOrCtrl+F', click: () => send({ command: 'focus-search' }) },
        { label: 'Toggle Dark Theme', accelerator: 'CmdOrCtrl+Shift+L', click: () => send({ command: 'toggle-theme' }) },
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(process.env.ELECTRON_RENDERER_URL ? [{ role: 'toggleDevTools' as const }] : []),
      ],
    },
    { role: 'windowMenu' },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}
