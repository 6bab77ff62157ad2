/**
 * @file Entry of the CLI's inference worker thread (bundled as out/cli/inference.thread.mjs): serves the
 * inference service on parentPort. The app's utility process does the same over a MessagePortMain
 * (main/workers/inference.worker.ts). ONNX Runtime calls block, so they never run on the CLI's main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { loadModelPack } from './inference/pack';
import { fromNodePort, rpcLog, rpcServe } from './inference/protocol';
import { createInferenceService } from './inference/service';

const Init = z.object({ threads: z.number().int().nonnegative() });

if (!parentPort) throw new Error('model/inference-thread.ts must run on a worker thread.');
const init = Init.parse(workerData);
const port = fromNodePort(parentPort);
const service = createInferenceService({
  loadPack: (req) => loadModelPack({ ...req, threads: req.threads ?? init.threads }),
  log: (level, message) => rpcLog(port, level, message),
});
const stopServing = rpcServe(port, service);

// [Note: Graceful stop of the inference thread]
// Worker.terminate() while ONNX Runtime is inside session.run tears the thread's environment down under a
// native call, and its completion then aborts the whole process ("terminate called after throwing
// Napi::Error"). So the client asks first: calls in flight are cancelled (generation stops at its next
// token), the service waits for the run in flight to return and releases its sessions, and the thread ends
// by itself once its port is closed. The client terminates only a thread that does not end in time.
const parent = parentPort;
parent.on('message', (m: unknown) => {
  if (typeof m === 'object' && m !== null && (m as { shutdown?: unknown }).shutdown === true) void shutdown();
});
async function shutdown(): Promise<void> {
  stopServing();
  await service.unload({}, { signal: new AbortController().signal, emit: () => undefined }).catch(() => undefined);
  parent.close();
}
