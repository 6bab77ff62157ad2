/**
 * @file Wires the model manager (main/models) to the IPC contract (main process, E2E bridge): the catalog with
 * pack states, downloads with progress, conversion in its own process, the active model, and the doctor.
 */
import type Database from 'better-sqlite3';
import type { Events } from '../../preload/contract';
import { listModelPacks, packId, type ModelPackRow, type ModelVariant } from '../db/models';
import { IpcError } from '../ipc/errors';
import { runDoctor } from '../models/doctor';
import type { HubConfig } from '../models/hub';
import { catalogEntry } from '../models/catalog';
import { defaultVariant, downloadModel, listModels, type ModelProgress } from '../models/manager';
import { toModelEntries, toUiDoctorReport } from '../models/ui';
import { defaultDbPath, modelsDir } from '../paths';
import type { ConvertThreadData, ConvertThreadMessage } from '../models/convert-thread';
import { findThreadEntry } from '../training/worker-thread';
import { runJobWorker, supervisedJob, threadLauncher, type JobLauncher } from '../workers/job-worker';
import { createSupervisor, type Supervisor } from '../workers/supervisor';
import type { EventHub } from './events';
import type { ModelsFacade } from './facades';
import type { AppLog } from './services';
import type { SettingsStore } from './settings';

// [Note: Conversion runs in its own worker]
// Converting a 7B checkpoint takes minutes of CPU and ONNX Runtime calls that block their thread, so it never
// runs on main's event loop (STYLE B2). The app starts the converter worker (main/models/convert-thread.ts: a
// utility process in Electron, a worker thread on out/cli/convert.thread.mjs elsewhere) under a "converter"
// supervisor (main/workers/supervisor.ts): it runs the model manager's convertModel on its own database
// connection (the models table is built for several writers: WAL, busy timeout) and posts typed progress
// messages, which main forwards as models:progress. A worker that dies is reported (workers:changed, and
// models:progress failed with the reason); converting again resumes from the stages already written. Downloads
// are network and disk I/O, so they run in main's event loop.

/** The default converter: a worker thread on the CLI bundle's convert.thread.mjs, or null when it is not built. */
function defaultConvertLauncher(): JobLauncher | null {
  const entry = findThreadEntry('convert.thread.mjs', 'MUSILINGO_CONVERT_THREAD');
  return entry ? threadLauncher(entry) : null;
}

/** The converter worker ended without finishing (a crash, out of memory, a kill). */
class ConverterExitedError extends Error {
  constructor(readonly code: number | null) {
    super(`the converter stopped unexpectedly (code ${code ?? 'unknown'}); start it again and it resumes`);
    this.name = 'ConverterExitedError';
  }
}

/** A started CLI process (the app's runner for the bundled CLI, main/app/cli-runner.ts). */
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
  /** The library database file (the converter thread opens its own connection). Default `<dataDir>/library.sqlite`. */
  readonly dbPath?: string;
  /**
   * Starts a converter worker (the app: a utility process); default a worker thread on the bundled
   * out/cli/convert.thread.mjs; null = conversion unavailable.
   */
  readonly launchConvert?: JobLauncher | null;
  /** How many crashes of one conversion's worker are restarted before it is reported failed (default 0). */
  readonly convertRestarts?: number;
}

/** The model id of a stored reference (a pack id `model@variant` or a model id). */
function modelIdOf(ref: string): string {
  return ref.includes('@') ? ref.slice(0, ref.lastIndexOf('@')) : ref;
}

/** Creates the Models page facade. */
export function createModelsFacade(opts: ModelsFacadeOptions): ModelsFacade & { close(): void } {
  const { db, events, log } = opts;
  const downloads = new Map<string, AbortController>();
  const conversions = new Map<string, { cancel(): void }>();

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

  /**
   * Runs one conversion on a converter worker under its own supervisor (the one that keeps the inference
   * worker): a crash is reported (workers:changed 'restarting'/'failed' with the reason) and, within
   * `convertRestarts`, started again (it resumes); after that the conversion is reported failed and the user
   * starts it again. A conversion that ends (ready, a real error, cancelled) stops its supervisor.
   */
  function superviseConversion(id: string, data: ConvertThreadData, launch: JobLauncher): void {
    const { modelId } = data;
    const controller = new AbortController();
    conversions.set(id, { cancel: () => controller.abort() });
    events.emit('models:progress', { modelId, phase: 'convert', progress: 0, message: 'Starting the converter…' });
    let isOver = false;
    const end = (message: string): void => {
      if (isOver) return;
      isOver = true;
      conversions.delete(id);
      events.emit('models:progress', { modelId, phase: 'convert', progress: 1, message, failed: message !== 'Ready.' });
    };
    let lastCrash = '';
    const supervisor: Supervisor<null> = createSupervisor<null>({
      name: 'converter',
      maxRestarts: opts.convertRestarts ?? 0,
      baseDelayMs: 500,
      launch: () => {
        const job = supervisedJob(() => controller.abort());
        const { exit } = job;
        let lastFraction = -1;
        void runJobWorker<ConvertThreadMessage, ModelPackRow>(
          launch,
          data,
          (m) => {
            if (m.type === 'progress' && m.progress.kind === 'convert') {
              const c = m.progress.progress;
              if (Math.floor(c.fraction * 100) === Math.floor(lastFraction * 100) && c.stage === 'decoder') return null;
              lastFraction = c.fraction;
              events.emit('models:progress', { modelId, phase: 'convert', progress: Math.min(0.999, c.fraction), message: `Converting: ${c.stage}${c.detail ? ` ${c.detail}` : ''}` });
            } else if (m.type === 'finished') return { end: 'resolve', value: m.row };
            else if (m.type === 'failed') return { end: 'reject', error: new Error(m.message) };
            return null;
          },
          (code) => new ConverterExitedError(code),
          controller.signal,
        ).then(
          () => {
            void supervisor.stop(0);
            exit(0);
            end('Ready.');
          },
          (e: unknown) => {
            const message = e instanceof Error ? e.message : String(e);
            if (e instanceof ConverterExitedError && !controller.signal.aborted) {
              lastCrash = message;
              exit(e.code); // the supervisor reports it, and restarts it or gives up
              return;
            }
            log('error', `Conversion of ${id} failed: ${message}`);
            void supervisor.stop(0);
            exit(1);
            end(`Conversion failed: ${message}`);
          },
        );
        return job.worker;
      },
      onStatus: (status) => {
        events.emit('workers:changed', status);
        if (status.state === 'restarting' || status.state === 'failed') log('error', `Conversion of ${id}: ${status.lastError ?? status.state}`);
        if (status.state === 'failed') end(`Conversion failed: ${lastCrash}.`);
      },
    });
    supervisor.start();
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
      const launch = opts.launchConvert === undefined ? defaultConvertLauncher() : opts.launchConvert;
      if (!launch) throw new IpcError('unavailable', 'Converting models is not available in this build (the converter is missing).');
      const id = packId(modelId, variant as ModelVariant);
      if (conversions.has(id)) return;
      if (!listModelPacks(db).some((p) => p.modelId === modelId && p.sourcePath)) {
        throw new IpcError('invalid-argument', `"${modelId}" has no downloaded checkpoint yet: download it first.`);
      }
      const data: ConvertThreadData = { dbPath: opts.dbPath ?? defaultDbPath(opts.dataDir), modelsDir: modelsDir(opts.dataDir), modelId, variant: variant as ModelVariant };
      superviseConversion(id, data, launch);
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
      for (const c of conversions.values()) c.cancel();
    },
  };
}
