/**
 * @file Supervision of a utility process (main process; Electron-free so the E2E bridge and unit tests run the
 * same logic with a plain Node launcher). Restarts a crashed worker with exponential backoff, gives up after a
 * bounded number of crashes in a time window, and reports every state change.
 */
import type { WorkerStatus } from '../../preload/contract';

// [Note: Supervised workers]
// A worker that crashes (native abort in ORT, out-of-memory, uncaughtException) must not take the app with it,
// and must not be restarted in a tight loop either. Like VS Code's extension host: restart with backoff
// (base·2^n, capped), count crashes in a sliding window, and stop at `maxRestarts` — then the UI says so and
// offers a manual restart. A worker that ran longer than `stableAfterMs` is considered healthy again and its
// crash count is reset. Launching is injected: Electron uses utilityProcess.fork + MessageChannelMain
// (main/workers/utility-launcher.ts); the E2E bridge and tests use a Node child process.

/** A running worker as the supervisor sees it. */
export interface LaunchedWorker<P> {
  /** The port requests go to (an rpc client wraps it). */
  readonly port: P;
  /** Kills the process; `exit` still fires. */
  kill(): void;
  /** Subscribes to the process's end (once). */
  onExit(listener: (code: number | null) => void): void;
}

/** Options of {@link createSupervisor}. */
export interface SupervisorOptions<P> {
  readonly name: WorkerStatus['name'];
  /** Starts one process. May throw (bad path, spawn failure): that counts as a crash. */
  readonly launch: () => LaunchedWorker<P>;
  /** Called for every new process, before anyone else uses its port. */
  readonly onStart?: (port: P) => void;
  /** Called when the process is gone (crash or stop), so pending requests can be failed. */
  readonly onStop?: (port: P, reason: string) => void;
  readonly onStatus?: (status: WorkerStatus) => void;
  readonly maxRestarts?: number;
  readonly windowMs?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly stableAfterMs?: number;
  /** Test seam for timers. */
  readonly setTimer?: (fn: () => void, ms: number) => unknown;
  readonly clearTimer?: (handle: unknown) => void;
  readonly now?: () => number;
}

/** Controls one supervised worker. */
export interface Supervisor<P> {
  /** The live port, or null while stopped, restarting or failed. */
  port(): P | null;
  status(): WorkerStatus;
  /** Starts the worker (or restarts it after `failed`, resetting the crash count). */
  start(): void;
  /** Stops the worker for good (app quit); resolves once it exited or after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

/** The delay before restart number `attempt` (1-based): base·2^(attempt−1), capped at `maxMs`. */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/** Creates a supervisor; call `start()` to launch the first process. */
export function createSupervisor<P>(opts: SupervisorOptions<P>): Supervisor<P> {
  const maxRestarts = opts.maxRestarts ?? 5;
  const windowMs = opts.windowMs ?? 60_000;
  const baseDelayMs = opts.baseDelayMs ?? 500;
  const maxDelayMs = opts.maxDelayMs ?? 15_000;
  const stableAfterMs = opts.stableAfterMs ?? 30_000;
  const setTimer = opts.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
  const clearTimer = opts.clearTimer ?? ((h: unknown) => clearTimeout(h as NodeJS.Timeout));
  const now = opts.now ?? Date.now;

  let current: LaunchedWorker<P> | null = null;
  let startedAt = 0;
  let crashes: number[] = [];
  let restartTimer: unknown = null;
  let isStopping = false;
  let exited: (() => void) | null = null;
  let status: WorkerStatus = { name: opts.name, state: 'stopped', restarts: 0, lastError: null };

  function setStatus(patch: Partial<WorkerStatus>): void {
    status = { ...status, ...patch };
    opts.onStatus?.(status);
  }

  function launchOnce(): void {
    restartTimer = null;
    setStatus({ state: 'starting' });
    let worker: LaunchedWorker<P>;
    try {
      worker = opts.launch();
    } catch (e) {
      onCrash(`could not start: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    current = worker;
    startedAt = now();
    worker.onExit((code) => {
      if (current !== worker) return;
      current = null;
      const reason = isStopping ? 'stopped' : `exited unexpectedly (code ${code ?? 'unknown'})`;
      opts.onStop?.(worker.port, `The ${opts.name} worker ${reason}.`);
      if (isStopping) {
        setStatus({ state: 'stopped' });
        exited?.();
        return;
      }
      onCrash(reason);
    });
    opts.onStart?.(worker.port);
    setStatus({ state: 'running' });
  }

  function onCrash(reason: string): void {
    const t = now();
    if (startedAt > 0 && t - startedAt >= stableAfterMs) crashes = [];
    crashes = [...crashes.filter((c) => t - c < windowMs), t];
    const message = `The ${opts.name} worker ${reason}.`;
    if (crashes.length > maxRestarts) {
      setStatus({ state: 'failed', lastError: `${message} Gave up after ${maxRestarts} restarts in ${Math.round(windowMs / 1000)} s.` });
      return;
    }
    setStatus({ state: 'restarting', restarts: status.restarts + 1, lastError: message });
    restartTimer = setTimer(launchOnce, backoffDelayMs(crashes.length, baseDelayMs, maxDelayMs));
  }

  return {
    port: () => (status.state === 'running' && current ? current.port : null),
    status: () => status,
    start() {
      if (current || restartTimer !== null) return;
      isStopping = false;
      crashes = [];
      launchOnce();
    },
    stop(timeoutMs = 5_000) {
      isStopping = true;
      if (restartTimer !== null) {
        clearTimer(restartTimer);
        restartTimer = null;
      }
      const worker = current;
      if (!worker) {
        setStatus({ state: 'stopped' });
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const timer = setTimer(resolve, timeoutMs);
        exited = () => {
          clearTimer(timer);
          resolve();
        };
        worker.kill();
      });
    },
  };
}
