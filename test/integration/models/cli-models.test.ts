/**
 * @file `musilingo models …` through the built CLI (out/cli, built by `npm test` before vitest) against the fake
 * Hub: download --convert, list --json, remove, doctor, and the errors a user sees.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubServer, type HubServer } from '../../support/hub-server';
import { musilingoRepoFiles, tokenizerRepoFiles } from '../../support/models/tiny-repo';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'musilingo.mjs');
const BUILT = existsSync(join(ROOT, 'out', 'cli', 'musilingo.mjs'));

let hub: HubServer;
let home: string;

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], {
      env: { ...process.env, MUSILINGO_HOME: home, HF_ENDPOINT: hub.endpoint, HF_HOME: join(home, 'hf'), HF_TOKEN: '', MUSILINGO_EP: 'cpu', ...env },
      timeout: 120_000,
    }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

// The CLI bundle is built by `npm test` (and `npm run build:cli`); without it there is nothing to run.
describe.skipIf(!BUILT)('musilingo models (CLI)', () => {
  beforeAll(async () => {
    hub = await startHubServer({
      'm-a-p/MusiLingo-long-v1': { files: await musilingoRepoFiles({ sharded: true }) },
      'lmsys/vicuna-7b-delta-v0': { files: tokenizerRepoFiles() },
      'm-a-p/MusiLingo-musicqa-v1': { files: new Map([['config.json', Buffer.from('{}')]]), token: 'x', isGated: true },
    });
    home = await mkdtemp(join(tmpdir(), 'ml-cli-'));
  });
  afterAll(async () => {
    await hub?.close();
    await rm(home, { recursive: true, force: true });
  });

  it('downloads and converts a model, lists it, and removes it', async () => {
    const dl = await cli(['models', 'download', 'musilingo-long', '--variant', 'float32', '--convert', '--json']);
    expect(dl.stderr).toBe('');
    expect(dl.code).toBe(0);
    expect(JSON.parse(dl.stdout)).toMatchObject({ id: 'musilingo-long@float32', state: 'ready' });

    const list = await cli(['models', 'list', '--json']);
    const listing = JSON.parse(list.stdout) as Array<{ modelId: string; packs: Array<{ state: string }>; licenses?: Array<{ isCommercialUseAllowed: boolean }> }>;
    const long = listing.find((l) => l.modelId === 'musilingo-long');
    expect(long?.packs.map((p) => p.state)).toEqual(['ready']);
    expect(long?.licenses?.some((l) => !l.isCommercialUseAllowed)).toBe(true);

    const text = await cli(['models', 'list']);
    expect(text.stdout).toContain('NON-COMMERCIAL');
    expect(text.stdout).toContain('musilingo-long@float32');

    const rm1 = await cli(['models', 'remove', 'musilingo-long@float32', '--download']);
    expect(rm1.code).toBe(0);
    expect(existsSync(join(home, 'models', 'packs', 'musilingo-long@float32'))).toBe(false);
    expect(existsSync(join(home, 'models', 'downloads', 'm-a-p--MusiLingo-long-v1'))).toBe(false);
  });

  it('resumes a download after the process was killed', async () => {
    const shard = join(home, 'models', 'downloads', 'm-a-p--MusiLingo-long-v1', 'model-00002-of-00003.safetensors');
    hub.faults.throttleBytesPerSec = 3_000_000;
    const child = spawn(process.execPath, [BIN, 'models', 'download', 'musilingo-long', '--variant', 'float32'], {
      env: { ...process.env, MUSILINGO_HOME: home, HF_ENDPOINT: hub.endpoint, HF_HOME: join(home, 'hf'), HF_TOKEN: '', MUSILINGO_EP: 'cpu' },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let kept = 0;
    for (let i = 0; i < 300 && kept < 1_000_000; i++) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        kept = (JSON.parse(await readFile(`${shard}.part.json`, 'utf8')) as { done: number[] }).done.reduce((a, b) => a + b, 0);
      } catch {
        kept = 0;
      }
    }
    child.kill('SIGKILL');
    await exited;
    delete hub.faults.throttleBytesPerSec;
    expect(kept).toBeGreaterThanOrEqual(1_000_000);
    expect(existsSync(shard)).toBe(false);

    hub.seen.length = 0;
    const again = await cli(['models', 'download', 'musilingo-long', '--variant', 'float32', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ state: 'downloaded' });
    expect(existsSync(shard)).toBe(true);
    // The killed shard continued from its recorded bytes instead of starting over.
    const blobGets = hub.seen.filter((s) => s.server === 'cdn');
    expect(blobGets.some((s) => Number(/^bytes=(\d+)-/.exec(s.range ?? '')?.[1] ?? 0) >= kept)).toBe(true);
  });

  it('tells the user what to do for gated repos and bad arguments', async () => {
    const gated = await cli(['models', 'download', 'musilingo-musicqa', '--variant', 'int4']);
    expect(gated.code).toBe(1);
    expect(gated.stderr).toContain('HF_TOKEN');
    const bad = await cli(['models', 'convert', 'musilingo-long', '--variant', 'int8']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Expected one of: int4, float16, float32');
  });

  it('prints the doctor report', async () => {
    const doc = await cli(['models', 'doctor', '--no-probe']);
    expect(doc.code).toBe(0);
    expect(doc.stdout).toContain('Execution providers (best first):');
    expect(doc.stdout).toContain('Would run on: CPU (override: cpu)');
  });
});
