/**
 * @file A CLI analysis session: the inference worker thread (restarted if it dies) and a job runner on the
 * CLI's database, with packs resolved by the model registry. CLI only; the app runs the same runner with a
 * supervised utility process (main/app/analysis-adapter.ts).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRequestFor, resolveModel } from '../models/registry';
import { startInferenceThread, type InferenceConnection } from '../../model/inference/client';
import { createJobRunner, type JobRunner, type RunnerEvent } from '../jobs/runner';
import type { CliContext } from './command';

/** Where the bundled worker-thread entry is (beside the CLI bundle, or one level up from a chunk). */
export function inferenceThreadEntry(): URL {
  const override = process.env['MUSILINGO_INFERENCE_THREAD'];
  if (override) return new URL(`file://${resolve(override)}`);
  for (const rel of ['./inference.thread.mjs', '../inference.thread.mjs']) {
    const u = new URL(rel, import.meta.url);
    try {
      if (statSync(fileURLToPath(u)).isFile()) return u;
    } catch {
      // try the next place
    }
  }
  throw new Error('The inference worker (inference.thread.mjs) is missing beside the CLI bundle. Rebuild it: npm run build:cli');
}

/** A running CLI analysis session: the worker thread (restarted if it dies) and the runner. */
export interface CliAnalysis {
  readonly runner: JobRunner;
  stop(): Promise<void>;
}

/** Starts the inference worker thread and a job runner on the CLI's database. */
export function startCliAnalysis(ctx: CliContext, opts: { onEvent?: (e: RunnerEvent) => void; maxBatch?: number; verbose?: boolean } = {}): CliAnalysis {
  const db = ctx.db();
  const threads = Number(process.env['MUSILINGO_THREADS'] ?? 0);
  let conn: InferenceConnection | null = null;
  let isStopping = false;
  const log = (level: string, message: string): void => {
    if (opts.verbose || level !== 'info') ctx.stderr.write(`${message}\n`);
  };
  const launch = (): void => {
    conn = startInferenceThread(inferenceThreadEntry(), { threads }, {
      onLog: log,
      onExit: (code) => {
        if (isStopping) return;
        log('warn', `[jobs] the inference worker stopped (code ${code}); starting a new one`);
        conn = null;
        setTimeout(launch, 500).unref();
      },
    });
  };
  launch();
  const runner = createJobRunner({
    db,
    client: () => conn?.client ?? null,
    resolvePack: (model, adapter) => loadRequestFor(resolveModel(db, ctx.dataDir, model, adapter), { threads }),
    ...(opts.maxBatch ? { maxBatch: opts.maxBatch } : {}),
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    log,
  });
  runner.start();
  return {
    runner,
    async stop() {
      isStopping = true;
      await runner.stop();
      await conn?.close();
    },
  };
}
