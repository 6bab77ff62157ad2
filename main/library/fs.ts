/**
 * @file The file-system operations the library uses, as an injectable interface, so tests can simulate what
 * they cannot produce for real (permission denied while running as root, I/O errors, files changing mid-read).
 */
import type { Dirent, Stats } from 'node:fs';
import fs, { promises as fsp } from 'node:fs';

/** A readable open file. */
export interface LibraryFileHandle {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/** What the scanner needs from the file system. */
export interface LibraryFs {
  readdir(path: string): Promise<Dirent[]>;
  /** stat (follows symlinks). */
  stat(path: string): Promise<Stats>;
  realpath(path: string): Promise<string>;
  open(path: string): Promise<LibraryFileHandle>;
}

/** The real file system. */
export const nodeFs: LibraryFs = {
  readdir: (path) => fsp.readdir(path, { withFileTypes: true }),
  stat: (path) => fsp.stat(path),
  realpath: (path) => fsp.realpath(path),
  async open(path) {
    const h = await fsp.open(path, 'r');
    return {
      read: async (buffer, offset, length, position) => (await h.read(buffer, offset, length, position)).bytesRead,
      close: () => h.close(),
    };
  },
};

/**
 * The real file system through blocking calls, for scan threads only (scan-thread.ts): a thread that reads one
 * file at a time gains nothing from libuv's pool, and each asynchronous call costs a hand-off to it and back
 * (see [Note: Scan threads] in scan-pool.ts). Never use it on the main thread: it would block the event loop.
 */
export const blockingFs: LibraryFs = {
  // async: a throw becomes a rejection, as with the promise API.
  readdir: async (path) => fs.readdirSync(path, { withFileTypes: true }),
  stat: async (path) => fs.statSync(path),
  realpath: async (path) => fs.realpathSync(path),
  async open(path) {
    const fd = fs.openSync(path, 'r');
    return {
      read: async (buffer, offset, length, position) => fs.readSync(fd, buffer, offset, length, position),
      close: async () => fs.closeSync(fd),
    };
  },
};
