/**
 * @file Adding library folders as a user does: `folders:add` through the real IPC dispatch of the app's services
 * (the dialog injected), and `musilingo folders add` as a process. The disk root, relative paths from the app and
 * the data folder are refused; `~` is the home folder; typed paths from the app need the user's yes.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Result } from '../../../preload/contract';
import { createAppServices, type AppServices } from '../../../main/app/services';
import { dispatchInvoke } from '../../../main/ipc/dispatch';
import { createHandlers } from '../../../main/ipc/handlers';
import { tempDir } from '../../helpers/library-audio';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'musilingo.mjs');

let tmp: ReturnType<typeof tempDir> | undefined;
let services: AppServices | undefined;
afterEach(async () => {
  await services?.close();
  services = undefined;
  tmp?.cleanup();
  tmp = undefined;
});

async function app(answer: boolean, picked: string | null = null) {
  tmp = tempDir('ml-folders-');
  const dataDir = join(tmp.dir, 'data');
  const asked: string[] = [];
  services = await createAppServices({
    dataDir,
    version: 't',
    hasNativeDialogs: true,
    pickFolder: () => Promise.resolve(picked),
    confirmFolder: (p) => (asked.push(p), Promise.resolve(answer)),
    launchers: {},
    runCli: null,
    watchLibrary: false,
    log: () => {},
  });
  const handlers = createHandlers(services);
  const call = (channel: string, ...args: unknown[]) => dispatchInvoke(handlers, channel, args, () => {}) as Promise<Result<unknown>>;
  return { dataDir, asked, call, dir: tmp.dir };
}

describe('folders:add', () => {
  it('refuses the disk root and leaves the other folders alone', async () => {
    const { call, dir, asked } = await app(true);
    const music = join(dir, 'music');
    mkdirSync(music);
    expect((await call('folders:add', music)).ok).toBe(true);
    const root = await call('folders:add', '/');
    expect(root).toMatchObject({ ok: false, error: { code: 'invalid-argument', message: expect.stringMatching(/top of the disk/) } });
    const list = (await call('folders:list')) as Result<{ path: string }[]>;
    expect(list.ok && list.value.map((f) => f.path)).toEqual([music]);
    expect(asked).toEqual([music]);
  });

  it('refuses relative paths and the data folder', async () => {
    const { call, dataDir } = await app(true);
    mkdirSync(join(dataDir, 'models'), { recursive: true });
    expect(await call('folders:add', 'music')).toMatchObject({ ok: false, error: { code: 'invalid-argument', message: expect.stringMatching(/not a full path/) } });
    expect(await call('folders:add', join(dataDir, 'models'))).toMatchObject({ ok: false, error: { message: expect.stringMatching(/own data folder/) } });
  });

  it('adds a typed path only when the user says yes in main\'s dialog', async () => {
    const { call, dir, asked } = await app(false);
    mkdirSync(join(dir, 'music'));
    expect(await call('folders:add', join(dir, 'music'))).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    expect(asked).toEqual([join(dir, 'music')]);
    const list = (await call('folders:list')) as Result<unknown[]>;
    expect(list.ok && list.value).toEqual([]);
  });

  it('adds a folder from the picker without asking', async () => {
    tmp = tempDir('ml-folders-');
    const picked = join(tmp.dir, 'picked');
    mkdirSync(picked);
    const dirToClean = tmp;
    tmp = undefined;
    try {
      const { call, asked } = await app(false, picked);
      expect(await call('folders:pick')).toEqual({ ok: true, value: picked });
      expect(await call('folders:add', picked)).toMatchObject({ ok: true, value: { path: picked } });
      expect(asked).toEqual([]);
    } finally {
      dirToClean.cleanup();
    }
  });
});

function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('musilingo folders add', () => {
  it('expands ~, and refuses the root and the data folder', async () => {
    tmp = tempDir('ml-folders-cli-');
    const home = join(tmp.dir, 'home');
    const data = join(tmp.dir, 'data');
    mkdirSync(join(home, 'Music'), { recursive: true });
    mkdirSync(join(data, 'models'), { recursive: true });
    const env = { HOME: home, MUSILINGO_HOME: data };
    const tilde = await cli(['folders', 'add', '~/Music'], tmp.dir, env);
    expect(tilde.code, tilde.stderr).toBe(0);
    expect(tilde.stdout).toContain(`Added ${join(home, 'Music')} (id `);
    const root = await cli(['folders', 'add', '/'], tmp.dir, env);
    expect(root.code).toBe(2);
    expect(root.stderr).toMatch(/"\/" is the top of the disk/);
    const inData = await cli(['folders', 'add', join(data, 'models')], tmp.dir, env);
    expect(inData.code).toBe(2);
    expect(inData.stderr).toContain('own data folder');
    const scanRoot = await cli(['scan', '/'], tmp.dir, env);
    expect(scanRoot.code).toBe(1);
    expect(scanRoot.stderr).toMatch(/top of the disk/);
    const list = await cli(['folders', 'list', '--json'], tmp.dir, env);
    expect((JSON.parse(list.stdout) as { path: string }[]).map((f) => f.path)).toEqual([join(home, 'Music')]);
  });
});
