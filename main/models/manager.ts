/**
 * @file The model manager: catalog + `models` table + downloader + converter, as the CLI and the desktop app
 * use them. Plain Node, given a DB handle (the single writer) and the models folder. Conversion runs ONNX
 * Runtime (smoke run) and takes minutes on a 7B checkpoint: the desktop app calls {@link convertModel} from a
 * utility process or worker, not from main's event loop.
 *
 * Folder layout under `modelsDir`:
 *   downloads/<owner>--<name>/   checkpoint files as on the Hub (+ .part/.part.json while in flight, download.json)
 *   packs/<model>@<variant>/     converted model packs (manifest.json last)
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import {
  deleteModelPack,
  getModelPack,
  listModelPacks,
  packId,
  upsertModelPack,
  updateModelPack,
  type ModelPackRow,
  type ModelVariant,
} from '../db/models';
import { CATALOG, catalogEntry, type CatalogEntry } from './catalog';
import { checkpointFiles, SOURCES_FILE } from './checkpoint-files';
import { checkTokenizer } from './tokenizer-check';
import { convertCheckpoint, type ConvertProgress, type Provenance } from './convert';
import { recommendVariant } from './doctor';
import { downloadRepo, NODE_IO, type DownloadIo, type DownloadProgress } from './download';
import { BadCheckpointError, DiskFullError, ModelError } from './errors';
import type { HubConfig } from './hub';
import { isStalePackError, readPackManifest } from './pack';
import { chooseExecutionProvider, currentProviderEnvironment, type ProviderName } from './providers';

/** Progress of a manager operation, for a progress bar or the Models page. */
export type ModelProgress =
  | { readonly kind: 'download'; readonly packId: string; readonly repo: string; readonly progress: DownloadProgress }
  | { readonly kind: 'convert'; readonly packId: string; readonly progress: ConvertProgress };

/** What every manager call needs. */
export interface ManagerContext {
  readonly db: Database.Database;
  readonly modelsDir: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly hub?: HubConfig;
  readonly catalog?: readonly CatalogEntry[];
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ModelProgress) => void;
  /** Called after every change of a pack row (state, progress, error). */
  readonly onChanged?: (row: ModelPackRow) => void;
  /** Downloader knobs (tests). */
  readonly download?: { readonly connections?: number; readonly partSizeBytes?: number; readonly io?: DownloadIo };
}

/** One catalog entry with its packs, for `models list` and the Models page. */
export interface ModelListing {
  readonly entry: CatalogEntry | undefined;
  readonly modelId: string;
  readonly packs: readonly ModelPackRow[];
}

/** Catalog entries (tokenizer excluded) and imported models, each with its packs. */
export function listModels(ctx: Pick<ManagerContext, 'db' | 'catalog'>): ModelListing[] {
  const rows = listModelPacks(ctx.db);
  const catalog = (ctx.catalog ?? CATALOG).filter((e) => e.kind === 'musilingo');
  const out: ModelListing[] = catalog.map((entry) => ({ entry, modelId: entry.id, packs: rows.filter((r) => r.modelId === entry.id) }));
  const imported = [...new Set(rows.map((r) => r.modelId))].filter((id) => !catalog.some((e) => e.id === id));
  for (const id of imported) out.push({ entry: undefined, modelId: id, packs: rows.filter((r) => r.modelId === id) });
  return out;
}

/** Folder a repo downloads into. */
export function downloadDir(modelsDir: string, repo: string): string {
  return join(modelsDir, 'downloads', repo.replace('/', '--'));
}

/** Folder of a pack. */
export function packDir(modelsDir: string, id: string): string {
  return join(modelsDir, 'packs', id);
}

/**
 * The provider this machine would use, and the variant and int4 activation dtype that suit it. Without `probe`
 * (the default) only static checks run: cheap and safe in main. With `probe: true` a test session opens on GPU
 * providers, because a bundled WebGPU provider with a Vulkan loader but no adapter only fails when used; that
 * loads ONNX Runtime, so do it in the CLI or a worker (convertModel does).
 */
export async function defaultVariant(
  env: NodeJS.ProcessEnv = process.env,
  opts: { probe?: boolean; setting?: string } = {},
): Promise<{ variant: ModelVariant; provider: ProviderName; activationDtype: 'float32' | 'float16'; summary: string }> {
  const choice = await chooseExecutionProvider({ probe: opts.probe ?? false, ...(opts.setting ? { setting: opts.setting } : {}), environment: { ...currentProviderEnvironment(), env } });
  return {
    variant: recommendVariant(choice.chosen, undefined).variant,
    provider: choice.chosen,
    activationDtype: choice.chosen === 'cpu' ? 'float32' : 'float16',
    summary: choice.summary,
  };
}

function changed(ctx: ManagerContext, id: string): ModelPackRow {
  const row = getModelPack(ctx.db, id);
  if (!row) throw new Error(`Model pack "${id}" does not exist`);
  ctx.onChanged?.(row);
  return row;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Downloads a catalog model (and its tokenizer) into `downloads/`, resuming what is there. Creates or updates
 * the pack row `<modelId>@<variant>` (state downloading → downloaded, or failed with the error). Returns the row.
 */
export async function downloadModel(ctx: ManagerContext, modelId: string, variant: ModelVariant): Promise<ModelPackRow> {
  const entry = catalogEntry(modelId, ctx.catalog ?? CATALOG);
  if (entry.kind !== 'musilingo') throw new ModelError('bad-checkpoint', `"${entry.id}" is a tokenizer, not a model; it is downloaded with each model.`);
  const id = packId(entry.id, variant);
  upsertModelPack(ctx.db, { modelId: entry.id, variant, state: 'downloading', repo: entry.repo, revision: entry.revision, error: null, progress: 0 });
  changed(ctx, id);
  try {
    const parts = [entry, ...(entry.tokenizer ? [catalogEntry(entry.tokenizer, ctx.catalog ?? CATALOG)] : [])];
    let commit: string | undefined;
    let lastFraction = -1;
    for (const part of parts) {
      const res = await downloadRepo({
        repo: part.repo,
        revision: part.revision,
        ...(part.files ? { files: part.files } : {}),
        destDir: downloadDir(ctx.modelsDir, part.repo),
        ...(ctx.hub ? { hub: ctx.hub } : {}),
        ...(ctx.env ? { env: ctx.env } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        ...(ctx.download?.connections ? { connections: ctx.download.connections } : {}),
        ...(ctx.download?.partSizeBytes ? { partSizeBytes: ctx.download.partSizeBytes } : {}),
        ...(ctx.download?.io ? { io: ctx.download.io } : {}),
        onProgress: (p) => {
          ctx.onProgress?.({ kind: 'download', packId: id, repo: part.repo, progress: p });
          const f = part === entry && p.bytesTotal > 0 ? Math.floor((p.bytesDone / p.bytesTotal) * 100) / 100 : lastFraction;
          if (f !== lastFraction && f >= 0) {
            lastFraction = f;
            updateModelPack(ctx.db, id, { progress: Math.min(1, f) });
          }
        },
      });
      if (part === entry) commit = res.commit;
    }
    updateModelPack(ctx.db, id, { state: 'downloaded', revision: commit ?? entry.revision, sourcePath: downloadDir(ctx.modelsDir, entry.repo), progress: 1 });
    return changed(ctx, id);
  } catch (e) {
    updateModelPack(ctx.db, id, { state: 'failed', error: messageOf(e) });
    changed(ctx, id);
    throw e;
  }
}

/**
 * Registers a local checkpoint: one folder with MusiLingo's files (shards + index, or one file), or several
 * folders together (separate MERT, Llama and adapter checkpoints; recorded in a {@link SOURCES_FILE} folder under
 * `imports/`). The index must cover every shard; a tokenizer.model must be in a folder, in `tokenizerDir`, or
 * already downloaded. Returns the row (state downloaded).
 */
export async function importModel(
  ctx: ManagerContext,
  dir: string | readonly string[],
  variant: ModelVariant,
  opts: { modelId?: string; tokenizerDir?: string } = {},
): Promise<ModelPackRow> {
  const dirs = (typeof dir === 'string' ? [dir] : [...dir]).map((d) => resolve(d));
  if (dirs.length === 0) throw new BadCheckpointError('Nothing to import: no folder given.');
  await checkpointFiles(dirs); // throws BadCheckpointError naming a missing shard or truncated file
  const tokDir = opts.tokenizerDir ? resolve(opts.tokenizerDir) : dirs.find((d) => existsSync(join(d, 'tokenizer.model'))) ?? dirs[0]!;
  if (opts.tokenizerDir && !existsSync(join(tokDir, 'tokenizer.model'))) {
    throw new BadCheckpointError(`No tokenizer.model in ${tokDir}: pass the folder that holds Vicuna's tokenizer.model.`);
  }
  let usedTokDir = tokDir;
  if (!existsSync(join(tokDir, 'tokenizer.model'))) {
    const fallback = downloadDir(ctx.modelsDir, 'lmsys/vicuna-7b-delta-v0');
    if (!existsSync(join(fallback, 'tokenizer.model'))) {
      throw new BadCheckpointError(`No tokenizer.model in ${tokDir}: pass the folder of Vicuna's tokenizer, or download it with \`musilingo models download vicuna-tokenizer\`.`);
    }
    usedTokDir = fallback;
  }
  // Loaded and run now, not at the first caption: see main/models/tokenizer-check.ts.
  await checkTokenizer(usedTokDir);
  const first = dirs[0]!;
  const modelId = opts.modelId ?? `local-${basename(first).toLowerCase().replace(/[^a-z0-9._-]+/g, '-')}`;
  let sourcePath = first;
  if (dirs.length > 1) {
    sourcePath = join(ctx.modelsDir, 'imports', modelId);
    await mkdir(sourcePath, { recursive: true });
    await writeFile(join(sourcePath, SOURCES_FILE), JSON.stringify({ sources: dirs }, null, 2));
  }
  upsertModelPack(ctx.db, { modelId, variant, state: 'downloaded', repo: null, revision: null, sourcePath, error: null, progress: 1 });
  if (tokDir !== first || dirs.length > 1) {
    // Keep a copy (a few hundred kB) so that a later conversion finds it without the original folder.
    const keep = join(ctx.modelsDir, 'tokenizers', modelId);
    await mkdir(keep, { recursive: true });
    for (const f of ['tokenizer.model', 'tokenizer_config.json', 'special_tokens_map.json']) {
      if (existsSync(join(tokDir, f))) await copyFile(join(tokDir, f), join(keep, f));
    }
  }
  return changed(ctx, packId(modelId, variant));
}

async function tokenizerDirFor(ctx: ManagerContext, row: ModelPackRow): Promise<string> {
  const src = row.sourcePath ?? '';
  const kept = join(ctx.modelsDir, 'tokenizers', row.modelId);
  if (existsSync(join(kept, 'tokenizer.model'))) return kept;
  if (existsSync(join(src, 'tokenizer.model'))) return src;
  const entry = (ctx.catalog ?? CATALOG).find((e) => e.id === row.modelId);
  const tokEntry = entry?.tokenizer ? catalogEntry(entry.tokenizer, ctx.catalog ?? CATALOG) : catalogEntry('vicuna-tokenizer', ctx.catalog ?? CATALOG);
  return downloadDir(ctx.modelsDir, tokEntry.repo);
}

async function provenanceOf(row: ModelPackRow): Promise<Provenance> {
  if (!row.repo || !row.sourcePath) return {};
  try {
    const state = JSON.parse(await readFile(join(row.sourcePath, 'download.json'), 'utf8')) as {
      revision?: string; commit?: string; files?: Record<string, { sizeBytes: number; sha256?: string; etag?: string }>;
    };
    return {
      repo: row.repo,
      ...(state.revision ? { revision: state.revision } : {}),
      ...(state.commit ? { commit: state.commit } : {}),
      ...(state.files ? { files: state.files } : {}),
    };
  } catch {
    return { repo: row.repo, ...(row.revision ? { commit: row.revision } : {}) };
  }
}

/**
 * Converts a downloaded or imported model into the pack `<modelId>@<variant>` (resuming a killed conversion),
 * smoke-tests it and marks it ready. When that variant has no row yet, the checkpoint of another variant of
 * the same model is used. A ready, current pack is left alone unless `force`. Returns the row (state ready),
 * or throws after marking it failed.
 */
export async function convertModel(
  ctx: ManagerContext,
  modelId: string,
  variant: ModelVariant,
  opts: { activationDtype?: 'float32' | 'float16'; attention?: 'ops' | 'gqa'; smokeExecutionProviders?: readonly string[]; force?: boolean } = {},
): Promise<ModelPackRow> {
  const id = packId(modelId, variant);
  let row = getModelPack(ctx.db, id);
  if (!row?.sourcePath) {
    const sibling = listModelPacks(ctx.db).find((r) => r.modelId === modelId && r.sourcePath && r.state !== 'downloading');
    if (!sibling?.sourcePath) {
      throw new ModelError('bad-checkpoint', `"${modelId}" has no downloaded checkpoint: run \`musilingo models download ${modelId}\` (or import a folder) first.`);
    }
    row = upsertModelPack(ctx.db, { modelId, variant, state: 'downloaded', repo: sibling.repo, revision: sibling.revision, sourcePath: sibling.sourcePath });
  }
  if (row.state === 'downloading') throw new ModelError('bad-checkpoint', `"${modelId}" is still downloading; convert it when the download is done.`);
  if (row.state === 'ready' && !opts.force) {
    const checked = await checkPack(ctx, id);
    if (checked.state === 'ready') return checked; // current and complete: nothing to do
  }
  const out = packDir(ctx.modelsDir, id);
  updateModelPack(ctx.db, id, { state: 'converting', path: out, error: null, progress: 0 });
  changed(ctx, id);
  const src = row.sourcePath as string;
  let need = 0;
  try {
    need = await checkConversionSpace(ctx, src, out, variant);
    // The pack is built for, and smoke-tested on, the provider this machine will use (CPU as the fallback).
    let act = opts.activationDtype;
    let smokeEps = opts.smokeExecutionProviders;
    if ((!act && variant === 'int4') || !smokeEps) {
      const choice = await defaultVariant(ctx.env ?? process.env, { probe: true });
      act ??= variant === 'int4' ? choice.activationDtype : undefined;
      smokeEps ??= choice.provider === 'cpu' ? ['cpu'] : [choice.provider, 'cpu'];
    }
    let lastFraction = -1;
    const manifest = await convertCheckpoint({
      modelId,
      sources: src,
      tokenizerDir: await tokenizerDirFor(ctx, row),
      outDir: out,
      variant,
      ...(act ? { activationDtype: act } : {}),
      ...(opts.attention ? { attention: opts.attention } : {}),
      provenance: await provenanceOf(row),
      smokeExecutionProviders: smokeEps,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress: (p) => {
        ctx.onProgress?.({ kind: 'convert', packId: id, progress: p });
        const f = Math.floor(p.fraction * 100) / 100;
        if (f !== lastFraction) {
          lastFraction = f;
          updateModelPack(ctx.db, id, { progress: f });
        }
      },
    });
    const size = Object.values(manifest.files).reduce((a, f) => a + f.sizeBytes, 0);
    updateModelPack(ctx.db, id, { state: 'ready', progress: 1, sizeBytes: size, revision: manifest.source.commit ?? row.revision });
    return changed(ctx, id);
  } catch (e) {
    const err = isEnospcError(e) ? new DiskFullError(out, need, await (ctx.download?.io ?? NODE_IO).freeBytes(ctx.modelsDir).catch(() => 0)) : e;
    updateModelPack(ctx.db, id, { state: 'failed', error: messageOf(err) });
    changed(ctx, id);
    throw err;
  }
}

/** Pack size relative to the checkpoint (float16 Llama + float32 MERT), per variant. */
const PACK_SIZE_FACTOR: Readonly<Record<ModelVariant, number>> = { float32: 2.0, float16: 1.0, int4: 0.35 };

/** Approximate pack size for a checkpoint of `sourceBytes`. */
export function estimatePackBytes(sourceBytes: number, variant: ModelVariant): number {
  return Math.ceil(sourceBytes * PACK_SIZE_FACTOR[variant]);
}

/** Refuses to start a conversion that cannot fit (what is already in the pack folder counts as done). */
async function checkConversionSpace(ctx: ManagerContext, src: string, out: string, variant: ModelVariant): Promise<number> {
  const files = await checkpointFiles(src);
  let sourceBytes = 0;
  for (const f of files) sourceBytes += (await stat(f)).size;
  const need = Math.max(0, estimatePackBytes(sourceBytes, variant) - (await folderSizeBytes(out)));
  await mkdir(ctx.modelsDir, { recursive: true });
  const free = await (ctx.download?.io ?? NODE_IO).freeBytes(ctx.modelsDir);
  if (need > free) throw new DiskFullError(out, need, free);
  return need;
}

function isEnospcError(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC' || /ENOSPC|no space left on device/i.test(messageOf(e));
}

/**
 * At app start nothing downloads or converts yet, so rows left in `downloading`/`converting` by a quit or crash
 * are marked failed with a message saying that starting again resumes (partial files are kept). Do not call it
 * while a download or conversion may be running in another process. Returns the rows it changed.
 */
export function markInterrupted(ctx: Pick<ManagerContext, 'db' | 'onChanged'>): ModelPackRow[] {
  const out: ModelPackRow[] = [];
  for (const r of listModelPacks(ctx.db)) {
    if (r.state !== 'downloading' && r.state !== 'converting') continue;
    const what = r.state === 'downloading' ? 'The download' : 'The conversion';
    updateModelPack(ctx.db, r.id, { state: 'failed', error: `${what} was interrupted (the app quit); start it again and it resumes where it stopped.` });
    const row = getModelPack(ctx.db, r.id);
    if (row) {
      ctx.onChanged?.(row);
      out.push(row);
    }
  }
  return out;
}

/**
 * Checks that a ready pack is still usable: its manifest is there and of the current format version. A stale
 * pack goes back to `downloaded` (convert it again); a missing or broken one is marked failed. Returns the row.
 */
export async function checkPack(ctx: ManagerContext, id: string): Promise<ModelPackRow> {
  const row = getModelPack(ctx.db, id);
  if (!row) throw new ModelError('bad-pack', `Model pack "${id}" does not exist.`);
  if (row.state !== 'ready' || !row.path) return row;
  try {
    await readPackManifest(row.path);
    return row;
  } catch (e) {
    if (isStalePackError(e)) updateModelPack(ctx.db, id, { state: 'downloaded', error: messageOf(e), progress: 0 });
    else updateModelPack(ctx.db, id, { state: 'failed', error: messageOf(e) });
    return changed(ctx, id);
  }
}

/**
 * Removes a pack: its folder and its row. With `deleteDownload`, also the downloaded checkpoint when no other
 * pack uses it (never an imported folder: that is the user's).
 */
export async function removeModel(ctx: ManagerContext, id: string, opts: { deleteDownload?: boolean } = {}): Promise<void> {
  const row = getModelPack(ctx.db, id) ?? listModelPacks(ctx.db).find((r) => r.modelId === id);
  if (!row) throw new ModelError('bad-pack', `Model pack "${id}" does not exist. See \`musilingo models list\`.`);
  const packFolder = row.path ?? packDir(ctx.modelsDir, row.id);
  if (resolve(packFolder).startsWith(resolve(ctx.modelsDir))) await rm(packFolder, { recursive: true, force: true });
  deleteModelPack(ctx.db, row.id);
  if (opts.deleteDownload && row.sourcePath && resolve(row.sourcePath).startsWith(resolve(join(ctx.modelsDir, 'downloads')))) {
    const stillUsed = listModelPacks(ctx.db).some((r) => r.sourcePath === row.sourcePath);
    if (!stillUsed) await rm(row.sourcePath, { recursive: true, force: true });
  }
}

/** Size on disk of a folder's direct files (for listings). */
export async function folderSizeBytes(dir: string): Promise<number> {
  const { readdir } = await import('node:fs/promises');
  let total = 0;
  for (const f of await readdir(dir).catch(() => [] as string[])) total += (await stat(join(dir, f)).catch(() => undefined))?.size ?? 0;
  return total;
}
