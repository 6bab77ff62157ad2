/**
 * @file A local HTTP server that behaves like the Hugging Face Hub for tests (plain Node): the metadata API
 * (`/api/models/{repo}/revision/{rev}` with siblings), resolve URLs (HEAD/GET) with ETag, X-Linked-Etag (LFS
 * sha256), X-Linked-Size and X-Repo-Commit, 302 redirects of LFS files to a "CDN" on a second port (a
 * different origin, so a client must drop Authorization there), range requests (206 + Content-Range), token
 * checks (401 without, 403 for a wrong one, X-Error-Code GatedRepo for gated repos), 404 with X-Error-Code,
 * and injectable faults: connections dropped mid-file, flipped bytes, expired CDN links.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One repository the fake Hub serves. */
export interface FakeRepo {
  /** File name → contents. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** The commit `main` points at; default: sha1 of the file list. */
  readonly commit?: string;
  /** When set, requests need `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** With `token`: answer like a gated repo (X-Error-Code GatedRepo). */
  readonly isGated?: boolean;
  /** Older commits still served by their commit id: commit → files (a repo whose `main` moved on). */
  readonly history?: ReadonlyMap<string, ReadonlyMap<string, Uint8Array>>;
}

/** Faults to inject, consumed as they fire. */
export interface HubFaults {
  /** For the next N CDN GETs of `file`, close the socket after `afterBytes` bytes of the body. */
  drop?: { file: string; afterBytes: number; times: number };
  /** For the next N CDN GETs of `file` that cover byte `at`, send that byte flipped. */
  flip?: { file: string; at: number; times: number };
  /** For the next N CDN GETs, answer 403 (an expired signed URL). */
  expireCdn?: { times: number };
  /** Resolve `file` with no ETag at all, or with a weak `W/"…"` one (a server that offers no checkable hash). */
  etag?: { file: string; mode: 'none' | 'weak' };
  /** Send CDN bodies at about this rate (bytes per second), so a client can be killed mid-file. */
  throttleBytesPerSec?: number;
}

/** A request the server saw (for assertions about headers and ranges). */
export interface SeenRequest {
  readonly server: 'hub' | 'cdn';
  readonly method: string;
  readonly path: string;
  readonly range: string | undefined;
  readonly authorization: string | undefined;
}

/** A running fake Hub. */
export interface HubServer {
  /** Use as HF_ENDPOINT. */
  readonly endpoint: string;
  readonly cdnOrigin: string;
  readonly repos: Map<string, FakeRepo>;
  readonly faults: HubFaults;
  readonly seen: SeenRequest[];
  /** Files served at least once by the CDN with status 200/206, counted per request. */
  cdnGets(file: string): number;
  close(): Promise<void>;
}

/** The git blob sha1 the Hub reports as ETag for non-LFS files. */
export function gitBlobSha1(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** sha256 hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function isLfs(name: string, bytes: Uint8Array): boolean {
  return name.endsWith('.safetensors') || name.endsWith('.model') || bytes.length > 10_000;
}

function commitOf(repo: FakeRepo): string {
  if (repo.commit) return repo.commit;
  return createHash('sha1').update([...repo.files.keys()].sort().join('\n')).digest('hex');
}

/** The files at `rev` (main, the current commit, or a commit in the repo's history). */
function snapshotAt(repo: FakeRepo, rev: string): { commit: string; files: ReadonlyMap<string, Uint8Array> } | undefined {
  if (rev === 'main' || rev === commitOf(repo)) return { commit: commitOf(repo), files: repo.files };
  const old = repo.history?.get(rev);
  return old ? { commit: rev, files: old } : undefined;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function parseRange(header: string | undefined, size: number): [number, number] | undefined {
  const m = /^bytes=(\d+)-(\d*)$/.exec(header ?? '');
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  return [start, end];
}

/** Starts a fake Hub on two ephemeral ports of 127.0.0.1 (hub and CDN). */
export async function startHubServer(repos: Record<string, FakeRepo> = {}): Promise<HubServer> {
  const repoMap = new Map(Object.entries(repos));
  const faults: HubFaults = {};
  const seen: SeenRequest[] = [];
  const cdnCount = new Map<string, number>();
  /** sha256 → [repo, file] for the CDN. */
  const blobs = new Map<string, { bytes: Uint8Array; file: string }>();
  let endpoint = '';
  let cdnOrigin = '';

  function record(server: 'hub' | 'cdn', req: IncomingMessage): void {
    seen.push({
      server,
      method: req.method ?? 'GET',
      path: req.url ?? '',
      range: req.headers.range,
      authorization: req.headers.authorization,
    });
  }

  function fail(res: ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { 'x-error-code': code, 'x-error-message': message, 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: message }));
  }

  /** Returns false (and answers) when the token check fails. */
  function authorize(req: IncomingMessage, res: ServerResponse, name: string, repo: FakeRepo): boolean {
    if (!repo.token) return true;
    const auth = req.headers.authorization;
    if (auth === `Bearer ${repo.token}`) return true;
    if (repo.isGated) {
      fail(res, auth ? 403 : 401, 'GatedRepo', `Access to model ${name} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
    } else if (!auth) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'Invalid username or password.' }));
    } else {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'Forbidden' }));
    }
    return false;
  }

  function sendBytes(req: IncomingMessage, res: ServerResponse, bytes: Uint8Array, headers: Record<string, string>, file: string, isCdn: boolean): void {
    const range = parseRange(req.headers.range, bytes.length);
    const [start, last] = range ?? [0, bytes.length - 1];
    if (range && (start >= bytes.length || start > last)) {
      res.writeHead(416, { 'content-range': `bytes */${bytes.length}` });
      res.end();
      return;
    }
    const status = range ? 206 : 200;
    const h: Record<string, string> = { ...headers, 'accept-ranges': 'bytes', 'content-length': String(last - start + 1) };
    if (range) h['content-range'] = `bytes ${start}-${last}/${bytes.length}`;
    res.writeHead(status, h);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    let body = Buffer.from(bytes.subarray(start, last + 1));
    if (isCdn) {
      cdnCount.set(file, (cdnCount.get(file) ?? 0) + 1);
      const flip = faults.flip;
      if (flip && flip.file === file && flip.times > 0 && flip.at >= start && flip.at <= last) {
        flip.times--;
        body = Buffer.from(body);
        body[flip.at - start] = (body[flip.at - start] ?? 0) ^ 0xff;
      }
      const drop = faults.drop;
      if (drop && drop.file === file && drop.times > 0) {
        drop.times--;
        const n = Math.min(drop.afterBytes, body.length - 1);
        res.write(body.subarray(0, n), () => {
          // Give the bytes a moment to leave, then cut the connection as a flaky network would.
          setTimeout(() => res.socket?.destroy(), 20);
        });
        return;
      }
    }
    // Large bodies go out in slices so that a client sees several chunks.
    const end = body.length;
    let off = 0;
    const rate = isCdn ? faults.throttleBytesPerSec : undefined;
    const sliceBytes = rate ? 64 << 10 : 256 << 10;
    const pump = (): void => {
      while (off < end) {
        if (res.destroyed) return;
        const slice = body.subarray(off, Math.min(end, off + sliceBytes));
        off += slice.length;
        const ok = res.write(slice);
        if (rate) {
          setTimeout(pump, (slice.length / rate) * 1000);
          return;
        }
        if (!ok) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  }

  const hub = createServer((req, res) => {
    record('hub', req);
    const url = new URL(req.url ?? '/', 'http://x');
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    if (api) {
      const name = decodeURIComponent(api[1] ?? '');
      const repo = repoMap.get(name);
      if (!repo) return fail(res, 404, 'RepoNotFound', `Repository not found: ${name}`);
      if (!authorize(req, res, name, repo)) return;
      const rev = decodeURIComponent(api[2] ?? '');
      const at = snapshotAt(repo, rev);
      if (!at) return fail(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
      const siblings = [...at.files.entries()].map(([f, b]) => ({
        rfilename: f,
        size: b.length,
        ...(isLfs(f, b) ? { lfs: { sha256: sha256Hex(b), size: b.length } } : {}),
      }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: name, sha: at.commit, siblings, gated: repo.isGated ? 'auto' : false }));
      return;
    }
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!m) return fail(res, 404, 'NotFound', 'Not found');
    const name = decodeURIComponent(m[1] ?? '');
    const repo = repoMap.get(name);
    if (!repo) return fail(res, 404, 'RepoNotFound', `Repository not found: ${name}`);
    if (!authorize(req, res, name, repo)) return;
    const rev = decodeURIComponent(m[2] ?? '');
    const at = snapshotAt(repo, rev);
    if (!at) return fail(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
    const file = (m[3] ?? '').split('/').map(decodeURIComponent).join('/');
    const bytes = at.files.get(file);
    if (!bytes) return fail(res, 404, 'EntryNotFound', `Entry not found: ${file}`);
    const commit = at.commit;
    const etagFault = faults.etag?.file === file ? faults.etag.mode : undefined;
    /** The etag headers as a real Hub sends them, or as the fault wants them. */
    const etags = (name: string, value: string): Record<string, string> =>
      etagFault === 'none' ? {} : { [name]: etagFault === 'weak' ? `W/"${value}"` : `"${value}"` };
    if (isLfs(file, bytes)) {
      const sha = sha256Hex(bytes);
      blobs.set(sha, { bytes, file });
      res.writeHead(302, {
        location: `${cdnOrigin}/blobs/${sha}?expires=${Date.now() + 3_600_000}&sig=test`,
        ...etags('x-linked-etag', sha),
        'x-linked-size': String(bytes.length),
        'x-repo-commit': commit,
        ...etags('etag', sha),
        'content-length': '0',
      });
      res.end();
      return;
    }
    sendBytes(req, res, bytes, { ...etags('etag', gitBlobSha1(bytes)), 'x-repo-commit': commit }, file, false);
  });

  const cdn = createServer((req, res) => {
    record('cdn', req);
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/blobs\/([0-9a-f]{64})$/.exec(url.pathname);
    const blob = m ? blobs.get(m[1] ?? '') : undefined;
    if (!blob) {
      res.writeHead(404);
      res.end();
      return;
    }
    if (faults.expireCdn && faults.expireCdn.times > 0) {
      faults.expireCdn.times--;
      res.writeHead(403);
      res.end('Request has expired');
      return;
    }
    sendBytes(req, res, blob.bytes, { etag: `"${m?.[1] ?? ''}"` }, blob.file, true);
  });

  endpoint = await listen(hub);
  cdnOrigin = await listen(cdn);
  return {
    endpoint,
    cdnOrigin,
    repos: repoMap,
    faults,
    seen,
    cdnGets: (file) => cdnCount.get(file) ?? 0,
    close: () =>
      Promise.all(
        [hub, cdn].map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections();
              s.close(() => resolve());
            }),
        ),
      ).then(() => undefined),
  };
}
