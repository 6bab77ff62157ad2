/**
 * @file Downloads a model repository from a Hugging Face Hub: ranged parallel parts over N connections,
 * resume across interruptions and restarts, sha256 check against the Hub's LFS object id, free-disk check,
 * progress and cancel. Plain Node (main, CLI, tests); node's fetch, so http://127.0.0.1 works in tests.
 *
 * [Note: Download layout and resume]
 * Files land in `destDir/<file>`. While a file is in flight its bytes are in `<file>.part` (written at their
 * offsets, so parts can arrive in any order) next to a sidecar `<file>.part.json` that records the etag, the
 * size, the part size and how many bytes of each part are on disk. A later run with the same etag skips what
 * is there and asks only for the missing ranges; a changed etag (the repo moved on) starts the file over.
 * Only a file whose hash matched is renamed to its final name, so a final name always means "verified".
 * `destDir/download.json` records the repo, the commit and each file's etag when everything is done.
 *
 * [Note: Pinned snapshots]
 * A branch such as `main` moves. The first download into a folder resolves it to a commit and records that
 * commit in `download.json` before any byte is fetched; every later run for the same repo and revision (a
 * resume, a re-check, a second `models download`) asks for that commit, not for the branch, so a folder never
 * mixes files of two snapshots and a re-download cannot silently bring different weights. `update: true` moves
 * the pin to the branch's newest commit. A revision that is already a commit id is used as it is.
 *
 * [Note: HF_HOME]
 * We do not write into the huggingface_hub cache ($HF_HOME/hub): its locking and symlink conventions belong to
 * Python's huggingface_hub, and two writers would race. We do look there first: a file whose snapshot entry
 * (`models--owner--name/snapshots/<commit>/<file>`) resolves to a blob named by the expected etag with the
 * expected size is used in place and not downloaded again (huggingface_hub names a blob by its etag only after
 * it finished and checked it). Its path is returned, so a converter reads it from there.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readFile, realpath, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CancelledError, ChecksumError, DiskFullError, NetworkError, NoChecksumError } from './errors';
import { safeJoin } from './remote-path';
import { authHeaders, hfHubCache, hubConfigFromEnv, repoInfo, resolveFile, type HubConfig, type ResolvedFile } from './hub';

/** What a progress callback receives, at most every `progressIntervalMs`, plus once per phase change. */
export interface DownloadProgress {
  readonly repo: string;
  readonly phase: 'resolving' | 'downloading' | 'verifying' | 'done';
  /** The file being worked on (downloading/verifying). */
  readonly file?: string;
  readonly fileBytesDone: number;
  readonly fileBytesTotal: number;
  /** Over every file of this download, including bytes that were already on disk. */
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** Network rate over the last few seconds. */
  readonly rateBytesPerSec: number;
  /** Seconds left at the current rate; undefined before a rate is known. */
  readonly etaSeconds: number | undefined;
}

/** File-system operations a test can replace (ENOSPC, tiny disks). */
export interface DownloadIo {
  /** Writes all of `bytes` at `position`. */
  writeAt(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void>;
  /** Free bytes available to this user at `path` (an existing folder). */
  freeBytes(path: string): Promise<number>;
}

/** The default {@link DownloadIo}: FileHandle.write and fs.statfs. */
export const NODE_IO: DownloadIo = {
  async writeAt(handle, bytes, position) {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
      done += bytesWritten;
    }
  },
  async freeBytes(path) {
    const s = await statfs(path);
    return s.bavail * s.bsize;
  },
};

/** Options of {@link downloadRepo}. */
export interface DownloadOptions {
  /** `owner/name`. */
  readonly repo: string;
  /** Branch, tag or commit; default "main". See [Note: Pinned snapshots]. */
  readonly revision?: string;
  /** Move to the newest commit of `revision` instead of the one this folder is pinned to. Default false. */
  readonly update?: boolean;
  /** Files to fetch; default: every sibling that {@link defaultFileFilter} accepts. */
  readonly files?: readonly string[];
  /** Where the files go (created if needed). */
  readonly destDir: string;
  /** Default: from the environment (HF_ENDPOINT, HF_TOKEN). */
  readonly hub?: HubConfig;
  /** Environment for HF_* lookups; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Parallel connections per file; default 4. */
  readonly connections?: number;
  /** Range size; default 64 MiB. */
  readonly partSizeBytes?: number;
  /** Failed attempts in a row (no bytes between them) before a part gives up; default 6. */
  readonly maxRetries?: number;
  /** A connection that sends nothing for this long is dropped and retried; default 60 s. */
  readonly idleTimeoutMs?: number;
  /** Look for already-downloaded files in the huggingface_hub cache; default true. See [Note: HF_HOME]. */
  readonly useHfCache?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: DownloadProgress) => void;
  readonly progressIntervalMs?: number;
  readonly io?: DownloadIo;
}

/** One fetched (or found) file. */
export interface DownloadedFile {
  readonly file: string;
  /** Absolute path of the verified bytes. */
  readonly path: string;
  readonly sizeBytes: number;
  readonly etag: string | undefined;
  /** sha256 hex when known (LFS files, and every file we hashed). */
  readonly sha256: string | undefined;
  readonly source: 'downloaded' | 'existing' | 'hf-cache';
}

/** What {@link downloadRepo} returns. */
export interface DownloadResult {
  readonly repo: string;
  readonly revision: string;
  /** The commit the files come from. */
  readonly commit: string;
  readonly dir: string;
  readonly files: readonly DownloadedFile[];
}

/** Default selection from a repo listing: weights, configs and tokenizer files; no pickles, docs or code. */
export function defaultFileFilter(name: string): boolean {
  // Hidden files (.gitattributes) are skipped quietly; any other unsafe name is refused loudly by safeJoin.
  if (name.startsWith('.') || name.includes('/.')) return false;
  return /\.(safetensors|json|model)$/.test(name);
}

interface Sidecar {
  version: 1;
  etag: string | undefined;
  sizeBytes: number;
  partSizeBytes: number;
  /** Bytes on disk for each part, from the part's start. */
  done: number[];
}

const SHA256_RE = /^[0-9a-f]{64}$/;
const SHA1_RE = /^[0-9a-f]{40}$/;

/** Hashes a file: sha256, and git's blob sha1 when `gitSha1` (what the Hub's ETag is for small files). */
export async function hashFile(path: string, signal?: AbortSignal, onBytes?: (n: number) => void): Promise<{ sha256: string; gitSha1: string }> {
  const { size } = await stat(path);
  const h256 = createHash('sha256');
  const h1 = createHash('sha1');
  h1.update(`blob ${size}\0`);
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20, ...(signal ? { signal } : {}) })) {
    const buf = chunk as Buffer;
    h256.update(buf);
    h1.update(buf);
    onBytes?.(buf.length);
  }
  return { sha256: h256.digest('hex'), gitSha1: h1.digest('hex') };
}

/** The nearest existing ancestor of `path` (statfs needs an existing path). */
async function existingAncestor(path: string): Promise<string> {
  let p = path;
  for (;;) {
    if (existsSync(p)) return p;
    const up = dirname(p);
    if (up === p) return p;
    p = up;
  }
}

function isEnospc(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC';
}

async function readSidecar(path: string): Promise<Sidecar | undefined> {
  try {
    const s = JSON.parse(await readFile(path, 'utf8')) as Sidecar;
    return s.version === 1 && Array.isArray(s.done) ? s : undefined;
  } catch {
    return undefined;
  }
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify(value));
  await rename(tmp, path);
}

/** Tracks bytes and turns them into rate and ETA; throttles callbacks. */
class ProgressMeter {
  private samples: Array<[number, number]> = [];
  private lastEmit = 0;
  bytesDone = 0;
  bytesTotal = 0;
  file: string | undefined;
  fileBytesDone = 0;
  fileBytesTotal = 0;
  private networkBytes = 0;

  constructor(
    private readonly repo: string,
    private readonly cb: ((p: DownloadProgress) => void) | undefined,
    private readonly intervalMs: number,
  ) {}

  addNetwork(n: number): void {
    this.networkBytes += n;
    this.bytesDone += n;
    this.fileBytesDone += n;
    this.emit('downloading');
  }

  rate(): number {
    const now = performance.now();
    this.samples.push([now, this.networkBytes]);
    while (this.samples.length > 2 && now - (this.samples[0]?.[0] ?? now) > 5000) this.samples.shift();
    const first = this.samples[0];
    if (!first || now - first[0] < 200) return 0;
    return ((this.networkBytes - first[1]) * 1000) / (now - first[0]);
  }

  emit(phase: DownloadProgress['phase'], force = false): void {
    if (!this.cb) return;
    const now = performance.now();
    if (!force && now - this.lastEmit < this.intervalMs) return;
    this.lastEmit = now;
    const rate = this.rate();
    const left = this.bytesTotal - this.bytesDone;
    this.cb({
      repo: this.repo,
      phase,
      ...(this.file !== undefined ? { file: this.file } : {}),
      fileBytesDone: this.fileBytesDone,
      fileBytesTotal: this.fileBytesTotal,
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      rateBytesPerSec: rate,
      etaSeconds: rate > 0 ? left / rate : undefined,
    });
  }
}

/** A file of the plan with what is already on disk. */
interface PlannedFile {
  resolved: ResolvedFile;
  finalPath: string;
  /** Set when nothing needs fetching. */
  ready?: DownloadedFile;
  /** Bytes already on disk in `.part`. */
  haveBytes: number;
  sidecar: Sidecar | undefined;
}

/** Looks for a verified copy in the huggingface_hub cache. See [Note: HF_HOME]. */
async function findInHfCache(env: NodeJS.ProcessEnv, repo: string, commit: string | undefined, r: ResolvedFile): Promise<string | undefined> {
  if (!commit || !r.etag) return undefined;
  const snap = join(hfHubCache(env), `models--${repo.replace('/', '--')}`, 'snapshots', commit, r.file);
  try {
    const real = await realpath(snap);
    const st = await stat(real);
    if (basename(real) === r.etag && st.size === r.sizeBytes) return real;
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * Downloads `opts.files` (or the repo's default selection) of `opts.repo` at `opts.revision` into
 * `opts.destDir`. Resumes partial files, verifies hashes, checks free space first. See [Note: Download layout
 * and resume]. Throws typed errors from ./errors (not found, auth, gated, disk full, checksum, network,
 * cancelled).
 */
export async function downloadRepo(opts: DownloadOptions): Promise<DownloadResult> {
  const env = opts.env ?? process.env;
  const hub = opts.hub ?? hubConfigFromEnv(env);
  const io = opts.io ?? NODE_IO;
  const revision = opts.revision ?? 'main';
  const meter = new ProgressMeter(opts.repo, opts.onProgress, opts.progressIntervalMs ?? 250);
  const signal = opts.signal;
  const what = `Download of ${opts.repo}`;
  const check = (): void => {
    if (signal?.aborted) throw new CancelledError(what);
  };
  meter.emit('resolving', true);

  // 1. Which files, at which commit (the folder's pinned one unless asked to update; see [Note: Pinned snapshots]).
  const statePath = join(opts.destDir, 'download.json');
  const prevState = await readJson<{ repo?: string; revision?: string; commit?: string; files?: Record<string, { etag?: string; sha256?: string }> }>(statePath);
  const pinned = !opts.update && prevState?.repo === opts.repo && prevState.revision === revision && SHA1_RE.test(prevState.commit ?? '') ? prevState.commit : undefined;
  const ask = pinned ?? revision;
  let commit: string | undefined;
  let names: readonly string[];
  if (opts.files) {
    names = opts.files;
  } else {
    const info = await repoInfo(hub, opts.repo, ask, signal);
    commit = info.sha;
    names = info.siblings.map((s) => s.rfilename).filter(defaultFileFilter);
  }
  check();
  // Every name is checked before anything is asked or written. See [Note: Remote file names are untrusted].
  for (const name of names) safeJoin(opts.repo, opts.destDir, name);
  const resolved: ResolvedFile[] = [];
  for (const name of names) {
    // Pin every file after the first to the commit the first resolved to, so all come from one snapshot.
    const r = await wrapAbort(() => resolveFile(hub, opts.repo, commit ?? ask, name, signal), signal, what);
    commit ??= r.commit;
    // [Note: Every file needs a checkable hash] Without an LFS sha256 or a git sha1 a same-size substitute would
    // pass; a weak or missing ETag is refused before any byte is fetched.
    if (!isCheckableHash(r.etag)) throw new NoChecksumError(opts.repo, r.file, r.etag);
    resolved.push(r);
  }
  const finalCommit = commit ?? ask;

  // 2. What is already here (final file, partial file, huggingface_hub cache). The pin is written first.
  await mkdir(opts.destDir, { recursive: true });
  if (SHA1_RE.test(finalCommit) && prevState?.commit !== finalCommit) {
    await writeJsonAtomic(statePath, { repo: opts.repo, revision, commit: finalCommit, files: {} });
  }
  const plan: PlannedFile[] = [];
  for (const r of resolved) {
    const finalPath = safeJoin(opts.repo, opts.destDir, r.file);
    const p: PlannedFile = { resolved: r, finalPath, haveBytes: 0, sidecar: undefined };
    const st = await stat(finalPath).catch(() => undefined);
    const prev = prevState?.files?.[r.file];
    if (st?.isFile() && st.size === r.sizeBytes && prev?.etag === r.etag) {
      p.ready = { file: r.file, path: finalPath, sizeBytes: r.sizeBytes, etag: r.etag, sha256: prev?.sha256, source: 'existing' };
    } else if (opts.useHfCache !== false) {
      const cached = await findInHfCache(env, opts.repo, finalCommit, r);
      if (cached) {
        p.ready = {
          file: r.file, path: cached, sizeBytes: r.sizeBytes, etag: r.etag,
          sha256: r.etag && SHA256_RE.test(r.etag) ? r.etag : undefined, source: 'hf-cache',
        };
      }
    }
    if (!p.ready && st?.isFile() && st.size === r.sizeBytes) {
      // A final file without a record (state lost): trust it only if its hash matches.
      const h = await hashFile(finalPath, signal);
      if (hashMatches(r.etag, h)) p.ready = { file: r.file, path: finalPath, sizeBytes: r.sizeBytes, etag: r.etag, sha256: h.sha256, source: 'existing' };
    }
    if (!p.ready) {
      const sc = await readSidecar(`${finalPath}.part.json`);
      const partExists = existsSync(`${finalPath}.part`);
      if (sc && partExists && sc.etag === r.etag && sc.sizeBytes === r.sizeBytes) {
        p.sidecar = sc;
        p.haveBytes = sc.done.reduce((a, b) => a + b, 0);
      }
    }
    plan.push(p);
  }

  // 3. Free space for what is still missing (the .part file is sparse: it grows as bytes arrive).
  const need = plan.filter((p) => !p.ready).reduce((a, p) => a + p.resolved.sizeBytes - p.haveBytes, 0);
  const fsPath = await existingAncestor(opts.destDir);
  const free = await io.freeBytes(fsPath);
  if (need > free) throw new DiskFullError(opts.destDir, need, free);

  meter.bytesTotal = plan.reduce((a, p) => a + p.resolved.sizeBytes, 0);
  meter.bytesDone = plan.reduce((a, p) => a + (p.ready ? p.resolved.sizeBytes : p.haveBytes), 0);

  // 4. Fetch, verify, rename.
  const out: DownloadedFile[] = [];
  for (const p of plan) {
    check();
    if (p.ready) {
      out.push(p.ready);
      continue;
    }
    out.push(await fetchVerified(p, { ...opts, hub, io, signal, meter, what, need, refresh: () => resolveFile(hub, opts.repo, finalCommit, p.resolved.file, signal) }));
  }

  const files: Record<string, { etag: string | undefined; sha256: string | undefined; sizeBytes: number; path: string }> = {};
  for (const f of out) files[f.file] = { etag: f.etag, sha256: f.sha256, sizeBytes: f.sizeBytes, path: f.path };
  await writeJsonAtomic(statePath, { repo: opts.repo, revision, commit: finalCommit, files });
  meter.file = undefined;
  meter.emit('done', true);
  return { repo: opts.repo, revision, commit: finalCommit, dir: opts.destDir, files: out };
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function wrapAbort<T>(fn: () => Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (signal?.aborted) throw new CancelledError(what);
    throw e;
  }
}

/** True for an etag that is a content hash we can recompute: LFS sha256 or git blob sha1. */
export function isCheckableHash(etag: string | undefined): etag is string {
  return etag !== undefined && (SHA256_RE.test(etag) || SHA1_RE.test(etag));
}

function hashMatches(etag: string | undefined, h: { sha256: string; gitSha1: string }): boolean {
  if (!etag) return false;
  if (SHA256_RE.test(etag)) return etag === h.sha256;
  if (SHA1_RE.test(etag)) return etag === h.gitSha1;
  return false; // never trust bytes we cannot check; resolution already refused such files
}

interface FetchContext {
  readonly hub: HubConfig;
  readonly io: DownloadIo;
  readonly signal: AbortSignal | undefined;
  readonly meter: ProgressMeter;
  readonly what: string;
  readonly need: number;
  readonly connections?: number;
  readonly partSizeBytes?: number;
  readonly maxRetries?: number;
  readonly idleTimeoutMs?: number;
  readonly destDir: string;
  readonly refresh: () => Promise<ResolvedFile>;
}

/** Fetches one file (resuming), checks its hash, re-fetches once on a mismatch, renames it into place. */
async function fetchVerified(p: PlannedFile, ctx: FetchContext): Promise<DownloadedFile> {
  const r = p.resolved;
  const partPath = `${p.finalPath}.part`;
  const sidecarPath = `${partPath}.json`;
  await mkdir(dirname(p.finalPath), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    ctx.meter.file = r.file;
    ctx.meter.fileBytesTotal = r.sizeBytes;
    ctx.meter.fileBytesDone = p.haveBytes;
    await fetchParts(p, partPath, sidecarPath, ctx);
    ctx.meter.emit('verifying', true);
    const h = await hashFile(partPath, ctx.signal).catch((e: unknown) => {
      if (ctx.signal?.aborted) throw new CancelledError(ctx.what);
      throw e;
    });
    if (hashMatches(r.etag, h)) {
      await rename(partPath, p.finalPath);
      await rm(sidecarPath, { force: true });
      return { file: r.file, path: p.finalPath, sizeBytes: r.sizeBytes, etag: r.etag, sha256: h.sha256, source: 'downloaded' };
    }
    // Bad bytes: throw the partial file away and start over once.
    await rm(partPath, { force: true });
    await rm(sidecarPath, { force: true });
    ctx.meter.bytesDone -= r.sizeBytes;
    p.sidecar = undefined;
    p.haveBytes = 0;
    if (attempt === 1) {
      throw new ChecksumError(r.file, r.etag ?? '?', r.etag && SHA1_RE.test(r.etag) ? h.gitSha1 : h.sha256);
    }
  }
  throw new Error('unreachable');
}

/** Downloads the missing ranges of one file into `partPath` with up to N connections. */
async function fetchParts(p: PlannedFile, partPath: string, sidecarPath: string, ctx: FetchContext): Promise<void> {
  const r = p.resolved;
  const partSize = p.sidecar?.partSizeBytes ?? Math.max(1 << 20, ctx.partSizeBytes ?? 64 << 20);
  const nParts = Math.max(1, Math.ceil(r.sizeBytes / partSize));
  const sidecar: Sidecar = p.sidecar ?? { version: 1, etag: r.etag, sizeBytes: r.sizeBytes, partSizeBytes: partSize, done: new Array<number>(nParts).fill(0) };
  p.sidecar = sidecar;
  let handle: FileHandle;
  try {
    handle = await open(partPath, existsSync(partPath) ? 'r+' : 'w+');
    await handle.truncate(r.sizeBytes);
  } catch (e) {
    if (isEnospc(e)) throw new DiskFullError(ctx.destDir, ctx.need, await ctx.io.freeBytes(await existingAncestor(ctx.destDir)).catch(() => 0));
    throw e;
  }
  let location = r.location;
  // Several connections may see the same expired link at once: they share one re-resolution.
  let refreshing: Promise<void> | undefined;
  const refresh = async (): Promise<void> => {
    refreshing ??= ctx.refresh().then((nr) => {
      if (nr.etag !== r.etag) throw new NetworkError(`${r.file} changed on the Hub while it was downloading; start the download again.`);
      location = nr.location;
    });
    try {
      await refreshing;
    } finally {
      refreshing = undefined;
    }
  };

  let lastSave = 0;
  const save = async (force: boolean): Promise<void> => {
    const now = performance.now();
    if (!force && now - lastSave < 1000) return;
    lastSave = now;
    await writeJsonAtomic(sidecarPath, sidecar);
  };

  const queue = sidecar.done.map((d, i) => i).filter((i) => (sidecar.done[i] ?? 0) < partLength(i));
  function partLength(i: number): number {
    return Math.min(partSize, r.sizeBytes - i * partSize);
  }

  async function worker(): Promise<void> {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      let failures = 0;
      while ((sidecar.done[i] ?? 0) < partLength(i)) {
        if (ctx.signal?.aborted) throw new CancelledError(ctx.what);
        const before = sidecar.done[i] ?? 0;
        const start = i * partSize + before;
        const end = i * partSize + partLength(i) - 1;
        try {
          await fetchRange(location, start, end, ctx, async (bytes, at) => {
            await ctx.io.writeAt(handle, bytes, at);
            sidecar.done[i] = at + bytes.length - i * partSize;
            ctx.meter.addNetwork(bytes.length);
            await save(false);
          });
        } catch (e) {
          if (ctx.signal?.aborted) throw new CancelledError(ctx.what);
          if (isEnospc(e)) {
            const free = await ctx.io.freeBytes(await existingAncestor(ctx.destDir)).catch(() => 0);
            throw new DiskFullError(ctx.destDir, r.sizeBytes - sidecar.done.reduce((a, b) => a + b, 0) + free, free);
          }
          if (e instanceof HttpStatusError && (e.status === 401 || e.status === 403 || e.status === 410)) {
            // Signed CDN URLs expire: resolve again once per failure streak.
            await refresh();
          } else if (e instanceof HttpStatusError && e.status < 500 && e.status !== 408 && e.status !== 429) {
            throw new NetworkError(`Downloading ${r.file} failed: the server answered ${e.status}.`, e);
          }
          if ((sidecar.done[i] ?? 0) === before) failures++;
          else failures = 0;
          if (failures >= (ctx.maxRetries ?? 6)) {
            throw new NetworkError(`Downloading ${r.file} failed after ${failures} attempts: ${(e as Error).message}. It resumes from here next time.`, e);
          }
          await sleep(Math.min(5000, 100 * 2 ** failures), ctx.signal);
        }
      }
    }
  }

  try {
    const n = Math.max(1, Math.min(ctx.connections ?? 4, queue.length));
    const results = await Promise.allSettled(Array.from({ length: n }, () => worker()));
    const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    await save(true).catch(() => undefined);
    await handle.close();
  }
}

class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/**
 * GETs bytes [start, end] of `url` (following redirects by hand so that a cross-origin hop never carries the
 * token) and hands them to `sink` in ~1 MiB blocks with their file offsets. An idle connection is dropped.
 */
async function fetchRange(
  url: string,
  start: number,
  end: number,
  ctx: FetchContext,
  sink: (bytes: Uint8Array, at: number) => Promise<void>,
): Promise<void> {
  const ac = new AbortController();
  const onAbort = (): void => ac.abort();
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  const idleMs = ctx.idleTimeoutMs ?? 60_000;
  let idle = setTimeout(() => ac.abort(), idleMs);
  const touch = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => ac.abort(), idleMs);
  };
  try {
    let target = url;
    let res: Response | undefined;
    for (let hop = 0; hop < 10; hop++) {
      res = await fetch(target, {
        redirect: 'manual',
        headers: { range: `bytes=${start}-${end}`, ...authHeaders(ctx.hub, target) },
        signal: ac.signal,
      });
      if (res.status >= 300 && res.status < 400) {
        const loc = res.headers.get('location');
        await res.body?.cancel();
        if (!loc) throw new HttpStatusError(res.status);
        target = new URL(loc, target).toString();
        continue;
      }
      break;
    }
    if (!res || !res.body) throw new HttpStatusError(res?.status ?? 0);
    if (res.status !== 206 && res.status !== 200) {
      await res.body.cancel();
      throw new HttpStatusError(res.status);
    }
    let pos = start;
    let skip = 0;
    if (res.status === 200) {
      skip = start; // the server ignored Range: drop the bytes before ours
    } else {
      const cr = /bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
      if (!cr || Number(cr[1]) !== start) {
        await res.body.cancel();
        throw new NetworkError(`The server answered a range request with the wrong range (${res.headers.get('content-range') ?? 'none'}).`);
      }
    }
    const block = new Uint8Array(1 << 20);
    let fill = 0;
    const limit = end - start + 1;
    let taken = 0;
    const flush = async (): Promise<void> => {
      if (fill === 0) return;
      await sink(block.subarray(0, fill), pos);
      pos += fill;
      fill = 0;
    };
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        touch();
        let c = chunk;
        if (skip > 0) {
          const s = Math.min(skip, c.length);
          skip -= s;
          c = c.subarray(s);
        }
        if (taken + c.length > limit) c = c.subarray(0, limit - taken);
        taken += c.length;
        let off = 0;
        while (off < c.length) {
          const n = Math.min(block.length - fill, c.length - off);
          block.set(c.subarray(off, off + n), fill);
          fill += n;
          off += n;
          if (fill === block.length) await flush();
        }
        if (taken >= limit) break;
      }
    } finally {
      // Keep what arrived before a drop: the next attempt resumes after it.
      await flush();
    }
    if (taken < limit) throw new NetworkError(`Connection closed after ${taken} of ${limit} bytes.`);
  } finally {
    clearTimeout(idle);
    ctx.signal?.removeEventListener('abort', onAbort);
  }
}
