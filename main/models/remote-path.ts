/**
 * @file Which file names from a model hub's listing may be written to disk, and where (plain Node; main, CLI,
 * tests). The one place that decides it: the downloader asks before it resolves, and again before it opens a file.
 *
 * [Note: Remote file names are untrusted]
 * A listing is data from the network. A name such as `a\..\..\evil.json` looks harmless to a POSIX `join`, but
 * on Windows the backslashes are separators and the file lands outside the destination folder. So a remote
 * name is accepted only as a relative POSIX path of "safe" segments on every platform: no backslash, no drive
 * letter or colon, no empty, `.`, `..` or dot-led segment, no control characters. And the joined path is checked
 * once more to stay inside the destination with the platform's own `path` (win32 rules on Windows).
 */
import nodePath from 'node:path';
import { ModelError } from './errors';

/** A listed file name the downloader refuses to write (it would escape the model folder or is not portable). */
export class UnsafeFileNameError extends ModelError {
  constructor(readonly repo: string, readonly file: string, reason: string) {
    super('unsafe-file-name', `The Hub listed a file "${file}" in "${repo}" that cannot be saved safely (${reason}); the download was stopped.`);
    this.name = 'UnsafeFileNameError';
  }
}

// Characters Windows refuses in names, and control characters anywhere.
// eslint-disable-next-line no-control-regex
const BAD_CHARS = /[\\:*?"<>|\u0000-\u001f\u007f]/;

/** Why `name` is not a safe relative POSIX path, or undefined when it is. */
export function unsafeReason(name: string): string | undefined {
  if (name.length === 0) return 'empty name';
  if (name.length > 512) return 'name too long';
  if (name.startsWith('/')) return 'absolute path';
  if (BAD_CHARS.test(name)) return 'backslash, colon or control character';
  for (const seg of name.split('/')) {
    if (seg === '') return 'empty path segment';
    if (seg === '.' || seg === '..') return `"${seg}" segment`;
    if (seg.startsWith('.')) return 'hidden file or folder';
    if (seg.endsWith(' ') || seg.endsWith('.')) return 'segment ending in a space or dot';
  }
  return undefined;
}

/** True when `name` is a safe relative POSIX path (see [Note: Remote file names are untrusted]). */
export function isSafeRemoteName(name: string): boolean {
  return unsafeReason(name) === undefined;
}

/**
 * The absolute path of `name` inside `destDir`, or an {@link UnsafeFileNameError}. `pathApi` is the platform's
 * `path` by default; tests pass `path.win32` to check the Windows rules on any machine.
 */
export function safeJoin(repo: string, destDir: string, name: string, pathApi: nodePath.PlatformPath = nodePath): string {
  const reason = unsafeReason(name);
  if (reason !== undefined) throw new UnsafeFileNameError(repo, name, reason);
  const root = pathApi.resolve(destDir);
  const full = pathApi.resolve(root, ...name.split('/'));
  const rel = pathApi.relative(root, full);
  if (rel === '' || rel.startsWith('..') || pathApi.isAbsolute(rel)) throw new UnsafeFileNameError(repo, name, 'resolves outside the model folder');
  return full;
}
