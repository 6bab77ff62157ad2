/**
 * @file Arguments that name what the analysis commands work on: a track (id or path) and a window
 * (`--window`). CLI only.
 */
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { findTrackId } from '../db/captions';
import type { WindowSpec } from '../../model/inference/types';
import { UsageError } from './command';

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
