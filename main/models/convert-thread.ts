/**
 * @file Entry of the converter worker (bundled as out/cli/convert.thread.mjs for a worker thread, and as a
 * utility-process entry of the app's main bundle): converts one model into a pack with the model manager (its
 * own connection to the library database, WAL; the pack row's states are the manager's to write) and posts
 * typed {@link ConvertThreadMessage}s back, so the app shows progress without polling and main's event loop
 * never runs ONNX Runtime. A 'cancel' message aborts it (the conversion resumes next time). The same messages
 * cross a worker thread's port and a utility process's MessagePort (model/worker-host.ts).
 */
import { connectToParent } from '../../model/worker-host';
import { openDatabase } from '../db/open';
import type { ModelPackRow, ModelVariant } from '../db/models';
import { convertModel, type ModelProgress } from './manager';

/** What the converter worker is started with. */
export interface ConvertThreadData {
  readonly dbPath: string;
  readonly modelsDir: string;
  readonly modelId: string;
  readonly variant: ModelVariant;
}

/** Messages the converter worker posts (the one protocol of both runtimes). */
export type ConvertThreadMessage =
  | { readonly type: 'progress'; readonly progress: ModelProgress }
  | { readonly type: 'row'; readonly row: ModelPackRow }
  | { readonly type: 'finished'; readonly row: ModelPackRow }
  | { readonly type: 'failed'; readonly message: string };

/** Messages the converter worker takes. */
export type ConvertThreadCommand =
  | { readonly type: 'cancel' }
  // Fault injection for the worker-fault tests: ends the worker at the first progress of that stage.
  | { readonly type: 'crash-at'; readonly stage: string };

void connectToParent('convert.thread').then(({ data: raw, port }) => {
  const data = raw as ConvertThreadData;
  const controller = new AbortController();
  let crashAt: string | null = null;
  port.onMessage((m) => {
    const c = m as Partial<ConvertThreadCommand> | null;
    if (c?.type === 'cancel') controller.abort();
    if (c?.type === 'crash-at' && typeof c.stage === 'string') crashAt = c.stage;
  });
  const db = openDatabase(data.dbPath);
  const post = (m: ConvertThreadMessage): void => port.postMessage(m);
  const onProgress = (progress: ModelProgress): void => {
    post({ type: 'progress', progress });
    if (crashAt !== null && progress.kind === 'convert' && progress.progress.stage === crashAt) process.exit(70);
  };
  convertModel({ db, modelsDir: data.modelsDir, signal: controller.signal, onProgress, onChanged: (row) => post({ type: 'row', row }) }, data.modelId, data.variant)
    .then((row) => post({ type: 'finished', row }), (e: unknown) => post({ type: 'failed', message: e instanceof Error ? e.message : String(e) }))
    .finally(() => {
      db.close();
      port.close();
    });
});
