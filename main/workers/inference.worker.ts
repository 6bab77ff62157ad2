/**
 * @file Entry of the "inference" utility process (Electron utility process; thin). Receives its init data
 * and a MessagePortMain from main, then serves the inference service (model/inference) on that port. No
 * `app`, BrowserWindow or ipcMain exist here (STYLE B4), so nothing from the rest of main/ is imported.
 */
import { z } from 'zod';
import { loadModelPack } from '../../model/inference/pack';
import { fromMessagePortMainLike, rpcLog, rpcServe, type MessagePortMainLike } from '../../model/inference/protocol';
import { createInferenceService } from '../../model/inference/service';

/** What main posts first (main/app/services.ts WorkerInit): validated, because it crosses a process boundary. */
const Init = z.object({
  dataDir: z.string().min(1),
  dbPath: z.string().min(1),
  modelsDir: z.string().min(1),
  threads: z.number().int().nonnegative(),
});

/** Electron's utility-process parent port (typed structurally: `electron` is not importable here). */
interface ParentPort {
  once(event: 'message', listener: (e: { data: unknown; ports: MessagePortMainLike[] }) => void): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
if (!parentPort) throw new Error('inference.worker must run as an Electron utility process (process.parentPort is missing).');

parentPort.once('message', (e) => {
  const init = Init.parse(e.data);
  const raw = e.ports[0];
  if (!raw) throw new Error('inference.worker: main sent no MessagePort with the init message.');
  const port = fromMessagePortMainLike(raw);
  // [Note: Worker crashes] An uncaught error is logged over the port and ends the process; the supervisor in
  // main restarts it with backoff and the job runner retries the job that was running (STYLE B8).
  process.on('uncaughtException', (err) => {
    try {
      rpcLog(port, 'error', `uncaught: ${err.stack ?? err.message}`);
    } finally {
      process.exit(1);
    }
  });
  rpcServe(
    port,
    createInferenceService({
      loadPack: (req) => loadModelPack({ ...req, threads: req.threads ?? init.threads }),
      log: (level, message) => rpcLog(port, level, message),
    }),
  );
});
