/**
 * @file The hardening of the app's web contents, written against the few Electron objects it touches so that it
 * runs in unit tests without the Electron binary (main process; main/security.ts passes the real objects):
 * the exact trusted-frame check behind IPC sender validation, the window's webPreferences, navigation and
 * window-open blocking, and permission and request handlers (Electron security checklist §4, §13–17).
 */
import { isAllowedRequest, isSafeExternalUrl, isInsideAppRoot } from './url-policy';

/** Where the app's own page comes from: the bundle folder, and the dev server's origin under `npm start`. */
export interface AppOrigin {
  /** `app.getAppPath()`: the asar (or folder) the renderer's files are in. */
  readonly appRoot: string;
  /** `ELECTRON_RENDERER_URL`'s origin, or null in a packaged app. */
  readonly devOrigin: string | null;
}

/** The parts of a WebFrameMain the sender check reads. */
export interface FrameLike {
  readonly url: string;
  readonly parent: unknown;
}

/**
 * True when `frame` is our own top-level page: a file: URL inside the app root (the root itself or below it,
 * never a sibling folder whose name merely starts the same, such as `app.asar.evil`), or the dev server origin.
 */
export function isAppFrame(frame: FrameLike | null | undefined, origin: AppOrigin): boolean {
  if (!frame || frame.parent !== null) return false;
  let url: URL;
  try {
    url = new URL(frame.url);
  } catch {
    return false;
  }
  if (origin.devOrigin !== null && url.origin === origin.devOrigin) return true;
  return url.protocol === 'file:' && isInsideAppRoot(url.href, origin.appRoot);
}

/** The main window's webPreferences (without the preload path): isolation, sandbox, no Node, no webviews. */
export const SECURE_WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  webviewTag: false,
  spellcheck: false,
} as const;

/** A cancellable event as Electron passes it to will-navigate and friends. */
export interface PreventableEvent {
  preventDefault(): void;
}

/** The parts of a WebContents the hardening uses. */
export interface WebContentsLike {
  on(event: 'will-navigate', listener: (event: PreventableEvent, url: string) => void): unknown;
  on(event: 'will-redirect' | 'will-attach-webview', listener: (event: PreventableEvent) => void): unknown;
  getURL(): string;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

/** Opens a link in the user's browser, but only https: and mailto: URLs. */
export function openExternalSafely(raw: string, openExternal: (url: string) => unknown): void {
  if (isSafeExternalUrl(raw)) void openExternal(new URL(raw).toString());
}

/** Blocks navigation away from the app and every new window; links go to the system browser instead. */
export function hardenWebContents(contents: WebContentsLike, openExternal: (url: string) => unknown): void {
  contents.on('will-navigate', (event, url) => {
    if (url !== contents.getURL()) {
      event.preventDefault();
      openExternalSafely(url, openExternal);
    }
  });
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    openExternalSafely(url, openExternal);
    return { action: 'deny' };
  });
}

/** The parts of a Session the hardening uses. */
export interface SessionLike {
  setPermissionRequestHandler(handler: (contents: unknown, permission: string, callback: (granted: boolean) => void) => void): void;
  setPermissionCheckHandler(handler: () => boolean): void;
  readonly webRequest: {
    onBeforeRequest(listener: (details: { url: string }, callback: (response: { cancel: boolean }) => void) => void): void;
  };
}

/**
 * Denies every permission request (camera, notifications …): the app needs none. Cancels every request the
 * renderer makes to anywhere but the app's own files and the dev server, as a second line behind the CSP.
 */
export function hardenSession(session: SessionLike, origin: AppOrigin): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.webRequest.onBeforeRequest((details, callback) => {
    callback({ cancel: !isAllowedRequest(details.url, origin.devOrigin, origin.appRoot) });
  });
}
