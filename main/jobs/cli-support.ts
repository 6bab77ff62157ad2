/**
 * @file Former home of what the analysis CLI commands shared; split by meaning into main/models/registry.ts
 * (model references), main/cli/track-args.ts (track and window arguments), main/cli/analysis-session.ts (the
 * CLI's inference thread and job runner) and main/cli/progress-bar.ts. Only re-exports remain, so code written
 * against the old module still builds; new code imports from those modules. Nothing in main/app imports this.
 */
import type Database from 'better-sqlite3';
import type { LoadRequest } from '../../model/inference/types';
import { loadRequestFor, resolveModel } from '../models/registry';

export { ModelNotFoundError } from '../models/registry';
export { parseWindow, requireTrack } from '../cli/track-args';
export { inferenceThreadEntry, startCliAnalysis, type CliAnalysis } from '../cli/analysis-session';
export { progressBar } from '../cli/progress-bar';

/** The model reference a CLI run stores in its jobs (see main/models/registry.ts resolveModel). */
export function chooseModel(db: Database.Database, dataDir: string, model: string | undefined): string {
  return resolveModel(db, dataDir, model, '').ref;
}

/** Turns a stored model reference and adapter ('' = the model's own) into what the service loads. */
export function resolvePackRef(db: Database.Database, dataDir: string, model: string, adapter: string, threads = 0): LoadRequest {
  return loadRequestFor(resolveModel(db, dataDir, model, adapter), { threads });
}
