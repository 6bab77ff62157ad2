/**
 * @file Hardening of web contents (main process): wires the Electron objects into main/app/web-hardening.ts,
 * which holds the logic (and its tests, without the Electron binary).
 */
import { app, shell, type Session, type WebContents, type WebFrameMain } from 'electron';
import * as hardening from './app/web-hardening';

/** Where the renderer is loaded from: the dev server in `npm start`, the bundled file otherwise. */
export function rendererOrigin(): string | null {
  const devUrl = process.env.ELECTRON_RENDERER_URL;
  return devUrl ? new URL(devUrl).origin : null;
}

function appOrigin(): hardening.AppOrigin {
  return { appRoot: app.getAppPath(), devOrigin: rendererOrigin() };
}

/** True when `frame` is our own top-level page (see web-hardening.ts). */
export function isAppFrame(frame: WebFrameMain | null | undefined): boolean {
  return hardening.isAppFrame(frame, appOrigin());
}

/** Opens a link in the user's browser, but only https: and mailto: URLs (checked with `new URL`). */
export function openExternalSafely(raw: string): void {
  hardening.openExternalSafely(raw, (url) => shell.openExternal(url));
}

/** Blocks navigation away from the app and every new window; links go to the system browser instead. */
export function hardenWebContents(contents: WebContents): void {
  hardening.hardenWebContents(contents as unknown as hardening.WebContentsLike, (url) => shell.openExternal(url));
}

/** Denies every permission; cancels requests to anywhere but the app's own files and the dev server. */
export function hardenSession(session: Session): void {
  hardening.hardenSession(session as unknown as hardening.SessionLike, appOrigin());
}
