/**
 * @file Worker launchers for the E2E bridge (plain Node): the inference service runs on a worker thread from
 * the CLI bundle (out/cli/inference.thread.mjs, the same service the utility process serves), supervised by
 * the app's own supervisor. The test keeps a handle to crash the live worker on purpose.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { WorkerLaunchers } from '../../../main/app/services';
import type { WorkerPort } from '../../../main/workers/port';
import { fromNodePort } from '../../../model/inference/protocol';

/** The bundled worker-thread entry (built by `npm run build:cli`). */
export const INFERENCE_THREAD = resolve(import.meta.dirname, '../../../out/cli/inference.thread.mjs');

/** Launchers plus a handle on the live inference thread. */
export interface NodeLaunchers {
  readonly launchers: WorkerLaunchers;
  /** The live inference thread, if any. */
  current(): Worker | null;
  /** How many inference threads were started (first start + restarts). */
  starts(): number;
}

/** Creates the launchers. Throws when the CLI bundle has not been built. */
export function nodeLaunchers(): NodeLaunchers {
  if (!existsSync(INFERENCE_THREAD)) throw new Error(`${INFERENCE_THREAD} is missing: run npm run build:cli first.`);
  let live: Worker | null = null;
  let count = 0;
  return {
    launchers: {
      inference: (init) => {
        const worker = new Worker(INFERENCE_THREAD, { workerData: { threads: init.threads } });
        live = worker;
        count++;
        const port: WorkerPort = fromNodePort(worker);
        return {
          port,
          kill: () => void worker.terminate(),
          onExit: (listener) => {
            worker.once('exit', (code) => {
              if (live === worker) live = null;
              listener(code);
            });
          },
        };
      },
    },
    current: () => live,
    starts: () => count,
  };
}
