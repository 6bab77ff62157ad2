/**
 * @file Writes tag values into audio files safely, journals every write, and undoes a batch exactly. Main
 * process, CLI, tests and benches. See docs/tagging.md, "Safety steps".
 *
 * [Note: The safe tag write]
 * Per file, in this order:
 *  1. the file's fingerprint must equal the library's, else skip ("changed on disk since the last scan");
 *  2. the file is copied to a hidden temporary file in the same folder (same filesystem, so the later rename is
 *     atomic) and the copy is parsed once by the tag library; the old value of every slot to be written and the
 *     new values go into a journal row, committed before the original is touched;
 *  3. the tags are written into the copy, and the copy is fsynced;
 *  4. the copy is read back with music-metadata and every written slot is checked; a mismatch fails the file
 *     and the original is left as it was (checking the copy rather than the renamed file means a bad write
 *     never replaces the original);
 *  5. the original is checked to be still the file that was copied (not deleted or changed meanwhile), the copy
 *     is renamed over it and the folder is fsynced;
 *  6. the library row gets the new size, mtime, fingerprint and tags in the same transaction that closes the
 *     journal row, so the watcher's later event for this path finds an unchanged identity: same track id,
 *     captions kept.
 * Any failure names the file and the cause and leaves the original intact; the batch goes on with the next file.
 * A process killed between 2 and 6 leaves a 'pending' row; {@link TagWriter.recover} settles it before the next
 * write or undo (see [Note: Recovering an interrupted write]).
 */
import { constants as fsConstants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type Database from 'better-sqlite3';
import { parseFromTokenizer, type IAudioMetadata } from 'music-metadata';
import * as strtok3 from 'strtok3';
import type { ITokenizer } from 'strtok3';
import {
  createBatch,
  finishBatch,
  finishJournal,
  journalBefore,
  journalOfBatch,
  newBatchId,
  pendingJournal,
  getBatch,
  type JournalRow,
  type SlotValues,
} from '../db/tags';
import type { Track, TracksRepo } from '../db/tracks';
import { fingerprintFile } from '../library/fingerprint';
import { nodeFs } from '../library/fs';
import { sniffAudioMime } from '../library/formats';
import { toTrackMeta } from '../library/metadata';
import { slotsFor, type TagFamily, type TagField } from './fields';
import { isWritableFormat, openTags, type SlotValue, type TagDocument } from './tag-io';

/** The file operations a write uses; injected in tests to simulate a full disk or a vanished file. */
export interface TagFileOps {
  copyFile(src: string, dst: string): Promise<void>;
  fsyncFile(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  fsyncDir(dir: string): Promise<void>;
}

/** The real file operations. */
export const nodeTagFileOps: TagFileOps = {
  copyFile: (src, dst) => fsp.copyFile(src, dst, fsConstants.COPYFILE_EXCL),
  async fsyncFile(path) {
    const h = await fsp.open(path, 'r+');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  async fsyncDir(dir) {
    // Directories cannot be fsynced on every platform (Windows); the rename is still atomic there.
    try {
      const h = await fsp.open(dir, 'r');
      try {
        await h.sync();
      } finally {
        await h.close();
      }
    } catch {
      /* best effort */
    }
  },
};

/** What the writer needs. */
export interface TagWriterDeps {
  readonly db: Database.Database;
  readonly tracks: TracksRepo;
  readonly now?: () => number;
  readonly ops?: TagFileOps;
  /** Files written at once (default 16); see [Note: Overlapping fsyncs]. */
  readonly concurrency?: number;
  /** Test hook: runs after the copy is written and checked, right before the rename. */
  readonly beforeRename?: (path: string) => Promise<void> | void;
}

/** One slot's change in a plan. */
export interface SlotChange {
  readonly field: TagField;
  readonly key: string;
  readonly oldValues: SlotValue;
  readonly newValues: SlotValue;
}

/** What writing would do to one file. */
export interface FilePlan {
  readonly trackId: number;
  readonly path: string;
  /** null when the file cannot be written (see `error`). */
  readonly family: TagFamily | null;
  /** Only the slots whose value changes. */
  readonly changes: SlotChange[];
  readonly error: string | null;
}

/** The outcome for one file of a write or undo. */
export interface FileOutcome {
  readonly trackId: number | null;
  readonly path: string;
  readonly status: 'written' | 'unchanged' | 'skipped' | 'failed';
  readonly message: string | null;
}

/** The result of a batch. */
export interface BatchResult {
  readonly batchId: string | null;
  readonly files: FileOutcome[];
}

/** New values per field for one track: `null` removes the field. */
export type FieldValues = Partial<Record<TagField, readonly string[] | null>>;

/** Name of the temporary copy of `path`: hidden and ending in .tmp, so the scanner and watcher ignore it. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.musilingo-tag.tmp`);
}

function sameValues(a: SlotValue, b: SlotValue): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** A user-facing cause for a file-system error. */
export function describeWriteError(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return `"${path}" could not be written: the disk is full; the original is unchanged`;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return `"${path}" could not be written: permission denied (read-only file or folder); the original is unchanged`;
    case 'ENOENT':
      return `"${path}" vanished while it was being written`;
    case 'EBUSY':
    case 'ETXTBSY':
      return `"${path}" is locked by another program; the original is unchanged`;
    default:
      return `"${path}" could not be written: ${(e as Error | undefined)?.message ?? String(e)}; the original is unchanged`;
  }
}

// strtok3 exports fromFile only under its "node" export condition; see the same cast in main/library/metadata.ts.
type FromFile = (path: string, opts?: { fileInfo?: { mimeType?: string } }) => Promise<ITokenizer & { close(): Promise<void> }>;
const fromFile = (strtok3 as unknown as { fromFile: FromFile }).fromFile;

function unsupported(path: string): string {
  return `"${path}" is unsupported for writing (not MP3, FLAC, Ogg Vorbis, Opus, M4A, WAV or AIFF)`;
}

/** The slots whose value writing `values` into `doc` would change. */
function changesIn(doc: TagDocument, values: FieldValues): SlotChange[] {
  const changes: SlotChange[] = [];
  for (const [field, v] of Object.entries(values) as [TagField, readonly string[] | null][]) {
    for (const slot of slotsFor(doc.family, field, doc.hasRiffInfo)) {
      const old = doc.read(slot.key);
      const next = v?.length ? (slot.multi ? [...v] : [v.join('; ')]) : null;
      if (!sameValues(old, next)) changes.push({ field, key: slot.key, oldValues: old, newValues: next });
    }
  }
  return changes;
}

/** Parses a file with music-metadata; the content decides the format (a temporary copy has no audio extension). */
async function parseAudio(path: string, head: Uint8Array): Promise<IAudioMetadata> {
  const mime = sniffAudioMime(head);
  const tokenizer = await fromFile(path, mime ? { fileInfo: { mimeType: mime } } : {});
  try {
    return await parseFromTokenizer(tokenizer, { skipCovers: true, duration: false });
  } finally {
    await tokenizer.close();
  }
}

/** The values music-metadata read for a slot, in the same shape as {@link SlotValue}. */
export function slotFromNative(native: IAudioMetadata['native'], family: TagFamily, key: string): SlotValue {
  const values: string[] = [];
  const str = (v: unknown): string => (typeof v === 'string' ? v : String(v));
  if (key.startsWith('INFO:')) {
    for (const t of native.exif ?? []) if (t.id === key.slice(5)) values.push(str(t.value));
  } else if (family === 'id3v2.3' || family === 'id3v2.4') {
    const tags = Object.entries(native).filter(([k]) => k.startsWith('ID3v2')).flatMap(([, t]) => t);
    if (key.startsWith('COMM:')) {
      const desc = key.slice(5);
      for (const t of tags) {
        const v = t.value as { descriptor?: string; text?: string } | null;
        if (t.id === 'COMM' && v && typeof v === 'object' && (v.descriptor ?? '') === desc) values.push(v.text ?? '');
      }
    } else for (const t of tags) if (t.id === key) values.push(str(t.value));
  } else if (family === 'xiph') {
    for (const t of native.vorbis ?? []) if (t.id.toUpperCase() === key.toUpperCase()) values.push(str(t.value));
  } else {
    const id = key.startsWith('----:') ? `----:com.apple.iTunes:${key.slice(5)}` : key;
    for (const t of native.iTunes ?? []) if (t.id === id) values.push(str(t.value));
  }
  return values.length ? values : null;
}

/** Writes, checks and undoes tag batches. One per database connection. */
export class TagWriter {
  readonly #d: Required<Omit<TagWriterDeps, 'beforeRename'>> & Pick<TagWriterDeps, 'beforeRename'>;

  constructor(deps: TagWriterDeps) {
    this.#d = { now: Date.now, ops: nodeTagFileOps, concurrency: 16, ...deps };
  }

  /**
   * [Note: Overlapping fsyncs]
   * Each file costs two fsyncs (the copy, then its folder after the rename), and a disk answers an fsync in
   * milliseconds while the CPU idles. Several files go through the steps at once so those waits overlap; each
   * file still follows [Note: The safe tag write] on its own, and the journal rows are written by the one
   * connection in whatever order the files reach step 2. Results keep the order of the input.
   */
  /**
   * Group commit for folder fsyncs: files of one folder renamed while an fsync of that folder runs share the
   * next one, which starts after all their renames. Every caller still returns only after an fsync that began
   * after its own rename, so each rename is durable when its journal row is closed.
   */
  #dirSyncs = new Map<string, { running: Promise<void>; next: Promise<void> | null }>();

  async #syncDir(dir: string): Promise<void> {
    const ops = this.#d.ops;
    const state = this.#dirSyncs.get(dir);
    if (!state) {
      const running = ops.fsyncDir(dir).finally(() => {
        const s = this.#dirSyncs.get(dir);
        if (s && s.running === running && !s.next) this.#dirSyncs.delete(dir);
      });
      this.#dirSyncs.set(dir, { running, next: null });
      return running;
    }
    if (!state.next) {
      const next = state.running.then(() => {
        const run = ops.fsyncDir(dir);
        this.#dirSyncs.set(dir, { running: run, next: null });
        return run.finally(() => {
          const s = this.#dirSyncs.get(dir);
          if (s && s.running === run && !s.next) this.#dirSyncs.delete(dir);
        });
      });
      state.next = next;
    }
    return state.next;
  }

  async #each<T>(items: readonly T[], fn: (item: T) => Promise<FileOutcome>): Promise<FileOutcome[]> {
    const out: FileOutcome[] = new Array<FileOutcome>(items.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.#d.concurrency, items.length)) }, worker));
    return out;
  }

  /** Reads the file's current slot values for `fields` and returns what writing `values` would change. */
  plan(track: Track, values: FieldValues): FilePlan {
    const base = { trackId: track.id, path: track.path };
    if (!isWritableFormat(track.path)) return { ...base, family: null, changes: [], error: unsupported(track.path) };
    let doc;
    try {
      doc = openTags(track.path);
    } catch (e) {
      return { ...base, family: null, changes: [], error: (e as Error).message };
    }
    try {
      return { ...base, family: doc.family, changes: changesIn(doc, values), error: null };
    } finally {
      doc.dispose();
    }
  }

  /** Writes `values` into each track's file as one batch. Files that fail are reported; the batch goes on. */
  async write(items: readonly { track: Track; values: FieldValues }[], fields: readonly TagField[]): Promise<BatchResult> {
    await this.recover();
    const d = this.#d;
    const batchId = newBatchId(d.now());
    createBatch(d.db, { id: batchId, kind: 'write', undoes: null, fields }, d.now());
    const files = await this.#each(items, async ({ track, values }) => {
      if (!isWritableFormat(track.path)) return { trackId: track.id, path: track.path, status: 'failed', message: unsupported(track.path) };
      return this.#writeFile(track, batchId, (doc) => {
        const oldValues: SlotValues = {};
        const newValues: SlotValues = {};
        for (const c of changesIn(doc, values)) {
          oldValues[c.key] = c.oldValues;
          newValues[c.key] = c.newValues;
        }
        return { oldValues, newValues };
      });
    });
    finishBatch(d.db, batchId, null, d.now());
    return { batchId, files };
  }

  /** Restores the old values of every file written by `batchId`, as a new 'undo' batch. */
  async undo(batchId: string): Promise<BatchResult> {
    await this.recover();
    const d = this.#d;
    const batch = getBatch(d.db, batchId);
    if (!batch) throw new Error(`No tag batch "${batchId}". See: musilingo tags history`);
    if (batch.kind !== 'write') throw new Error(`Batch "${batchId}" is an undo; undo the write it belongs to instead`);
    if (batch.undoneBy) throw new Error(`Batch "${batchId}" was already undone by ${batch.undoneBy}`);
    const rows = journalOfBatch(d.db, batchId).filter((r) => r.state === 'written');
    const undoId = newBatchId(d.now());
    createBatch(d.db, { id: undoId, kind: 'undo', undoes: batchId, fields: [] }, d.now());
    const files = await this.#each(rows.reverse(), async (row) => {
      const track = row.trackId === null ? undefined : d.tracks.getById(row.trackId);
      if (!track) return { trackId: row.trackId, path: row.path, status: 'failed', message: `"${row.path}" is no longer in the library` };
      return this.#writeFile(track, undoId, (doc) => {
        if (doc.family !== row.family) throw new Error(`"${track.path}": its tag is ${doc.family} now, it was ${row.family} when written; not undone`);
        const current: SlotValues = {};
        for (const key of Object.keys(row.oldValues)) current[key] = doc.read(key);
        return { oldValues: current, newValues: row.oldValues };
      });
    });
    finishBatch(d.db, undoId, batchId, d.now());
    return { batchId: undoId, files };
  }

  /**
   * [Note: Recovering an interrupted write]
   * A 'pending' journal row means a process died after journaling a file and before closing the row. Either the
   * rename had not happened (the file still has fingerprint_before: the write simply did not take place; the
   * row is closed as failed and the stale copy removed) or it had (the file holds the new values but the library
   * row was not updated yet: the library is updated now and the row closed as written, so undo can restore it).
   */
  async recover(): Promise<FileOutcome[]> {
    const d = this.#d;
    const out: FileOutcome[] = [];
    for (const row of pendingJournal(d.db)) out.push(await this.#recoverRow(row));
    return out;
  }

  async #recoverRow(row: JournalRow): Promise<FileOutcome> {
    const d = this.#d;
    const now = d.now();
    await d.ops.unlink(tempPathFor(row.path)).catch(() => undefined);
    let fp: string;
    let head: Uint8Array;
    try {
      const st = await fsp.stat(row.path);
      const r = await fingerprintFile(nodeFs, row.path, st.size);
      fp = r.fingerprint;
      head = r.head;
    } catch (e) {
      finishJournal(d.db, row.id, { state: 'failed', error: `interrupted; ${describeWriteError(row.path, e)}` }, now);
      return { trackId: row.trackId, path: row.path, status: 'failed', message: describeWriteError(row.path, e) };
    }
    if (fp === row.fingerprintBefore) {
      finishJournal(d.db, row.id, { state: 'failed', error: 'interrupted before the file was replaced; the file was not changed' }, now);
      return { trackId: row.trackId, path: row.path, status: 'failed', message: `"${row.path}": an interrupted write was rolled back; the file was not changed` };
    }
    const meta = await parseAudio(row.path, head);
    const isNew = Object.entries(row.newValues).every(([key, v]) => sameValues(slotFromNative(meta.native, row.family, key), v));
    if (!isNew) {
      finishJournal(d.db, row.id, { state: 'failed', error: 'interrupted; the file was changed by something else since' }, now);
      return { trackId: row.trackId, path: row.path, status: 'failed', message: `"${row.path}" changed on disk since the interrupted write` };
    }
    await this.#commitLibrary(row.trackId, row.path, row.id, meta, now);
    return { trackId: row.trackId, path: row.path, status: 'written', message: 'completed an interrupted write' };
  }

  async #commitLibrary(trackId: number | null, path: string, journalId: number, meta: IAudioMetadata, now: number): Promise<string> {
    const d = this.#d;
    const st = await fsp.stat(path);
    const { fingerprint } = await fingerprintFile(nodeFs, path, st.size);
    const track = trackId === null ? undefined : d.tracks.getById(trackId);
    d.db.transaction(() => {
      if (track) {
        d.tracks.update(
          track.id,
          { path, folderId: track.folderId, sizeBytes: st.size, mtimeMs: Math.trunc(st.mtimeMs), fingerprint },
          // A tag write never changes the audio, so the length the scanner measured from it stays (the read-back
          // parses tags only; for an Ogg it would find no duration at all).
          { ...toTrackMeta(meta), durationMs: track.durationMs, durationEstimated: track.durationEstimated === true },
          now,
        );
      }
      finishJournal(d.db, journalId, { state: 'written', fingerprintAfter: fingerprint }, now);
    })();
    return fingerprint;
  }

  /**
   * One file through [Note: The safe tag write]. `compute` sees the temporary copy's tags (the same bytes as the
   * original, parsed once) and returns the old and new value of every slot to change.
   */
  async #writeFile(track: Track, batchId: string, compute: (doc: TagDocument) => { oldValues: SlotValues; newValues: SlotValues }): Promise<FileOutcome> {
    const d = this.#d;
    const path = track.path;
    const base = { trackId: track.id, path };
    // 1. Identity: the file must be the one the library knows.
    let st;
    try {
      st = await fsp.stat(path);
    } catch (e) {
      return { ...base, status: 'failed', message: describeWriteError(path, e) };
    }
    // A read-only file is the user's "do not touch" even where the process could (root, or a writable folder
    // lets a rename replace a read-only file).
    if ((st.mode & 0o222) === 0) {
      return { ...base, status: 'failed', message: `"${path}" is read-only; make it writable to tag it` };
    }
    const { fingerprint } = await fingerprintFile(nodeFs, path, st.size);
    if (fingerprint !== track.fingerprint) {
      return { ...base, status: 'skipped', message: `"${path}" changed on disk since the last scan; rescan it first` };
    }
    const tmp = tempPathFor(path);
    let journalId: number | null = null;
    const fail = async (message: string): Promise<FileOutcome> => {
      await d.ops.unlink(tmp).catch(() => undefined);
      if (journalId !== null) finishJournal(d.db, journalId, { state: 'failed', error: message }, d.now());
      return { ...base, status: 'failed', message };
    };
    try {
      // The copy is made first so the tag library parses the file once; the original is not touched until the
      // rename, after the journal row is committed.
      await d.ops.copyFile(path, tmp);
      const doc = openTags(tmp, path);
      let family: TagFamily;
      let newValues: SlotValues;
      try {
        family = doc.family;
        const c = compute(doc);
        newValues = c.newValues;
        if (Object.keys(newValues).every((k) => sameValues(c.oldValues[k] ?? null, newValues[k] ?? null))) {
          doc.dispose();
          await d.ops.unlink(tmp).catch(() => undefined);
          return { ...base, status: 'unchanged', message: null };
        }
        // 2. Journal, committed before the original is touched.
        journalId = journalBefore(d.db, { batchId, trackId: track.id, path, family, fingerprintBefore: fingerprint, oldValues: c.oldValues, newValues }, d.now());
        // 3. Tags written into the copy, which is fsynced.
        for (const [key, v] of Object.entries(newValues)) doc.write(key, v);
        doc.save();
      } finally {
        doc.dispose();
      }
      await d.ops.fsyncFile(tmp);
      // 4. Read back with music-metadata and check every written slot.
      const head = Buffer.alloc(64);
      const h = await fsp.open(tmp, 'r');
      try {
        await h.read(head, 0, 64, 0);
      } finally {
        await h.close();
      }
      const meta = await parseAudio(tmp, head);
      for (const [key, v] of Object.entries(newValues)) {
        const got = slotFromNative(meta.native, family, key);
        if (!sameValues(got, v)) {
          return await fail(`"${path}": the written ${key} read back as ${JSON.stringify(got)} instead of ${JSON.stringify(v)}; the original is unchanged`);
        }
      }
      await d.beforeRename?.(path);
      // The original must still be the file we copied: a rename would otherwise resurrect a file the user just
      // deleted, or drop an edit another program made meanwhile. (A change in the instant between this check and
      // the rename is not caught; the journal still holds the old values.)
      const now = await fsp.stat(path).catch(() => null);
      if (!now) return await fail(`"${path}" vanished while it was being written`);
      if (now.size !== st.size || now.mtimeMs !== st.mtimeMs) return await fail(`"${path}" changed while it was being written; the original is unchanged`);
      // 5. Atomic replace.
      await d.ops.rename(tmp, path);
      await this.#syncDir(dirname(path));
      // 6. Library row and journal in one transaction.
      await this.#commitLibrary(track.id, path, journalId, meta, d.now());
      return { ...base, status: 'written', message: null };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException | undefined)?.code;
      return await fail(code ? describeWriteError(path, e) : `"${path}" could not be written: ${(e as Error).message}; the original is unchanged`);
    }
  }
}
