/**
 * @file What the downloader refuses from a Hub: file names that would land outside the model folder (on any
 * platform, Windows rules checked with path.win32), and files without a hash it can check (no ETag, weak ETag),
 * so same-size substitute bytes are never accepted.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultFileFilter, downloadRepo } from '../../../main/models/download';
import { NoChecksumError } from '../../../main/models/errors';
import { isSafeRemoteName, safeJoin, UnsafeFileNameError } from '../../../main/models/remote-path';
import { startHubServer, type HubServer } from '../../support/hub-server';

const BIG = randomBytes(1_200_000);
const CONFIG = Buffer.from(JSON.stringify({ model_type: 'test' }));
const EVIL = 'a\\..\\..\\evil.json';

let hub: HubServer;
let dir: string;

beforeAll(async () => {
  hub = await startHubServer({
    'org/open': { files: new Map([['model.safetensors', BIG], ['config.json', CONFIG]]) },
    'org/evil': { files: new Map([['config.json', CONFIG], [EVIL, CONFIG]]) },
  });
});
afterAll(async () => {
  await hub.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ml-dls-'));
  hub.seen.length = 0;
  delete hub.faults.etag;
  delete hub.faults.flip;
});

function opts(repo: string, extra: Partial<Parameters<typeof downloadRepo>[0]> = {}): Parameters<typeof downloadRepo>[0] {
  return { repo, destDir: join(dir, 'models', 'dl'), hub: { endpoint: hub.endpoint }, env: { HF_HOME: join(dir, 'hf') }, partSizeBytes: 1 << 20, ...extra };
}

describe('remote file names', () => {
  it('accepts relative POSIX paths of plain segments only', () => {
    for (const ok of ['config.json', 'model-00001-of-00002.safetensors', 'sub/dir/tokenizer.model']) expect(isSafeRemoteName(ok)).toBe(true);
    for (const bad of [EVIL, '../x.json', 'a/../../x.json', '/etc/x.json', 'C:/x.json', 'c:x.json', 'a//b.json', 'a/./b.json', '', 'a\u0000.json', 'con.json.', 'a/.hidden/b.json']) {
      expect(isSafeRemoteName(bad), bad).toBe(false);
    }
  });

  it('keeps every joined path inside the destination under Windows rules too', () => {
    // What a plain join does on Windows with the name a listing may carry: it leaves the folder.
    expect(path.win32.join('C:\\Users\\me\\models\\dl', EVIL)).toBe('C:\\Users\\me\\models\\evil.json');
    expect(() => safeJoin('org/evil', 'C:\\Users\\me\\models\\dl', EVIL, path.win32)).toThrow(UnsafeFileNameError);
    expect(() => safeJoin('org/evil', '/srv/models/dl', EVIL, path.posix)).toThrow(/evil\.json.*org\/evil/);
    expect(safeJoin('org/x', 'C:\\m\\dl', 'sub/config.json', path.win32)).toBe('C:\\m\\dl\\sub\\config.json');
    expect(safeJoin('org/x', '/m/dl', 'sub/config.json', path.posix)).toBe('/m/dl/sub/config.json');
  });

  it('stops a download whose listing holds an unsafe name before asking for or writing any file', async () => {
    expect(defaultFileFilter(EVIL)).toBe(true); // a .json name: the selection takes it, the path check must stop it
    const err = await downloadRepo(opts('org/evil')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeFileNameError);
    expect((err as UnsafeFileNameError).code).toBe('unsafe-file-name');
    expect(hub.seen.filter((s) => s.method === 'HEAD')).toHaveLength(0);
    expect(existsSync(join(dir, 'models')) ? await readdir(join(dir, 'models'), { recursive: true }) : []).toEqual([]);
  });

  it('refuses an unsafe name given explicitly too', async () => {
    await expect(downloadRepo(opts('org/open', { files: ['../config.json'] }))).rejects.toBeInstanceOf(UnsafeFileNameError);
  });
});

describe('checkable hashes', () => {
  for (const mode of ['none', 'weak'] as const) {
    for (const file of ['config.json', 'model.safetensors']) {
      it(`refuses ${file} when the Hub sends ${mode === 'none' ? 'no ETag' : 'a weak ETag'}`, async () => {
        hub.faults.etag = { file, mode };
        // Same-size bytes that are not the real ones: nothing may be accepted without a hash to check them by.
        hub.faults.flip = { file, at: 3, times: 5 };
        const err = await downloadRepo(opts('org/open', { files: [file] })).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NoChecksumError);
        expect((err as Error).message).toContain(file);
        expect(existsSync(join(dir, 'models', 'dl', file))).toBe(false);
        expect(hub.cdnGets(file)).toBe(0);
      });
    }
  }

  it('still downloads files with an LFS sha256 or a git sha1', async () => {
    const res = await downloadRepo(opts('org/open'));
    expect(res.files.map((f) => f.file).sort()).toEqual(['config.json', 'model.safetensors']);
  });
});

describe('pinned snapshots', () => {
  it('keeps a folder on the commit its first download resolved, until asked to update', async () => {
    const { rm, readFile } = await import('node:fs/promises');
    const v1 = new Map([['config.json', Buffer.from('{"v":1}')], ['model.safetensors', randomBytes(200_000)]]);
    const v2 = new Map([['config.json', Buffer.from('{"v":2,"x":0}')], ['model.safetensors', randomBytes(200_000)]]);
    const c1 = '1'.repeat(40);
    const c2 = '2'.repeat(40);
    hub.repos.set('org/moving', { files: v1, commit: c1 });
    const first = await downloadRepo(opts('org/moving'));
    expect(first.commit).toBe(c1);
    expect(JSON.parse(await readFile(join(dir, 'models', 'dl', 'download.json'), 'utf8'))).toMatchObject({ repo: 'org/moving', revision: 'main', commit: c1 });

    // main moves on; a file of the folder is lost and fetched again: it must come from the pinned commit.
    hub.repos.set('org/moving', { files: v2, commit: c2, history: new Map([[c1, v1]]) });
    await rm(join(dir, 'models', 'dl', 'model.safetensors'));
    const again = await downloadRepo(opts('org/moving'));
    expect(again.commit).toBe(c1);
    expect(await readFile(join(dir, 'models', 'dl', 'model.safetensors'))).toEqual(v1.get('model.safetensors'));
    expect(await readFile(join(dir, 'models', 'dl', 'config.json'))).toEqual(v1.get('config.json'));
    expect(hub.seen.some((s) => s.path.includes(`/revision/${c1}`))).toBe(true);

    const updated = await downloadRepo(opts('org/moving', { update: true }));
    expect(updated.commit).toBe(c2);
    expect(await readFile(join(dir, 'models', 'dl', 'model.safetensors'))).toEqual(v2.get('model.safetensors'));
    expect(await readFile(join(dir, 'models', 'dl', 'config.json'))).toEqual(v2.get('config.json'));
  });
});
