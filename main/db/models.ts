/**
 * @file Repository for model packs (0020 `models`). Main process and CLI, through the single writer connection.
 * A pack is one model in one variant; its state walks downloading → downloaded → converting → ready, or ends in
 * failed with a user-facing error (and goes back to downloading/converting when retried).
 */
import type Database from 'better-sqlite3';

/** Pack states (0020's CHECK constraint). */
export type ModelPackState = 'downloading' | 'downloaded' | 'converting' | 'ready' | 'failed';

/** Pack variants (0020's CHECK constraint): weights precision of the converted graphs. */
export type ModelVariant = 'float32' | 'float16' | 'int4';

/** Every variant, in the order the UI lists them. */
export const MODEL_VARIANTS: readonly ModelVariant[] = ['int4', 'float16', 'float32'];

/** One row of `models`. */
export interface ModelPackRow {
  readonly id: string;
  readonly modelId: string;
  readonly repo: string | null;
  readonly revision: string | null;
  readonly variant: ModelVariant;
  readonly sourcePath: string | null;
  readonly path: string | null;
  readonly state: ModelPackState;
  readonly error: string | null;
  readonly progress: number;
  readonly sizeBytes: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

interface Row {
  id: string;
  model_id: string;
  repo: string | null;
  revision: string | null;
  variant: ModelVariant;
  source_path: string | null;
  path: string | null;
  state: ModelPackState;
  error: string | null;
  progress: number;
  size_bytes: number | null;
  created_at: number;
  updated_at: number;
}

function fromRow(r: Row): ModelPackRow {
  return {
    id: r.id,
    modelId: r.model_id,
    repo: r.repo,
    revision: r.revision,
    variant: r.variant,
    sourcePath: r.source_path,
    path: r.path,
    state: r.state,
    error: r.error,
    progress: r.progress,
    sizeBytes: r.size_bytes,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The pack id of a model in a variant: `musilingo-long@int4`. */
export function packId(modelId: string, variant: ModelVariant): string {
  return `${modelId}@${variant}`;
}

/** What {@link upsertModelPack} takes; unspecified columns keep their value (or their default on insert). */
export interface ModelPackInput {
  readonly modelId: string;
  readonly variant: ModelVariant;
  readonly state: ModelPackState;
  readonly repo?: string | null;
  readonly revision?: string | null;
  readonly sourcePath?: string | null;
  readonly path?: string | null;
  readonly error?: string | null;
  readonly progress?: number;
  readonly sizeBytes?: number | null;
}

/** Fields {@link updateModelPack} may change. */
export type ModelPackPatch = Partial<Omit<ModelPackInput, 'modelId' | 'variant'>>;

const COLUMNS: Readonly<Record<keyof ModelPackPatch, string>> = {
  state: 'state',
  repo: 'repo',
  revision: 'revision',
  sourcePath: 'source_path',
  path: 'path',
  error: 'error',
  progress: 'progress',
  sizeBytes: 'size_bytes',
};

/** Creates the pack row or updates it with the given fields. Returns the row. */
export function upsertModelPack(db: Database.Database, input: ModelPackInput, now: number = Date.now()): ModelPackRow {
  const id = packId(input.modelId, input.variant);
  db.transaction(() => {
    const exists = db.prepare('SELECT 1 FROM models WHERE id = ?').get(id) !== undefined;
    if (!exists) {
      db.prepare(
        `INSERT INTO models (id, model_id, repo, revision, variant, source_path, path, state, error, progress, size_bytes, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        id, input.modelId, input.repo ?? null, input.revision ?? null, input.variant, input.sourcePath ?? null,
        input.path ?? null, input.state, input.error ?? null, input.progress ?? 0, input.sizeBytes ?? null, now, now,
      );
    } else {
      const { modelId: _m, variant: _v, ...patch } = input;
      updateModelPack(db, id, patch, now);
    }
  })();
  return getModelPack(db, id) as ModelPackRow;
}

/** Updates some fields of a pack; throws naming the pack when it does not exist. */
export function updateModelPack(db: Database.Database, id: string, patch: ModelPackPatch, now: number = Date.now()): void {
  const sets: string[] = [];
  const values: unknown[] = [];
  for (const [k, col] of Object.entries(COLUMNS) as Array<[keyof ModelPackPatch, string]>) {
    if (patch[k] !== undefined) {
      sets.push(`${col} = ?`);
      values.push(patch[k]);
    }
  }
  sets.push('updated_at = ?');
  values.push(now, id);
  const info = db.prepare(`UPDATE models SET ${sets.join(', ')} WHERE id = ?`).run(...values);
  if (info.changes === 0) throw new Error(`Model pack "${id}" does not exist`);
}

/** One pack or undefined. */
export function getModelPack(db: Database.Database, id: string): ModelPackRow | undefined {
  const r = db.prepare('SELECT * FROM models WHERE id = ?').get(id) as Row | undefined;
  return r ? fromRow(r) : undefined;
}

/** Every pack, newest first. */
export function listModelPacks(db: Database.Database): ModelPackRow[] {
  return (db.prepare('SELECT * FROM models ORDER BY created_at DESC, id').all() as Row[]).map(fromRow);
}

/** Every pack of one model (all variants). */
export function packsOfModel(db: Database.Database, modelId: string): ModelPackRow[] {
  return (db.prepare('SELECT * FROM models WHERE model_id = ? ORDER BY id').all(modelId) as Row[]).map(fromRow);
}

/** Deletes a pack row; true when one was deleted. */
export function deleteModelPack(db: Database.Database, id: string): boolean {
  return db.prepare('DELETE FROM models WHERE id = ?').run(id).changes > 0;
}
