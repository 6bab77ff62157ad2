/**
 * @file Which URLs the app's web contents may load, and which links may open in the system browser (main
 * process; Electron-free so it is unit-tested). Used by main/app/web-hardening.ts.
 */
import { posix, win32 } from 'node:path';

function parse(raw: string): URL | null {
  try {
    return new URL(raw);
  } catch {
    return null;
  }
}

/** A path with forward slashes and a leading slash before a drive letter, for prefix comparison. */
function normalize(p: string): string {
  const isWin = /^[A-Za-z]:[\\/]/.test(p) || p.includes('\\');
  const resolved = isWin ? win32.resolve(p).replaceAll('\\', '/') : posix.resolve(p);
  return (isWin ? `/${resolved}` : resolved).replace(/\/+$/, '') || '/';
}

/**
 * True when the file: URL `raw` names `appRoot` itself or a file below it. The comparison is by whole path
 * segments after resolving `..` (a URL parser already collapses them), so `/opt/app.asar.evil/x` is not inside
 * `/opt/app.asar`. Case is compared exactly except for a Windows drive letter.
 */
export function isInsideAppRoot(raw: string, appRoot: string): boolean {
  const url = parse(raw);
  if (!url || url.protocol !== 'file:' || (url.host !== '' && url.host !== 'localhost')) return false;
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return false;
  }
  if (path.includes('\0')) return false;
  // Windows: file:///C:/x → /C:/x; POSIX: file:///x → /x. (url.fileURLToPath follows the host platform only.)
  const file = /^\/[A-Za-z]:\//.test(path) ? normalize(path.slice(1)) : normalize(path);
  const root = normalize(appRoot);
  const lower = (s: string): string => s.replace(/^\/([A-Za-z]):/, (_m, d: string) => `/${d.toLowerCase()}:`);
  const [f, r] = [lower(file), lower(root)];
  return f === r || f.startsWith(`${r}/`);
}

/** True for URLs the renderer may load: the app's own files, inline data, devtools, and the dev server. */
export function isAllowedRequest(raw: string, devOrigin: string | null, appRoot: string): boolean {
  const url = parse(raw);
  if (!url) return false;
  if (url.protocol === 'file:') return isInsideAppRoot(raw, appRoot);
  if (url.protocol === 'data:' || url.protocol === 'devtools:') return true;
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
