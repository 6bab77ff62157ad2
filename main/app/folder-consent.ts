/**
 * @file Which folder paths from the renderer may be added to the library (main process; Electron-free, the
 * dialog is injected). A renderer is less trusted than main: a path reaches the library only when it came back
 * from main's own folder picker, or when the user confirmed it in a dialog that main shows. The path itself must
 * first pass main/library/folder-path.ts, the module that decides folder-path validity.
 */
import { checkFolderPath } from '../library/folder-path';
import { FolderError } from '../library/errors';
import { IpcError } from '../ipc/errors';

/** Asks the user, in main's own dialog, whether to add `path`; true when they said yes. */
export type ConfirmFolder = (path: string) => Promise<boolean>;

/** Options of {@link createFolderConsent}. */
export interface FolderConsentOptions {
  readonly dataDir: string;
  /** Main's dialog; null where there is none (then only picked folders are accepted). */
  readonly confirm: ConfirmFolder | null;
  /** For `~`; default os.homedir(). */
  readonly home?: string;
}

/** The consent gate: wraps the picker and approves paths before `folders:add` adds them. */
export interface FolderConsent {
  /** Wraps a folder picker so that what it returns is remembered as chosen by the user. */
  picker(pick: () => Promise<string | null>): () => Promise<string | null>;
  /** The checked absolute path, or an IpcError (invalid path, or the user said no). */
  approve(raw: string): Promise<string>;
}

/** Creates the gate. Picked paths are remembered (briefly, and once each) in main, never in the renderer. */
export function createFolderConsent(opts: FolderConsentOptions): FolderConsent {
  const picked = new Set<string>();
  const check = (raw: string): string => {
    try {
      return checkFolderPath(raw, { origin: 'renderer', dataDir: opts.dataDir, ...(opts.home !== undefined ? { home: opts.home } : {}) });
    } catch (e) {
      if (e instanceof FolderError) throw new IpcError('invalid-argument', e.message);
      throw e;
    }
  };
  return {
    picker(pick) {
      return async () => {
        const p = await pick();
        if (p !== null) {
          try {
            picked.add(check(p));
          } catch {
            // An unusable pick (the disk root) is refused again, with its reason, when it is added.
          }
        }
        return p;
      };
    },
    async approve(raw) {
      const path = check(raw);
      if (picked.delete(path)) return path;
      if (!opts.confirm) {
        throw new IpcError('invalid-argument', `"${path}" was not chosen with the folder picker: use "Choose folder…" to add it`);
      }
      if (!(await opts.confirm(path))) throw new IpcError('cancelled', `"${path}" was not added to the library.`);
      return path;
    },
  };
}
