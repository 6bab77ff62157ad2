/**
 * @file The model registry: the one place that answers "which model, which adapter". It knows the installed
 * packs and their state, the default pack of this machine, the active adapter of each model, and turns what a
 * user names (`demo`, `tiny`, `tiny@int4`, a pack folder, an adapter id or name) into concrete files, with one
 * error vocabulary ({@link ModelNotFoundError} and its codes). The CLI (caption, ask, similar, train, adapters,
 * tags), the app and the job runner ask it; nothing else lists model folders. Plain Node, synchronous (it reads
 * the `models` and `adapters` tables and stats a few files), so main may call it.
 *
 * [Note: Stored model references]
 * Jobs store the reference {@link resolveModel} returns in `ref` (a pack id such as `demo@float32`, or the
 * absolute path of a pack folder outside the models table) and the adapter as its id ('' = the model's own;
 * a plain file path still works for adapters that were never registered). The runner resolves both again when
 * it loads the pack, through {@link loadRequestFor}, so a job queued before a pack was re-converted still runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { listModelPacks, type ModelPackRow, type ModelPackState, type ModelVariant } from '../db/models';
import { activeAdapter, listAdapters, type AdapterRow } from '../db/training';
import { modelsDir } from '../paths';
import type { LoadRequest } from '../../model/inference/types';
import { envProviderPreference } from '../../model/ort/providers';
import { MANIFEST_FILE, PACK_FORMAT_VERSION } from '../../model/pack-manifest';
import { DEMO_MODEL_ID, modelLabel } from './demo-label';

/** Why a reference could not be resolved. */
export type ModelNotFoundCode =
  /** No pack is ready at all. */
  | 'no-pack'
  /** The named pack, model or folder is not installed. */
  | 'not-installed'
  /** The pack exists but is downloading, converting, failed or only downloaded. */
  | 'not-ready'
  /** The pack was built by another format version: convert it again. */
  | 'stale'
  /** The row says ready but its folder or manifest is gone. */
  | 'missing-files'
  /** The named adapter does not exist (or its file is gone). */
  | 'no-adapter'
  /** The adapter belongs to another model. */
  | 'adapter-mismatch'
  /** A prefix or name matches several adapters. */
  | 'ambiguous';

/** A model or adapter reference that names nothing usable; the message says what was asked and what to do. */
export class ModelNotFoundError extends Error {
  constructor(
    readonly code: ModelNotFoundCode,
    message: string,
  ) {
    super(message);
    this.name = 'ModelNotFoundError';
  }
}

/** An installed pack as the registry sees it. */
export interface InstalledPack {
  readonly id: string;
  readonly modelId: string;
  readonly variant: ModelVariant;
  readonly state: ModelPackState;
  readonly path: string | null;
  /** Where its checkpoint is (a download, an imported folder), or null; it may have been deleted since. */
  readonly sourcePath: string | null;
  /** True when the pack can be loaded now (ready, manifest present and current). */
  readonly isUsable: boolean;
  /** Why it cannot be loaded, when it cannot; with the code the resolver would throw. */
  readonly problem: { readonly code: ModelNotFoundCode; readonly message: string } | null;
  /** "demo: random weights, writes gibberish" for the demo. */
  readonly label: string | undefined;
  readonly updatedAt: number;
}

/** The concrete pack a reference resolved to. */
export interface ResolvedPack {
  /** Pack id in the models table, or null for a pack folder named by path. */
  readonly packId: string | null;
  readonly packDir: string;
  readonly modelId: string;
  readonly variant: ModelVariant | null;
  /** Checkpoint the pack was built from, when known and still there (training may read it). */
  readonly sourcePath: string | null;
  readonly label: string | undefined;
}

/** The concrete adapter: a fine-tuned one (id, file) or the model's own (id '', path null). */
export interface ResolvedAdapter {
  /** Stored with captions and answers (captions.adapter_id); '' = the model's own. */
  readonly id: string;
  readonly path: string | null;
  readonly name: string | null;
}

/** A resolved model reference. `ref` is what jobs store (see [Note: Stored model references]). */
export interface ResolvedModel {
  readonly ref: string;
  readonly pack: ResolvedPack;
  readonly adapter: ResolvedAdapter;
}

const OWN_ADAPTER: ResolvedAdapter = { id: '', path: null, name: null };

function manifestProblem(dir: string): InstalledPack['problem'] {
  const file = join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    return { code: 'missing-files', message: missing ? `its folder ${dir} has no ${MANIFEST_FILE}` : `${file} cannot be read: ${(e as Error).message}` };
  }
  const version = (raw as { formatVersion?: unknown } | null)?.formatVersion;
  if (version !== PACK_FORMAT_VERSION) return { code: 'stale', message: `${dir} has format version ${JSON.stringify(version)}, this app reads version ${PACK_FORMAT_VERSION}` };
  return null;
}

function toInstalled(r: ModelPackRow): InstalledPack {
  let problem: InstalledPack['problem'] = null;
  if (r.state !== 'ready') problem = { code: 'not-ready', message: `it is ${r.state}${r.error ? ` (${r.error})` : ''}` };
  else if (!r.path) problem = { code: 'missing-files', message: 'it has no folder' };
  else problem = manifestProblem(r.path);
  return {
    id: r.id, modelId: r.modelId, variant: r.variant, state: r.state, path: r.path, sourcePath: r.sourcePath,
    isUsable: problem === null, problem, label: modelLabel(r.modelId), updatedAt: r.updatedAt,
  };
}

/** Every pack in the models table, newest first, with whether it can be loaded now. */
export function installedPacks(db: Database.Database): InstalledPack[] {
  return listModelPacks(db).map(toInstalled).sort((a, b) => b.updatedAt - a.updatedAt || a.id.localeCompare(b.id));
}

/**
 * The pack this machine uses when none is named: the newest usable pack of a real model; the demo only when
 * it is the only one (a user who installed a real model wants real captions). Throws `no-pack` when none is
 * usable, listing what is installed and why it cannot be used.
 */
export function defaultPack(db: Database.Database): InstalledPack {
  const packs = installedPacks(db);
  const usable = packs.filter((p) => p.isUsable);
  const pick = usable.find((p) => p.modelId !== DEMO_MODEL_ID) ?? usable[0];
  if (pick) return pick;
  const why = packs.map((p) => `${p.id}: ${p.problem?.message ?? ''}`).join('; ');
  throw new ModelNotFoundError(
    'no-pack',
    `${packs.length === 0 ? 'No model pack is installed' : `No model pack is ready (${why})`}. Install one with \`musilingo models download <model> --convert\`, or try the demo: \`musilingo models demo\`.`,
  );
}

/** The adapter a model uses now: its active fine-tuned adapter, else its own. */
export function activeAdapterFor(db: Database.Database, modelId: string): ResolvedAdapter {
  const a = activeAdapter(db, modelId);
  return a ? { id: a.id, path: a.path, name: a.name } : OWN_ADAPTER;
}

function isPathRef(ref: string): boolean {
  return isAbsolute(ref) || ref.startsWith('.') || ref.includes('/') || ref.includes('\\') || ref.startsWith('~');
}

function fromInstalled(p: InstalledPack, ref: string): ResolvedPack {
  if (p.problem) {
    const hint = p.problem.code === 'stale' ? ` Convert it again: \`musilingo models convert ${p.id} --force\`.` : p.problem.code === 'not-ready' ? ` See \`musilingo models list\`.` : ` Convert it again: \`musilingo models convert ${p.id}\`.`;
    throw new ModelNotFoundError(p.problem.code, `Model pack "${ref}" (${p.id}) cannot be used: ${p.problem.message}.${hint}`);
  }
  return {
    packId: p.id, packDir: p.path as string, modelId: p.modelId, variant: p.variant,
    sourcePath: p.sourcePath && existsSync(p.sourcePath) ? p.sourcePath : null, label: p.label,
  };
}

/** Resolves a pack reference alone (see {@link resolveModel} for the forms). */
export function resolvePack(db: Database.Database, dataDir: string, ref?: string): ResolvedPack {
  if (ref === undefined || ref === '') return fromInstalled(defaultPack(db), 'default');
  const packs = installedPacks(db);
  if (isPathRef(ref)) {
    const dir = resolve(ref.startsWith('~') ? join(process.env['HOME'] ?? '', ref.slice(1)) : ref);
    const row = packs.find((p) => p.path !== null && resolve(p.path) === dir);
    if (row) return fromInstalled(row, ref);
    const problem = manifestProblem(dir);
    if (problem) {
      throw new ModelNotFoundError(problem.code === 'missing-files' ? 'not-installed' : problem.code, `${dir} is not a usable model pack: ${problem.message}.`);
    }
    const manifest = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as { modelId?: string; variant?: ModelVariant };
    return { packId: null, packDir: dir, modelId: manifest.modelId ?? dir, variant: manifest.variant ?? null, sourcePath: null, label: modelLabel(manifest.modelId ?? '') };
  }
  const exact = packs.find((p) => p.id === ref);
  if (exact) return fromInstalled(exact, ref);
  const ofModel = packs.filter((p) => p.modelId === ref);
  if (ofModel.length > 0) return fromInstalled(ofModel.find((p) => p.isUsable) ?? ofModel[0]!, ref);
  // A pack folder under packs/ that has no row (copied in by hand).
  const folder = join(modelsDir(dataDir), 'packs', ref);
  if (existsSync(join(folder, MANIFEST_FILE))) return resolvePack(db, dataDir, folder);
  const installed = packs.map((p) => p.id).join(', ') || 'none';
  throw new ModelNotFoundError(
    'not-installed',
    `Model pack "${ref}" is not installed. Installed: ${installed}. Install it with \`musilingo models\` (or \`musilingo models demo\`), or name a pack folder.`,
  );
}

/**
 * A fine-tuned adapter of any model by id, name (as `adapters list` shows it) or unique id prefix, or throws
 * `no-adapter` / `ambiguous`. For `adapters activate|show|export`, which name an adapter without a model.
 */
export function findAdapter(db: Database.Database, ref: string): AdapterRow {
  const all = listAdapters(db);
  let hits = all.filter((a) => a.id === ref);
  if (hits.length === 0) hits = all.filter((a) => a.name === ref);
  if (hits.length === 0) hits = all.filter((a) => a.id.startsWith(ref));
  if (hits.length > 1) throw new ModelNotFoundError('ambiguous', `Adapter "${ref}" matches ${hits.length} adapters (${hits.slice(0, 3).map((a) => a.id).join(', ')}…); give its full id (see \`musilingo adapters list\`).`);
  if (!hits[0]) throw new ModelNotFoundError('no-adapter', `No adapter "${ref}". See \`musilingo adapters list\`.`);
  return hits[0];
}

/**
 * An adapter of `modelId` by id, unique id prefix or name (as `adapters list` shows them), or a .safetensors
 * file. 'none' (or 'own') is the model's own adapter. Throws `no-adapter`, `ambiguous` or `adapter-mismatch`.
 */
export function resolveAdapter(db: Database.Database, modelId: string, ref: string): ResolvedAdapter {
  if (ref === '' || ref === 'none' || ref === 'own') return OWN_ADAPTER;
  const all = listAdapters(db);
  let hits: AdapterRow[] = all.filter((a) => a.id === ref);
  if (hits.length === 0) hits = all.filter((a) => a.name === ref);
  if (hits.length === 0 && !isPathRef(ref)) hits = all.filter((a) => a.id.startsWith(ref));
  if (hits.length > 1) {
    const mine = hits.filter((a) => a.modelId === modelId);
    if (mine.length === 1) hits = mine;
    else throw new ModelNotFoundError('ambiguous', `Adapter "${ref}" matches ${hits.length} adapters (${hits.slice(0, 3).map((a) => a.id).join(', ')}…); give its full id (see \`musilingo adapters list\`).`);
  }
  const a = hits[0];
  if (a) {
    if (a.modelId !== modelId) {
      throw new ModelNotFoundError('adapter-mismatch', `Adapter ${a.id} was trained for model "${a.modelId}", not "${modelId}". Use it with --model ${a.modelId}.`);
    }
    if (!existsSync(a.path)) throw new ModelNotFoundError('no-adapter', `Adapter ${a.id}'s file ${a.path} is missing.`);
    return { id: a.id, path: a.path, name: a.name };
  }
  if (isPathRef(ref) || ref.endsWith('.safetensors')) {
    const file = resolve(ref);
    if (!existsSync(file)) throw new ModelNotFoundError('no-adapter', `Adapter file ${file} does not exist.`);
    const row = all.find((x) => resolve(x.path) === file);
    return row ? { id: row.id, path: row.path, name: row.name } : { id: file, path: file, name: null };
  }
  throw new ModelNotFoundError('no-adapter', `No adapter "${ref}" for model "${modelId}". See \`musilingo adapters list\`.`);
}

/**
 * Resolves what a user or a stored job names into a pack and an adapter.
 *
 * Model reference forms: none (the {@link defaultPack}), a pack id (`demo@float32`, `tiny@int4`), a model id
 * (`demo`, `tiny`: its newest usable pack), a pack folder path, or a folder name under `<data>/models/packs`.
 * Adapter: undefined = the model's active adapter (else its own); '' / 'none' = the model's own; otherwise an
 * adapter id, id prefix, name or .safetensors file (see {@link resolveAdapter}).
 */
export function resolveModel(db: Database.Database, dataDir: string, ref?: string, adapter?: string): ResolvedModel {
  const pack = resolvePack(db, dataDir, ref);
  const a = adapter === undefined ? activeAdapterFor(db, pack.modelId) : resolveAdapter(db, pack.modelId, adapter);
  return { ref: pack.packId ?? pack.packDir, pack, adapter: a };
}

/** What the inference service loads for a resolved model. */
export function loadRequestFor(m: ResolvedModel, opts: { threads?: number; executionProvider?: string } = {}): LoadRequest {
  return {
    packDir: m.pack.packDir,
    ...(m.adapter.path ? { adapterPath: m.adapter.path, adapterId: m.adapter.id } : {}),
    executionProvider: opts.executionProvider ?? envProviderPreference(),
    threads: opts.threads ?? 0,
  };
}
