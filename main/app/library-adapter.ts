/**
 * @file Wires the LibraryService (main/library) to the IPC contract (main process, E2E bridge): folders with
 * live scan status, the library table's read model, track details, and library events turned into contract
 * events. Startup rescans every folder and then watches them.
 */
import type Database from 'better-sqlite3';
import type { FolderInfo, ScanStatus, TrackDetail } from '../../preload/contract';
import { captionsForTrack } from '../db/captions';
import type { FolderStats } from '../db/folders';
import { IpcError } from '../ipc/errors';
import { FolderError } from '../library/errors';
import { LibraryService, type LibraryServiceOptions } from '../library/library-service';
import type { EventHub } from './events';
import type { FolderConsent } from './folder-consent';
import type { LibraryFacade } from './facades';
import type { AppLog } from './services';
import type { TrackTableRepo } from './track-table-repo';

/** Options of {@link createLibraryFacade}. */
export interface LibraryFacadeOptions {
  readonly db: Database.Database;
  readonly events: EventHub;
  readonly log: AppLog;
  /** The table's read model (shared with the analysis side). */
  readonly table: TrackTableRepo;
  /** Watch folders for changes after the startup rescan. Default true. */
  readonly watch?: boolean;
  readonly service?: LibraryServiceOptions;
  /** Approves a folder path from the renderer (picked or confirmed by the user; see ./folder-consent.ts). */
  readonly consent?: FolderConsent;
}

function idleStatus(): ScanStatus {
  return { state: 'idle', seen: 0, total: null, message: '' };
}

/** Rethrows library errors with an IPC error code: a bad folder is the caller's input, an unknown id not found. */
function asIpcError(e: unknown): never {
  if (e instanceof FolderError) {
    throw new IpcError(/is not in the library/.test(e.message) ? 'not-found' : 'invalid-argument', e.message);
  }
  throw e;
}

/** Creates the library facade and starts the startup rescan + watcher in the background. */
export function createLibraryFacade(opts: LibraryFacadeOptions): LibraryFacade & { readonly service: LibraryService; ready: Promise<void> } {
  const { db, events, log } = opts;
  const service = new LibraryService(db, opts.service ?? {});
  const table = opts.table;
  const status = new Map<number, ScanStatus>();

  function statusOf(id: number): ScanStatus {
    return status.get(id) ?? (service.isWatching ? { ...idleStatus(), state: 'watching' } : idleStatus());
  }

  function setStatus(folderId: number, scan: ScanStatus): void {
    status.set(folderId, scan);
    events.emit('folders:progress', { folderId, scan });
  }

  service.on('progress', (p) => {
    const isDone = p.phase === 'done' || p.phase === 'cancelled';
    const scan: ScanStatus = isDone
      ? { state: service.isWatching ? 'watching' : 'idle', seen: p.found, total: p.found, message: p.phase === 'cancelled' ? 'The last scan was cancelled.' : '' }
      : p.phase === 'listing'
        ? { state: 'scanning', seen: p.found, total: null, message: 'Looking for audio files…' }
        : { state: 'scanning', seen: p.done, total: p.toRead, message: 'Reading tags…' };
    setStatus(p.folderId, scan);
  });
  service.on('changed', (c) => {
    const ids = [...c.added, ...c.updated, ...c.moved, ...c.restored, ...c.missing];
    if (ids.length) events.emit('library:changed', { reason: 'scan', trackIds: ids.length <= 500 ? ids : null });
  });
  service.on('watch-error', (e) => log('error', e.message));

  /** Scans one folder in the background; a failure shows on the folder, never as an unhandled rejection. */
  function scanInBackground(folderId: number): void {
    setStatus(folderId, { state: 'scanning', seen: 0, total: null, message: 'Starting…' });
    service.scan(folderId).then(
      () => {
        if (statusOf(folderId).state === 'scanning') setStatus(folderId, { ...idleStatus(), state: service.isWatching ? 'watching' : 'idle' });
      },
      (e: unknown) => {
        const message = e instanceof Error ? e.message : String(e);
        log('error', `scan of folder ${folderId} failed: ${message}`, e);
        setStatus(folderId, { state: 'error', seen: 0, total: null, message });
      },
    );
  }

  function toInfo(f: FolderStats): FolderInfo {
    return { id: f.id, path: f.path, addedAt: f.addedAt, lastScanAt: f.lastScanAt, trackCount: f.trackCount, errorCount: f.errorCount, scan: statusOf(f.id) };
  }

  const ready = (async () => {
    try {
      const { failed } = await service.rescanAll();
      for (const f of failed) setStatus(f.folder.id, { state: 'error', seen: 0, total: null, message: f.message });
      if (opts.watch ?? true) {
        await service.watch();
        for (const f of service.listFolders()) if (statusOf(f.id).state === 'idle') setStatus(f.id, { ...idleStatus(), state: 'watching' });
      }
    } catch (e) {
      log('error', `Startup rescan failed: ${e instanceof Error ? e.message : String(e)}`, e);
    }
  })();

  return {
    service,
    ready,
    list: (q) => table.page(q),
    ids: (q) => table.ids(q),
    genres: () => table.genres(),
    get(trackId): TrackDetail {
      const t = service.tracks.getById(trackId);
      if (!t) throw new IpcError('not-found', `Track ${trackId} is not in the library (it may have been removed).`);
      const captions = captionsForTrack(db, trackId);
      const newest = captions[0];
      const row = table.captionState(trackId, newest !== undefined);
      return {
        id: t.id,
        title: t.title ?? t.path.split(/[\\/]/).pop() ?? t.path,
        artist: t.artist ?? '',
        album: t.album ?? '',
        genre: t.genre ?? '',
        year: t.year,
        durationMs: t.durationMs,
        path: t.path,
        caption: newest?.text ?? '',
        captionState: row,
        albumArtist: t.albumArtist ?? '',
        trackNo: t.trackNo,
        discNo: t.discNo,
        mood: t.mood ?? '',
        comment: t.comment ?? '',
        bpm: t.bpm,
        musicalKey: t.musicalKey ?? '',
        codec: t.codec ?? '',
        container: t.container ?? '',
        sampleRateHz: t.sampleRateHz,
        channels: t.channels,
        bitrateBps: t.bitrateBps,
        sizeBytes: t.sizeBytes,
        addedAt: t.addedAt,
        missing: t.missingSince !== null,
        captions: captions.map((c) => ({
          id: c.id,
          startMs: c.startMs,
          lengthMs: c.lengthMs,
          modelId: c.modelId,
          adapterId: c.adapterId,
          source: c.source,
          text: c.text,
          createdAt: c.createdAt,
        })),
      };
    },
    folders: () => service.listFolders().map(toInfo),
    async addFolder(raw) {
      const path = opts.consent ? await opts.consent.approve(raw) : raw;
      let folder;
      try {
        folder = service.addFolder(path);
      } catch (e) {
        asIpcError(e);
      }
      scanInBackground(folder.id);
      const stats = service.listFolders().find((f) => f.id === folder.id);
      return stats ? toInfo(stats) : { id: folder.id, path: folder.path, addedAt: folder.addedAt, lastScanAt: folder.lastScanAt, trackCount: 0, errorCount: 0, scan: statusOf(folder.id) };
    },
    async removeFolder(folderId) {
      try {
        await service.removeFolder(folderId);
      } catch (e) {
        asIpcError(e);
      }
      status.delete(folderId);
      events.emit('library:changed', { reason: 'remove', trackIds: null });
    },
    rescan(folderId) {
      if (!service.folders.getById(folderId)) throw new IpcError('not-found', `Folder ${folderId} is not in the library.`);
      scanInBackground(folderId);
    },
    errors: (folderId) =>
      service.scanErrors.list({ folderId }).map((e) => ({ id: e.id, folderId: e.folderId, path: e.path, code: e.code, message: e.message, at: e.at })),
    close: () => service.stop(),
  };
}
