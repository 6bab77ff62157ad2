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
rpcServe(
  port,
  createInferenceService({
    loadPack: (req) => loadModelPack({ ...req, threads: req.threads ?? init.threads }),
    log: (level, message) => rpcLog(port, level, message),
  }),
);
