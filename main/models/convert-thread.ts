/**
 * @file Entry of the converter worker thread (bundled as out/cli/convert.thread.mjs): converts one model into a
 * pack with the model manager (its own connection to the library database, WAL; the pack row's states are the
 * manager's to write) and posts typed progress messages back, so the app shows progress without polling and
 * main's event loop never runs ONNX Runtime. A 'cancel' message aborts it (the conversion resumes next time).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../db/open';
import type { ModelPackRow, ModelVariant } from '../db/models';
import { convertModel, type ModelProgress } from './manager';

/** What the thread is started with. */
export interface ConvertThreadData {
  readonly dbPath: string;
  readonly modelsDir: string;
  readonly modelId: string;
  readonly variant: ModelVariant;
}

/** Messages the thread posts. */
export type ConvertThreadMessage =
  | { readonly type: 'progress'; readonly progress: ModelProgress }
  | { readonly type: 'row'; readonly row: ModelPackRow }
  | { readonly type: 'finished'; readonly row: ModelPackRow }
  | { readonly type: 'failed'; readonly message: string };

const port = parentPort;
if (!port) throw new Error('convert.thread must run as a worker thread.');
const data = workerData as ConvertThreadData;
const controller = new AbortController();
port.on('message', (m: { type?: string }) => {
  if (m?.type === 'cancel') controller.abort();
});
const db = openDatabase(data.dbPath);
const post = (m: ConvertThreadMessage): void => port.postMessage(m);
convertModel(
  { db, modelsDir: data.modelsDir, signal: controller.signal, onProgress: (progress) => post({ type: 'progress', progress }), onChanged: (row) => post({ type: 'row', row }) },
  data.modelId,
  data.variant,
)
  .then((row) => post({ type: 'finished', row }), (e: unknown) => post({ type: 'failed', message: e instanceof Error ? e.message : String(e) }))
  .finally(() => {
    db.close();
    port.close();
  });
