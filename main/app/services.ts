/**
 * @file Wiring of the app's services (main process, E2E bridge): opens the one writable database, creates the
 * library, job queue, model manager and trainer facades, starts the supervised workers, and routes service
 * events to the event hub. Electron-free: Electron-only pieces (dialogs, utility processes) are injected.
 */
import type Database from 'better-sqlite3';
import type { AppInfo, Feature, WorkerStatus } from '../../preload/contract';
import { openDatabase } from '../db/open';
import { defaultDbPath, modelsDir } from '../paths';
import type { LaunchedWorker, Supervisor } from '../workers/supervisor';
import { createSupervisor } from '../workers/supervisor';
import type { WorkerPort } from '../workers/port';
import type { JobLauncher } from '../workers/job-worker';
import { workerExecutor } from '../training/worker-thread';
import { createEventHub, type EventHub } from './events';
import type { InferenceFacade, JobsFacade, LibraryFacade, ModelsFacade, TrainingFacade } from './facades';
import { createAnalysis, type Analysis } from './analysis-adapter';
import { createLibraryFacade } from './library-adapter';
import { createFolderConsent, type ConfirmFolder } from './folder-consent';
import { createModelsFacade, type CliRunner } from './models-adapter';
import { createTrainingFacade } from './training-adapter';
import type { HubConfig } from '../models/hub';
import { TrackTableRepo } from './track-table-repo';
import { createSettingsStore, type SettingsStore } from './settings';
import { createEvalFacade, type EvalFacade } from './eval-adapter';
import { MEDIA_URL_BASE } from '../library/media-protocol';

/** Writes one log line; main sends it to stdout/stderr, the bridge to the test's log file. */
export type AppLog = (level: 'info' | 'error', message: string, error?: unknown) => void;

/** Launchers for the utility processes (Electron: utilityProcess; bridge: Node child processes). */
export interface WorkerLaunchers {
  readonly inference?: (init: WorkerInit) => LaunchedWorker<WorkerPort>;
  readonly trainer?: (init: WorkerInit) => LaunchedWorker<WorkerPort>;
  /** One training job per worker (Electron: a utility process); absent = a worker thread on the CLI bundle. */
  readonly trainJob?: JobLauncher;
  /** One conversion per worker (Electron: a utility process); absent = a worker thread on the CLI bundle. */
  readonly convertJob?: JobLauncher;
}

/** Everything a worker needs that Electron's `app` would otherwise have told it. */
export interface WorkerInit {
  readonly dataDir: string;
  readonly dbPath: string;
  readonly modelsDir: string;
  readonly threads: number;
}

/** What createAppServices needs from its host. */
export interface AppContext {
  readonly dataDir: string;
  readonly version: string;
  /** True in Electron (native folder dialog), false in the browser test bridge. */
  readonly hasNativeDialogs: boolean;
  /** Where the renderer plays tracks from (default: the app's media protocol; the E2E bridge serves HTTP). */
  readonly mediaBase?: string;
  /** Shows the native folder picker; null when cancelled or when there is none. */
  readonly pickFolder: () => Promise<string | null>;
  /**
   * Asks the user in a dialog of main's own whether to add a folder path the renderer typed. Without it only
   * folders from `pickFolder` can be added from the renderer (see app/folder-consent.ts).
   */
  readonly confirmFolder?: ConfirmFolder;
  readonly launchers: WorkerLaunchers;
  readonly log: AppLog;
  /** Override the database path (tests). Default: `<dataDir>/library.sqlite`. */
  readonly dbPath?: string;
  /** Watch library folders for changes (default true). */
  readonly watchLibrary?: boolean;
  /** How often the job runner looks for work when idle (tests use a short poll). */
  readonly jobPollMs?: number;
  /** Runs the bundled CLI for long work (model conversion); null when this build has no CLI bundle. */
  readonly runCli: CliRunner | null;
  /** The model hub (tests point it at a local server). Default: from the environment. */
  readonly hub?: HubConfig;
}

/** The wired app: what IPC handlers call. */
export interface AppServices {
  readonly db: Database.Database;
  readonly dataDir: string;
  readonly settings: SettingsStore;
  /** The Evaluation page (runs the CLI's eval). */
  readonly evaluation: EvalFacade;
  readonly events: EventHub;
  readonly log: AppLog;
  readonly pickFolder: () => Promise<string | null>;
  readonly library: LibraryFacade | null;
  readonly inference: InferenceFacade | null;
  readonly jobs: JobsFacade | null;
  readonly models: ModelsFacade | null;
  readonly training: TrainingFacade | null;
  readonly workers: { readonly inference: Supervisor<WorkerPort> | null; readonly trainer: Supervisor<WorkerPort> | null };
  info(): AppInfo;
  workerStatus(): WorkerStatus[];
  /** Stops workers and watchers and closes the database. */
  close(): Promise<void>;
}

/** Creates and starts everything. */
export async function createAppServices(ctx: AppContext): Promise<AppServices> {
  const dbPath = ctx.dbPath ?? defaultDbPath(ctx.dataDir);
  const db = openDatabase(dbPath);
  const events = createEventHub();
  const settings = createSettingsStore(db);
  const init: WorkerInit = {
    dataDir: ctx.dataDir,
    dbPath,
    modelsDir: modelsDir(ctx.dataDir),
    threads: 2,
  };

  const table = new TrackTableRepo(db);
  const analysis: Analysis | null = ctx.launchers.inference
    ? createAnalysis({ db, dataDir: ctx.dataDir, events, settings, table, log: ctx.log, ...(ctx.jobPollMs !== undefined ? { pollMs: ctx.jobPollMs } : {}) })
    : null;

  function supervise(
    name: WorkerStatus['name'],
    launch: ((i: WorkerInit) => LaunchedWorker<WorkerPort>) | undefined,
    hooks: { onStart?: (port: WorkerPort) => void; onStop?: (port: WorkerPort, reason: string) => void } = {},
  ): Supervisor<WorkerPort> | null {
    if (!launch) return null;
    return createSupervisor<WorkerPort>({
      name,
      launch: () => launch(init),
      ...hooks,
      onStatus: (status) => {
        if (status.state === 'restarting' || status.state === 'failed') ctx.log('error', status.lastError ?? `${name} worker ${status.state}`);
        events.emit('workers:changed', status);
      },
    });
  }
  const workers = {
    inference: supervise('inference', ctx.launchers.inference, {
      onStart: (port) => analysis?.attach(port),
      onStop: (_port, reason) => analysis?.detach(reason),
    }),
    trainer: supervise('trainer', ctx.launchers.trainer),
  };

  const consent = createFolderConsent({ dataDir: ctx.dataDir, confirm: ctx.confirmFolder ?? null });
  const libraryFacade = createLibraryFacade({ db, events, log: ctx.log, table, watch: ctx.watchLibrary ?? true, consent });
  const library: LibraryFacade | null = libraryFacade;
  const inference: InferenceFacade | null = analysis?.inference ?? null;
  const jobs: JobsFacade | null = analysis?.jobs ?? null;
  if (analysis) {
    // New tracks get captions in the background once a model is ready (deduplicated group job).
    libraryFacade.service.on('changed', (c) => {
      if (c.added.length > 0 || c.restored.length > 0) analysis.captionLibrary();
    });
    void libraryFacade.ready.then(() => analysis.captionLibrary());
  }
  const modelsFacade = createModelsFacade({ db, dbPath, dataDir: ctx.dataDir, events, settings, log: ctx.log, runCli: ctx.runCli, ...(ctx.hub ? { hub: ctx.hub } : {}), ...(ctx.launchers.convertJob ? { launchConvert: ctx.launchers.convertJob } : {}) });
  const models: ModelsFacade | null = modelsFacade;
  const trainingFacade = createTrainingFacade({ db, dbPath, events, log: ctx.log, dataDir: ctx.dataDir, recaption: analysis, ...(ctx.launchers.trainJob ? { execute: workerExecutor(ctx.launchers.trainJob) } : ctx.runCli ? {} : { execute: null }) });
  const training: TrainingFacade | null = trainingFacade;

  workers.inference?.start();
  workers.trainer?.start();
  await Promise.resolve();

  const features: Record<Feature, boolean> = {
    library: library !== null,
    captions: inference !== null,
    qa: inference !== null,
    jobs: jobs !== null,
    models: models !== null,
    training: training !== null,
  };

  return {
    db,
    dataDir: ctx.dataDir,
    settings,
    evaluation: createEvalFacade({ dataDir: ctx.dataDir, events, runCli: ctx.runCli }),
    events,
    log: ctx.log,
    pickFolder: consent.picker(ctx.pickFolder),
    library,
    inference,
    jobs,
    models,
    training,
    workers,
    info: () => ({
      version: ctx.version,
      platform: process.platform,
      dataDir: ctx.dataDir,
      hasNativeDialogs: ctx.hasNativeDialogs,
      features,
      mediaBase: ctx.mediaBase ?? MEDIA_URL_BASE,
    }),
    workerStatus: () => [workers.inference, workers.trainer].flatMap((w) => (w ? [w.status()] : [])),
    async close() {
      modelsFacade.close();
      trainingFacade.close();
      await Promise.allSettled([workers.inference?.stop(), workers.trainer?.stop()]);
      await Promise.allSettled([jobs?.close(), library?.close()]);
      db.close();
    },
  };
}
