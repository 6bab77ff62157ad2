/**
 * @file Worker launchers for the E2E bridge (plain Node): the inference service runs in a child process
 * (inference-child.mjs, which hosts the CLI bundle's out/cli/inference.thread.mjs), supervised by the app's own
 * supervisor. A separate process, like the app's utility process, so the test can kill it as hard as a native
 * crash would without taking the test runner down. The test keeps a handle on the live process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { WorkerLaunchers } from '../../../main/app/services';
import type { WorkerPort } from '../../../main/workers/port';

/** The bundled worker-thread entry (built by `npm run build:cli`). */
export const INFERENCE_THREAD = resolve(import.meta.dirname, '../../../out/cli/inference.thread.mjs');
const CHILD = resolve(import.meta.dirname, 'inference-child.mjs');

/** Launchers plus a handle on the live inference process. */
export interface NodeLaunchers {
  readonly launchers: WorkerLaunchers;
  /** The live inference process, if any. */
  current(): ChildProcess | null;
  /** How many inference processes were started (first start + restarts). */
  starts(): number;
  /**
   * Holds the next answer after its first `tokens` tokens until the app cancels it (Stop) or {@link release} is
   * called (see [Note: Holding a streamed answer in the E2E bridge] in inference-child.mjs).
   */
  holdNextAnswer(tokens?: number): void;
  /** Lets a held answer go on. */
  release(): void;
}

/** Creates the launchers. Throws when the CLI bundle has not been built. */
export function nodeLaunchers(log: (line: string) => void = () => {}): NodeLaunchers {
  if (!existsSync(INFERENCE_THREAD)) throw new Error(`${INFERENCE_THREAD} is missing: run npm run build:cli first.`);
  let live: ChildProcess | null = null;
  let count = 0;
  return {
    launchers: {
      inference: (init) => {
        const child = fork(CHILD, [INFERENCE_THREAD, String(init.threads)], { serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
        child.stderr?.on('data', (d: Buffer) => log(`[inference stderr] ${d.toString().trimEnd()}`));
        live = child;
        count++;
        const port: WorkerPort = {
          postMessage: (m) => {
            if (child.connected) child.send(m as never);
          },
          onMessage(listener) {
            child.on('message', listener);
            return () => {
              child.off('message', listener);
            };
          },
          close: () => {
            if (child.connected) child.disconnect();
          },
        };
        return {
          port,
          kill: () => void child.kill(),
          onExit: (listener) => {
            child.once('exit', (code, signal) => {
              if (live === child) live = null;
              listener(code ?? (signal ? 128 : null));
            });
          },
        };
      },
    },
    current: () => live,
    starts: () => count,
    holdNextAnswer(tokens = 1) {
      if (!live?.connected) throw new Error('The inference process is not running: nothing to hold.');
      live.send({ e2e: 'hold-ask', tokens });
    },
    release() {
      if (live?.connected) live.send({ e2e: 'release' });
    },
  };
}
