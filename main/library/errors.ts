/**
 * @file Typed errors of the library: a file that could not be indexed, a folder that cannot be scanned.
 * Messages name the file or folder and the cause in words a user understands.
 */
import type { ScanErrorCode } from '../db/scan-errors';

/** One file could not be indexed. The scan records it in `scan_errors` and goes on. */
export class ScanFileError extends Error {
  constructor(
    readonly path: string,
    readonly code: ScanErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ScanFileError';
  }
}

/** A folder cannot be added or scanned at all (does not exist, is not a folder, is unreadable). */
export class FolderError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'FolderError';
  }
}

/** Thrown (and reported as `cancelled`) when a scan's AbortSignal fires. */
export class ScanCancelledError extends Error {
  constructor() {
    super('The scan was cancelled');
    this.name = 'ScanCancelledError';
  }
}

/** Maps a Node fs error to a scan error code and a user-facing sentence about `path`. */
export function describeFsError(path: string, e: unknown): ScanFileError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new ScanFileError(path, 'permission', `Permission denied reading "${path}"`);
    case 'ENOENT':
      return new ScanFileError(path, 'unreadable', `"${path}" disappeared while it was being read`);
    case 'EISDIR':
      return new ScanFileError(path, 'unreadable', `"${path}" is a folder, not a file`);
    case 'EIO':
      return new ScanFileError(path, 'unreadable', `Input/output error reading "${path}" (a failing disk or a disconnected drive?)`);
    case 'EMFILE':
    case 'ENFILE':
      return new ScanFileError(path, 'unreadable', `Too many open files while reading "${path}"`);
    default: {
      const detail = e instanceof Error ? e.message : String(e);
      return new ScanFileError(path, 'unreadable', `Could not read "${path}": ${detail}`);
    }
  }
}
