/**
 * @file What the analysis CLI commands (caption, ask, similar, jobs) share: model references (asked of
 * main/models/registry.ts), starting
 * the inference worker thread and the job runner, argument parsing helpers and a progress bar. CLI only.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { findTrackId } from '../db/captions';
import { loadRequestFor, resolveModel } from '../models/registry';
import { UsageError, type CliContext } from '../cli/command';
import { startInferenceThread, type InferenceConnection } from '../../model/inference/client';
import type { LoadRequest, WindowSpec } from '../../model/inference/types';
import { createJobRunner, type JobRunner, type RunnerEvent } from './runner';

export { ModelNotFoundError } from '../models/registry';

/**
 * The model reference a CLI run stores in its jobs for `--model` (see main/models/registry.ts, which owns the
 * reference forms and the errors): a pack id, or the absolute path of a pack folder.
 */
export function chooseModel(db: Database.Database, dataDir: string, model: string | undefined): string {
  return resolveModel(db, dataDir, model, '').ref;
}

/** Turns a stored model reference and adapter ('' = the model's own) into what the service loads. */
export function resolvePackRef(db: Database.Database, dataDir: string, model: string, adapter: string, threads = 0): LoadRequest {
  return loadRequestFor(resolveModel(db, dataDir, model, adapter), { threads });
}

/** Parses `--window`: 'default', 'all', or a start time in seconds or m:ss (a 30 s window from there). */
export function parseWindow(value: string | undefined): WindowSpec {
  if (value === undefined || value === 'default') return { kind: 'default' };
  if (value === 'all') return { kind: 'all' };
  const m = /^(?:(\d+):)?(\d+(?:\.\d+)?)$/.exec(value);
  if (!m) throw new UsageError(`--window "${value}" is not valid. Expected one of: default, all, <seconds>, <m:ss>.`);
  const seconds = Number(m[1] ?? 0) * 60 + Number(m[2]);
  return { kind: 'at', startMs: Math.round(seconds * 1000) };
}

/** Resolves a track argument (id or path) or throws a UsageError naming it. */
export function requireTrack(db: Database.Database, ref: string): number {
  const id = findTrackId(db, ref) ?? (ref.match(/^\d+$/) ? undefined : findTrackId(db, resolve(ref)));
  if (id === undefined) throw new UsageError(`No track "${ref}" in the library. Give a track id (see \`musilingo search\`) or the path of a scanned file.`);
  return id;
}

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
    resolvePack: (model, adapter) => resolvePackRef(db, ctx.dataDir, model, adapter, threads),
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

/** A one-line progress bar on a TTY (redrawn in place), or a line every few seconds otherwise. */
export function progressBar(out: NodeJS.WritableStream & { isTTY?: boolean }, label: string): { update(done: number, total: number, note?: string): void; end(): void } {
  let last = 0;
  let lastLine = '';
  const started = Date.now();
  return {
    update(done, total, note = '') {
      const now = Date.now();
      const frac = total > 0 ? done / total : 0;
      const eta = done > 0 && total > done ? Math.round(((now - started) / done) * (total - done) / 1000) : 0;
      const width = 24;
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
      const line = `${label} [${bar}] ${done}/${total}${eta ? ` ~${eta}s left` : ''}${note ? `  ${note}` : ''}`;
      if (out.isTTY) {
        out.write(`\r${line.slice(0, 120).padEnd(Math.min(120, lastLine.length))}`);
        lastLine = line;
      } else if (now - last > 2000 || done === total) {
        out.write(`${line}\n`);
        last = now;
      }
    },
    end() {
      if (out.isTTY && lastLine) out.write('\n');
    },
  };
}
