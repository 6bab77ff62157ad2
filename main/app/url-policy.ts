/**
 * @file Which URLs the app's web contents may load, and which links may open in the system browser (main
 * process; Electron-free so it is unit-tested). Used by main/security.ts.
 */

function parse(raw: string): URL | null {
  try {
    return new URL(raw);
  } catch {
    return null;
  }
}

/** True for URLs the renderer may load: the app's own files, inline data, devtools, and the dev server. */
export function isAllowedRequest(raw: string, devOrigin: string | null): boolean {
  const url = parse(raw);
  if (!url) return false;
  if (url.protocol === 'file:' || url.protocol === 'data:' || url.protocol === 'devtools:') return true;
  // The media protocol serves only library tracks (main/library/media-protocol.ts decides what it serves).
  if (url.protocol === 'musilingo-media:') return true;
  const dev = devOrigin === null ? null : parse(devOrigin);
  if (!dev) return false;
  // The dev server's HMR socket is ws:// on the same host and port.
  return url.host === dev.host && (url.protocol === dev.protocol || url.protocol === 'ws:' || url.protocol === 'wss:');
}

/** True for links that may open in the user's browser: https: and mailto: only (Electron security §14). */
export function isSafeExternalUrl(raw: string): boolean {
  const url = parse(raw);
  return url !== null && (url.protocol === 'https:' || url.protocol === 'mailto:');
}
