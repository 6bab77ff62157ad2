/**
 * @file The downloader against a local fake Hub (test/support/hub-server.ts): full download, resume after a
 * dropped connection and after a cancel, checksum rejection and re-fetch, typed errors (404, 401, gated, disk
 * full), the huggingface_hub cache, and expired CDN links.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadRepo, NODE_IO, type DownloadProgress } from '../../../main/models/download';
import {
  AuthRequiredError,
  CancelledError,
  ChecksumError,
  DiskFullError,
  FileNotFoundError,
  GatedRepoError,
  RepoNotFoundError,
} from '../../../main/models/errors';
import { sha256Hex, startHubServer, type HubServer } from '../../support/hub-server';

const BIG = randomBytes(5 * 1024 * 1024 + 123);
const CONFIG = Buffer.from(JSON.stringify({ model_type: 'test', hidden_size: 8 }));
const TOK = randomBytes(20_000);

let hub: HubServer;
let dir: string;

beforeAll(async () => {
  hub = await startHubServer({
    'org/open': { files: new Map([['model.safetensors', BIG], ['config.json', CONFIG], ['tokenizer.model', TOK]]) },
    'org/private': { files: new Map([['model.safetensors', BIG], ['config.json', CONFIG]]), token: 'secret' },
    'org/gated': { files: new Map([['config.json', CONFIG]]), token: 'secret', isGated: true },
  });
});
afterAll(async () => {
  await hub.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ml-dl-'));
  hub.seen.length = 0;
  delete hub.faults.drop;
  delete hub.faults.flip;
  delete hub.faults.expireCdn;
});

function opts(repo: string, extra: Partial<Parameters<typeof downloadRepo>[0]> = {}): Parameters<typeof downloadRepo>[0] {
  return {
    repo,
    destDir: join(dir, 'dl'),
    hub: { endpoint: hub.endpoint },
    env: { HF_HOME: join(dir, 'hf') },
    partSizeBytes: 1 << 20,
    connections: 3,
    idleTimeoutMs: 5000,
    progressIntervalMs: 0,
    ...extra,
  };
}

describe('downloadRepo', () => {
  it('downloads every file in ranged parts, verifies them, and skips them the next time', async () => {
    const events: DownloadProgress[] = [];
    const res = await downloadRepo(opts('org/private', { hub: { endpoint: hub.endpoint, token: 'secret' }, onProgress: (p) => events.push(p) }));
    expect(res.files.map((f) => f.file).sort()).toEqual(['config.json', 'model.safetensors']);
    expect(sha256Hex(await readFile(join(dir, 'dl', 'model.safetensors')))).toBe(sha256Hex(BIG));
    expect(sha256Hex(await readFile(join(dir, 'dl', 'config.json')))).toBe(sha256Hex(CONFIG));
    expect(res.files.find((f) => f.file === 'model.safetensors')?.sha256).toBe(sha256Hex(BIG));
    expect(res.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(existsSync(join(dir, 'dl', 'model.safetensors.part'))).toBe(false);
    // Ranged parts, several of them, on the CDN origin, and the token never left the Hub's origin.
    const cdn = hub.seen.filter((s) => s.server === 'cdn');
    expect(cdn.length).toBeGreaterThanOrEqual(6);
    expect(cdn.every((s) => s.range?.startsWith('bytes='))).toBe(true);
    expect(cdn.every((s) => s.authorization === undefined)).toBe(true);
    expect(hub.seen.filter((s) => s.server === 'hub').every((s) => s.authorization === 'Bearer secret')).toBe(true);
    // Progress is monotonic and ends complete.
    const done = events.filter((e) => e.phase === 'downloading').map((e) => e.bytesDone);
    expect(done.every((v, i) => i === 0 || v >= (done[i - 1] ?? 0))).toBe(true);
    expect(events.at(-1)).toMatchObject({ phase: 'done', bytesDone: BIG.length + CONFIG.length, bytesTotal: BIG.length + CONFIG.length });

    hub.seen.length = 0;
    const again = await downloadRepo(opts('org/private', { hub: { endpoint: hub.endpoint, token: 'secret' } }));
    expect(again.files.every((f) => f.source === 'existing')).toBe(true);
    expect(hub.seen.filter((s) => s.server === 'cdn')).toHaveLength(0);
  });

  it('resumes a part after the server drops the connection mid-file', async () => {
    hub.faults.drop = { file: 'model.safetensors', afterBytes: 300_000, times: 2 };
    const res = await downloadRepo(opts('org/open', { files: ['model.safetensors'] }));
    expect(hub.faults.drop.times).toBe(0);
    expect(sha256Hex(await readFile(res.files[0]?.path ?? ''))).toBe(sha256Hex(BIG));
    // The retry asked only for the rest of the dropped part.
    const resumed = hub.seen.filter((s) => s.server === 'cdn' && /^bytes=\d+-/.test(s.range ?? '') && Number(/=(\d+)/.exec(s.range ?? '')?.[1]) % (1 << 20) !== 0);
    expect(resumed.length).toBeGreaterThanOrEqual(1);
  });

  it('keeps partial state on cancel and resumes it in a later run', async () => {
    const ac = new AbortController();
    const run = downloadRepo(opts('org/open', {
      files: ['model.safetensors'],
      connections: 1,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.bytesDone > BIG.length * 0.4) ac.abort();
      },
    }));
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(existsSync(join(dir, 'dl', 'model.safetensors.part'))).toBe(true);
    const sidecar = JSON.parse(await readFile(join(dir, 'dl', 'model.safetensors.part.json'), 'utf8')) as { done: number[] };
    const kept = sidecar.done.reduce((a, b) => a + b, 0);
    expect(kept).toBeGreaterThan(BIG.length * 0.3);

    hub.seen.length = 0;
    const events: DownloadProgress[] = [];
    const res = await downloadRepo(opts('org/open', { files: ['model.safetensors'], onProgress: (p) => events.push(p) }));
    expect(sha256Hex(await readFile(res.files[0]?.path ?? ''))).toBe(sha256Hex(BIG));
    // The second run started from what was kept and never asked again for byte 0.
    expect(events.find((e) => e.phase === 'downloading')?.bytesDone ?? 0).toBeGreaterThanOrEqual(kept);
    expect(hub.seen.filter((s) => s.server === 'cdn').some((s) => s.range?.startsWith('bytes=0-'))).toBe(false);
  });

  it('rejects flipped bytes by checksum and fetches the file again', async () => {
    hub.faults.flip = { file: 'model.safetensors', at: 1_500_000, times: 1 };
    const res = await downloadRepo(opts('org/open', { files: ['model.safetensors'] }));
    expect(hub.faults.flip.times).toBe(0);
    expect(sha256Hex(await readFile(res.files[0]?.path ?? ''))).toBe(sha256Hex(BIG));
    expect(hub.cdnGets('model.safetensors')).toBeGreaterThan(0);
  });

  it('fails naming the file when the bytes are wrong twice, and leaves no bad file behind', async () => {
    hub.faults.flip = { file: 'model.safetensors', at: 10, times: 2 };
    const err = await downloadRepo(opts('org/open', { files: ['model.safetensors'] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumError);
    expect((err as Error).message).toContain('model.safetensors');
    expect(existsSync(join(dir, 'dl', 'model.safetensors'))).toBe(false);
    expect(existsSync(join(dir, 'dl', 'model.safetensors.part'))).toBe(false);
  });

  it('maps 404s, 401 without a token and gated repos onto typed errors', async () => {
    await expect(downloadRepo(opts('org/missing'))).rejects.toBeInstanceOf(RepoNotFoundError);
    const nf = await downloadRepo(opts('org/open', { files: ['nope.safetensors'] })).catch((e: unknown) => e);
    expect(nf).toBeInstanceOf(FileNotFoundError);
    expect((nf as Error).message).toContain('nope.safetensors');
    const auth = await downloadRepo(opts('org/private')).catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(AuthRequiredError);
    expect((auth as Error).message).toContain('HF_TOKEN');
    const gated = await downloadRepo(opts('org/gated', { hub: { endpoint: hub.endpoint, token: 'wrong' }, files: ['config.json'] })).catch((e: unknown) => e);
    expect(gated).toBeInstanceOf(GatedRepoError);
    expect((gated as GatedRepoError).code).toBe('gated');
    expect((gated as Error).message).toContain(`${hub.endpoint}/org/gated`);
  });

  it('reads HF_ENDPOINT and HF_TOKEN from the environment', async () => {
    const res = await downloadRepo({ ...opts('org/private', { files: ['config.json'] }), hub: undefined as never, env: { HF_ENDPOINT: hub.endpoint, HF_TOKEN: 'secret', HF_HOME: join(dir, 'hf') } });
    expect(sha256Hex(await readFile(res.files[0]?.path ?? ''))).toBe(sha256Hex(CONFIG));
  });

  it('refuses to start without enough free space, and turns ENOSPC while writing into the same error', async () => {
    const tiny = { ...NODE_IO, freeBytes: () => Promise.resolve(1000) };
    const pre = await downloadRepo(opts('org/open', { io: tiny })).catch((e: unknown) => e);
    expect(pre).toBeInstanceOf(DiskFullError);
    expect((pre as Error).message).toMatch(/^Not enough disk space at .*dl: need 5\.3 MB, have 1\.0 kB\.$/);
    expect(hub.seen.filter((s) => s.server === 'cdn')).toHaveLength(0);

    let written = 0;
    const failing = {
      ...NODE_IO,
      writeAt: async (h: Parameters<typeof NODE_IO.writeAt>[0], b: Uint8Array, at: number) => {
        if (written > 2_000_000) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        written += b.length;
        await NODE_IO.writeAt(h, b, at);
      },
    };
    const mid = await downloadRepo(opts('org/open', { io: failing, files: ['model.safetensors'] })).catch((e: unknown) => e);
    expect(mid).toBeInstanceOf(DiskFullError);
    expect((mid as Error).message).toContain(join(dir, 'dl'));
  });

  // A real full disk, where the test may mount a tmpfs (root in a container that allows it).
  it('reports a real full disk (1 MB tmpfs) before downloading', async () => {
    const mnt = join(dir, 'tmpfs');
    await mkdir(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      return; // no permission to mount here: the injected cases above cover the logic
    }
    try {
      const err = await downloadRepo({ ...opts('org/open', { files: ['model.safetensors'] }), destDir: join(mnt, 'dl') }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DiskFullError);
      expect((err as Error).message).toContain(`${join(mnt, 'dl')}: need 5.2 MB`);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('uses a verified file from the huggingface_hub cache instead of downloading it', async () => {
    const commit = (await downloadRepo(opts('org/open', { files: ['config.json'], destDir: join(dir, 'probe') }))).commit;
    const repoDir = join(dir, 'hf', 'hub', 'models--org--open');
    const sha = sha256Hex(BIG);
    await mkdir(join(repoDir, 'blobs'), { recursive: true });
    await mkdir(join(repoDir, 'snapshots', commit), { recursive: true });
    await writeFile(join(repoDir, 'blobs', sha), BIG);
    await symlink(join('..', '..', 'blobs', sha), join(repoDir, 'snapshots', commit, 'model.safetensors'));
    hub.seen.length = 0;
    const res = await downloadRepo(opts('org/open', { files: ['model.safetensors'] }));
    expect(res.files[0]).toMatchObject({ source: 'hf-cache', path: join(repoDir, 'blobs', sha), sha256: sha });
    expect(hub.seen.filter((s) => s.server === 'cdn')).toHaveLength(0);
  });

  it('resolves again when a signed CDN link has expired', async () => {
    hub.faults.expireCdn = { times: 1 };
    const res = await downloadRepo(opts('org/open', { files: ['tokenizer.model'], connections: 1 }));
    expect(sha256Hex(await readFile(res.files[0]?.path ?? ''))).toBe(sha256Hex(TOK));
    const heads = hub.seen.filter((s) => s.server === 'hub' && s.method === 'HEAD');
    expect(heads.length).toBe(2);
  });

  it('downloads the default selection (weights, configs, tokenizer) from the repo listing', async () => {
    const res = await downloadRepo(opts('org/open'));
    expect(res.files.map((f) => f.file).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.model']);
    await rm(join(dir, 'dl'), { recursive: true });
  });
});
