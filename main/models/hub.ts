/**
 * @file Talking to a Hugging Face Hub (or anything that speaks its protocol): endpoint and token from the
 * environment, repo metadata, per-file resolution (HEAD on the resolve URL) with its LFS hash, and the mapping
 * of HTTP failures onto typed errors. Plain Node, node's fetch (undici); works against http://127.0.0.1 in tests.
 *
 * [Note: Hub file resolution]
 * `HEAD {endpoint}/{repo}/resolve/{revision}/{file}` answers, for an LFS file, `302` to a CDN URL with
 * `X-Linked-Etag` = the LFS sha256, `X-Linked-Size` = the size and `X-Repo-Commit` = the commit the revision
 * points at. For a small (git) file it answers `200` with `ETag` = the git blob sha1 and `Content-Length`.
 * Same-origin redirects (a renamed repo) are followed; a cross-origin redirect is the CDN and ends resolution.
 * We read metadata from the first response that carries it, as huggingface_hub does, and send the token only
 * to the Hub's own origin: a cross-origin redirect never sees `Authorization`.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  AuthRequiredError,
  FileNotFoundError,
  GatedRepoError,
  NetworkError,
  RepoNotFoundError,
  RevisionNotFoundError,
} from './errors';

/** Where and as whom to talk to the Hub. */
export interface HubConfig {
  /** Without trailing slash: https://huggingface.co or $HF_ENDPOINT. */
  readonly endpoint: string;
  readonly token?: string | undefined;
}

/**
 * Reads HF_ENDPOINT and the token: HF_TOKEN, else the file at HF_TOKEN_PATH, else $HF_HOME/token (what
 * `huggingface-cli login` writes), as huggingface_hub does.
 */
export function hubConfigFromEnv(env: NodeJS.ProcessEnv = process.env): HubConfig {
  const endpoint = (env['HF_ENDPOINT'] ?? 'https://huggingface.co').replace(/\/+$/, '');
  let token = env['HF_TOKEN'] ?? env['HUGGING_FACE_HUB_TOKEN'];
  if (!token) {
    const tokenPath = env['HF_TOKEN_PATH'] ?? join(hfHome(env), 'token');
    try {
      token = readFileSync(tokenPath, 'utf8').trim() || undefined;
    } catch {
      token = undefined;
    }
  }
  return { endpoint, token };
}

/** $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  return env['HF_HOME'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'huggingface');
}

/** The hub cache folder ($HF_HUB_CACHE or $HF_HOME/hub). */
export function hfHubCache(env: NodeJS.ProcessEnv = process.env): string {
  return env['HF_HUB_CACHE'] ?? env['HUGGINGFACE_HUB_CACHE'] ?? join(hfHome(env), 'hub');
}

/** What one file resolves to. */
export interface ResolvedFile {
  readonly file: string;
  /** Commit the revision pointed at (X-Repo-Commit), or undefined when the server did not say. */
  readonly commit: string | undefined;
  /** Unquoted etag: LFS sha256 (64 hex) for LFS files, git blob sha1 (40 hex) for small files. */
  readonly etag: string | undefined;
  readonly sizeBytes: number;
  /** Where the bytes are (a CDN URL for LFS files). */
  readonly location: string;
}

/** The resolve URL of a file. */
export function resolveUrl(hub: HubConfig, repo: string, revision: string, file: string): string {
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${hub.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/** The model page on the Hub's site (for "accept the licence at …"). */
export function siteUrl(hub: HubConfig, repo: string): string {
  return `${hub.endpoint}/${repo}`;
}

/** Headers for a request to `url`: the token only for the Hub's own origin. */
export function authHeaders(hub: HubConfig, url: string): Record<string, string> {
  if (!hub.token) return {};
  return new URL(url).origin === new URL(hub.endpoint).origin ? { authorization: `Bearer ${hub.token}` } : {};
}

/**
 * The value of a strong ETag without quotes. A weak one (`W/"…"`) only says two bodies are "equivalent", not
 * byte-identical, so it is no hash and is dropped here (the downloader then refuses the file).
 */
function unquote(v: string | null): string | undefined {
  if (!v || v.startsWith('W/')) return undefined;
  return v.replace(/^"|"$/g, '');
}

/** Throws the typed error for a failed Hub response (404/401/403 and the X-Error-Code header). */
export function throwForStatus(res: Response, hub: HubConfig, repo: string, revision: string, file?: string): never {
  const code = res.headers.get('x-error-code') ?? '';
  const message = res.headers.get('x-error-message') ?? '';
  if (code === 'GatedRepo' || (res.status === 403 && /gated|restricted/i.test(message))) {
    throw new GatedRepoError(repo, siteUrl(hub, repo), true);
  }
  if (code === 'RepoNotFound') throw new RepoNotFoundError(repo, hub.token ? '' : ' (if it is private, set HF_TOKEN)');
  if (code === 'RevisionNotFound') throw new RevisionNotFoundError(repo, revision);
  if (code === 'EntryNotFound' && file !== undefined) throw new FileNotFoundError(repo, file);
  if (res.status === 401) {
    if (!hub.token) throw new AuthRequiredError(repo);
    throw new GatedRepoError(repo, siteUrl(hub, repo), false);
  }
  if (res.status === 403) throw new GatedRepoError(repo, siteUrl(hub, repo), false);
  if (res.status === 404) {
    if (file !== undefined) throw new FileNotFoundError(repo, file);
    throw new RepoNotFoundError(repo);
  }
  throw new NetworkError(`The Hub answered ${res.status} ${res.statusText} for ${file ?? repo}${message ? `: ${message}` : ''}.`);
}

async function fetchOrThrow(url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    if (init.signal?.aborted) throw e;
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new NetworkError(`Could not reach ${new URL(url).origin} for ${what}: ${cause?.code ?? cause?.message ?? (e as Error).message}.`, e);
  }
}

/**
 * Resolves one file: its commit, etag (LFS sha256 or git sha1), size and the URL of its bytes.
 * See [Note: Hub file resolution].
 */
export async function resolveFile(
  hub: HubConfig,
  repo: string,
  revision: string,
  file: string,
  signal?: AbortSignal,
): Promise<ResolvedFile> {
  let url = resolveUrl(hub, repo, revision, file);
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetchOrThrow(url, { method: 'HEAD', redirect: 'manual', headers: authHeaders(hub, url), ...(signal ? { signal } : {}) }, file);
    const linkedEtag = unquote(res.headers.get('x-linked-etag'));
    const commit = res.headers.get('x-repo-commit') ?? undefined;
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get('location');
      if (!location) throw new NetworkError(`The Hub redirected ${file} without a Location header.`);
      const next = new URL(location, url).toString();
      const isCrossOrigin = new URL(next).origin !== new URL(url).origin;
      if (linkedEtag !== undefined || isCrossOrigin) {
        const size = Number(res.headers.get('x-linked-size') ?? res.headers.get('content-length') ?? NaN);
        if (!Number.isFinite(size)) throw new NetworkError(`The Hub did not report the size of ${file} (no X-Linked-Size).`);
        return { file, commit, etag: linkedEtag ?? unquote(res.headers.get('etag')), sizeBytes: size, location: next };
      }
      url = next;
      continue;
    }
    if (!res.ok) throwForStatus(res, hub, repo, revision, file);
    const size = Number(res.headers.get('x-linked-size') ?? res.headers.get('content-length') ?? NaN);
    if (!Number.isFinite(size)) throw new NetworkError(`The Hub did not report the size of ${file} (no Content-Length).`);
    return { file, commit, etag: linkedEtag ?? unquote(res.headers.get('etag')), sizeBytes: size, location: url };
  }
  throw new NetworkError(`Too many redirects while resolving ${file} in ${repo}.`);
}

/** One file of a repo as the metadata API lists it. */
export interface RepoSibling {
  readonly rfilename: string;
  readonly size?: number;
  readonly lfs?: { readonly sha256: string; readonly size: number };
}

/** Repo metadata: the commit a revision points at and its files. */
export interface RepoInfo {
  readonly sha: string;
  readonly siblings: readonly RepoSibling[];
  readonly gated?: boolean | string;
}

/** `GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true`. */
export async function repoInfo(hub: HubConfig, repo: string, revision: string, signal?: AbortSignal): Promise<RepoInfo> {
  const url = `${hub.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const res = await fetchOrThrow(url, { headers: authHeaders(hub, url), ...(signal ? { signal } : {}) }, `${repo} metadata`);
  if (!res.ok) throwForStatus(res, hub, repo, revision);
  const body = (await res.json()) as Partial<RepoInfo>;
  if (typeof body.sha !== 'string' || !Array.isArray(body.siblings)) {
    throw new NetworkError(`The Hub's metadata for ${repo} has no sha/siblings; is ${hub.endpoint} a Hugging Face Hub?`);
  }
  return { sha: body.sha, siblings: body.siblings, ...(body.gated !== undefined ? { gated: body.gated } : {}) };
}
