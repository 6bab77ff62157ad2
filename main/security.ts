/**
 * @file Hardening of web contents (main process): navigation and new windows blocked, external links only for
 * https/mailto, permission requests denied, and the trusted-origin check used by IPC sender validation
 * (STYLE B10; Electron security checklist §13–17).
 */
import { app, shell, type Session, type WebContents, type WebFrameMain } from 'electron';
import { isAllowedRequest, isSafeExternalUrl } from './app/url-policy';

/** Where the renderer is loaded from: the dev server in `npm start`, the bundled file otherwise. */
export function rendererOrigin(): string | null {
  const devUrl = process.env.ELECTRON_RENDERER_URL;
  return devUrl ? new URL(devUrl).origin : null;
}

/**
 * True when `frame` is our own top-level page. In production the page is a file:// URL inside the app
 * bundle; under `npm start` it is the electron-vite dev server's origin.
 */
export function isAppFrame(frame: WebFrameMain | null | undefined): boolean {
  if (!frame || frame.parent !== null) return false;
  let url: URL;
  try {
    url = new URL(frame.url);
  } catch {
    return false;
  }
  const devOrigin = rendererOrigin();
  if (devOrigin !== null && url.origin === devOrigin) return true;
  return url.protocol === 'file:' && decodeURIComponent(url.pathname).startsWith(appRootPath());
}

function appRootPath(): string {
  return app.getAppPath().replaceAll('\\', '/').replace(/^([A-Za-z]:)/, '/$1');
}

/** Opens a link in the user's browser, but only https: and mailto: URLs (checked with `new URL`). */
export function openExternalSafely(raw: string): void {
  if (isSafeExternalUrl(raw)) void shell.openExternal(new URL(raw).toString());
}

/** Blocks navigation away from the app and every new window; links go to the system browser instead. */
export function hardenWebContents(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (url !== contents.getURL()) {
      event.preventDefault();
      openExternalSafely(url);
    }
  });
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    openExternalSafely(url);
    return { action: 'deny' };
  });
}

/**
 * Denies every permission request (camera, notifications …): the app needs none. Cancels every request the
 * renderer makes to anywhere but the app itself, as a second line behind the CSP: the renderer never talks to
 * the network (downloads run in main, through the model manager).
 */
export function hardenSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.webRequest.onBeforeRequest((details, callback) => {
    callback({ cancel: !isAllowedRequest(details.url, rendererOrigin()) });
  });
}
