/**
 * @file The file-system operations the library uses, as an injectable interface, so tests can simulate what
 * they cannot produce for real (permission denied while running as root, I/O errors, files changing mid-read).
 */
import type { Dirent, Stats } from 'node:fs';
import { promises as fsp } from 'node:fs';

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
