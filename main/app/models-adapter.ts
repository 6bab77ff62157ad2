/**
 * @file Wires the model manager (main/models) to the IPC contract (main process, E2E bridge): the catalog with
 * pack states, downloads with progress, conversion in its own process, the active model, and the doctor.
 */
import type Database from 'better-sqlite3';
import type { Events } from '../../preload/contract';
import { getModelPack, listModelPacks, packId, type ModelPackRow, type ModelVariant } from '../db/models';
import { IpcError } from '../ipc/errors';
import { runDoctor } from '../models/doctor';
import type { HubConfig } from '../models/hub';
import { catalogEntry } from '../models/catalog';
import { defaultVariant, downloadModel, listModels, type ModelProgress } from '../models/manager';
import { toModelEntries, toUiDoctorReport } from '../models/ui';
import { modelsDir } from '../paths';
import type { EventHub } from './events';
import type { ModelsFacade } from './facades';
import type { AppLog } from './services';
import type { SettingsStore } from './settings';

// [Note: Conversion runs in its own process]
// Converting a 7B checkpoint takes minutes of CPU and ONNX Runtime calls that block their thread, so it never
// runs in main (STYLE B2). The app starts the bundled CLI (`musilingo models convert <id> --variant v`) as a
// child process — an Electron utility process in the app, a Node child process in the E2E bridge — with the
// same data folder. The CLI writes the pack row's state and progress as it goes (the models table is built
// for several processes: WAL, busy timeout); main polls that one row twice a second and forwards it as
// models:progress. Downloads are network and disk I/O, so they run in main's event loop.

/** A started CLI process (see [Note: Conversion runs in its own process]). */
export interface CliRun {
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  kill(): void;
  /** Asks it to stop cleanly (SIGINT: the CLI hands its work back and saves what it has). */
  interrupt(): void;
}

/** Starts the bundled CLI with arguments, with MUSILINGO_HOME set to the app's data folder. */
export type CliRunner = (args: readonly string[], log: (line: string) => void) => CliRun;

/** Options of {@link createModelsFacade}. */
export interface ModelsFacadeOptions {
  readonly db: Database.Database;
  readonly dataDir: string;
  readonly events: EventHub;
  readonly settings: SettingsStore;
  readonly log: AppLog;
  readonly runCli: CliRunner | null;
  /** The Hub to download from (default: HF_ENDPOINT / huggingface.co, from the environment). */
  readonly hub?: HubConfig;
  /** Poll interval of a running conversion's row. */
  readonly pollMs?: number;
}

/** The model id of a stored reference (a pack id `model@variant` or a model id). */
function modelIdOf(ref: string): string {
  return ref.includes('@') ? ref.slice(0, ref.lastIndexOf('@')) : ref;
}

/** Creates the Models page facade. */
export function createModelsFacade(opts: ModelsFacadeOptions): ModelsFacade & { close(): void } {
  const { db, events, log } = opts;
  const downloads = new Map<string, AbortController>();
  const conversions = new Map<string, CliRun>();

  function emitRow(row: ModelPackRow, phase: Events['models:progress']['phase'], message: string): void {
    events.emit('models:progress', { modelId: row.modelId, phase, progress: row.progress, message, failed: row.state === 'failed' });
  }

  // The downloader reports every chunk; the renderer needs a few updates a second (phase changes always).
  const lastSent = new Map<string, { at: number; phase: string }>();
  function onProgress(p: ModelProgress): void {
    if (p.kind !== 'download') return;
    const d = p.progress;
    const now = Date.now();
    const last = lastSent.get(p.packId);
    if (last && last.phase === d.phase && now - last.at < 150 && d.phase !== 'done') return;
    lastSent.set(p.packId, { at: now, phase: d.phase });
    const fraction = d.bytesTotal > 0 ? d.bytesDone / d.bytesTotal : 0;
    const eta = d.etaSeconds !== undefined ? `, ${Math.ceil(d.etaSeconds)} s left` : '';
    events.emit('models:progress', {
      modelId: modelIdOf(p.packId),
      phase: d.phase === 'verifying' ? 'verify' : 'download',
      progress: Math.min(0.999, fraction),
      message: `${d.repo}${d.file ? `: ${d.file}` : ''}${eta}`,
    });
  }

  /** The model shown as active: the user's choice, else the newest ready pack's model. */
  function activeModelId(): string | null {
    const chosen = opts.settings.getActiveModel();
    if (chosen) return modelIdOf(chosen);
    const newest = listModelPacks(db).filter((p) => p.state === 'ready').sort((a, b) => b.updatedAt - a.updatedAt)[0];
    return newest?.modelId ?? null;
  }

  return {
    catalog: () => toModelEntries(listModels({ db }), activeModelId()),

    async download(modelId) {
      // Fails fast on an unknown id or a tokenizer, before anything runs in the background: the call answers
      // with the error instead of ok plus a line in the log.
      let entry;
      try {
        entry = catalogEntry(modelId);
      } catch (e) {
        throw new IpcError('not-found', e instanceof Error ? e.message : String(e));
      }
      if (entry.kind !== 'musilingo') throw new IpcError('invalid-argument', `"${modelId}" is a tokenizer, not a model; it is downloaded with each model.`);
      if (downloads.has(modelId)) return;
      const { variant } = await defaultVariant();
      const ac = new AbortController();
      downloads.set(modelId, ac);
      const ctx = {
        db,
        modelsDir: modelsDir(opts.dataDir),
        env: process.env,
        signal: ac.signal,
        ...(opts.hub ? { hub: opts.hub } : {}),
        onProgress,
        onChanged: (row: ModelPackRow) => emitRow(row, 'download', row.state === 'failed' ? (row.error ?? 'Download failed') : row.state),
      };
      void downloadModel(ctx, modelId, variant)
        .then((row) => emitRow({ ...row, progress: 1 }, 'download', 'Downloaded. Convert it to use it.'))
        .catch((e: unknown) => log('error', `Download of ${modelId} failed: ${e instanceof Error ? e.message : String(e)}`))
        .finally(() => downloads.delete(modelId));
    },

    convert({ modelId, variant }) {
      if (!opts.runCli) throw new IpcError('unavailable', 'Converting models is not available in this build (the command-line tool is missing).');
      const id = packId(modelId, variant as ModelVariant);
      if (conversions.has(id)) return;
      if (!listModelPacks(db).some((p) => p.modelId === modelId && p.sourcePath)) {
        throw new IpcError('invalid-argument', `"${modelId}" has no downloaded checkpoint yet: download it first.`);
      }
      const run = opts.runCli(['models', 'convert', modelId, '--variant', variant], (line) => log('info', `[convert] ${line}`));
      conversions.set(id, run);
      events.emit('models:progress', { modelId, phase: 'convert', progress: 0, message: 'Starting the converter…' });
      const timer = setInterval(() => {
        const row = getModelPack(db, id);
        if (row?.state === 'converting') emitRow(row, 'convert', 'Converting…');
      }, opts.pollMs ?? 500);
      void run.exited.then((code) => {
        clearInterval(timer);
        conversions.delete(id);
        const row = getModelPack(db, id);
        if (code !== 0 || row?.state !== 'ready') log('error', `Conversion of ${id} ended with code ${code ?? 'none'}: ${row?.error ?? 'no pack was written'}`);
        events.emit('models:progress', {
          modelId,
          phase: 'convert',
          progress: 1,
          message: row?.state === 'ready' ? 'Ready.' : `Conversion failed: ${row?.error ?? `the converter exited with code ${code ?? 'none'}`}`,
          failed: row?.state !== 'ready',
        });
      });
    },

    activate(modelId) {
      const ready = listModelPacks(db).filter((p) => p.modelId === modelId && p.state === 'ready');
      if (ready.length === 0) throw new IpcError('invalid-argument', `"${modelId}" has no converted pack yet: convert it first.`);
      opts.settings.setActiveModel(modelId);
      events.emit('models:progress', { modelId, phase: 'verify', progress: 1, message: 'Active.' });
    },

    doctor: async () => toUiDoctorReport(await runDoctor()),

    close() {
      for (const ac of downloads.values()) ac.abort();
      for (const run of conversions.values()) run.kill();
    },
  };
}
