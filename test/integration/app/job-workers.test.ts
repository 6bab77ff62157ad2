/**
 * @file The app's job workers as utility processes, without the Electron binary: Electron's utilityProcess is
 * replaced by a fake that forks Node child processes (test/support/workers/fake-utility.ts), so the path
 * createAppServices → facade → supervisor → utility launcher → worker entry (the bundled out/cli/*.thread.mjs,
 * the same files the CLI runs as threads) is the app's own. A trainer process and a converter process are killed
 * mid-run: the supervisor reports it, the run resumes from its checkpoint in its one row with no lock left, and a
 * crashed conversion is reported failed and, started again, resumes to a ready pack. The converter as a worker
 * thread (the launcher outside Electron) gets the same fault.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppServices, type AppServices } from '../../../main/app/services';
import { listModelPacks } from '../../../main/db/models';
import { openDatabase } from '../../../main/db/open';
import { getRun, listRuns } from '../../../main/db/training';
import { writeLlamaTokenizer } from '../../../main/models/demo';
import { importModel } from '../../../main/models/manager';
import { modelsDir } from '../../../main/paths';
import { createEventHub } from '../../../main/app/events';
import { createModelsFacade } from '../../../main/app/models-adapter';
import { createSettingsStore } from '../../../main/app/settings';
import { threadLauncher, type JobLauncher } from '../../../main/workers/job-worker';
import { utilityJobLauncher } from '../../../main/workers/utility-launcher';
import { mulberry32 } from '../../../model/random';
import { writeSafetensors } from '../../../model/safetensors';
import { FIXTURES } from '../../support/models/tiny-repo';
import { fakeElectronUtility } from '../../support/workers/fake-utility';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const TRAIN_ENTRY = join(ROOT, 'out', 'cli', 'train.thread.mjs');
const CONVERT_ENTRY = join(ROOT, 'out', 'cli', 'convert.thread.mjs');
const IN_DIM = 8;

let tmp: string;
let services: AppServices;
const seen: { channel: string; payload: unknown }[] = [];
const electron = fakeElectronUtility();
const logs: string[] = [];
/** The first process of each kind is told to die mid-run (between two ONNX Runtime calls). */
const crashFirst = { trainer: true, converter: true };

function faulty(name: 'trainer' | 'converter', entry: string, crash: object): JobLauncher {
  const base = utilityJobLauncher(electron, name, entry, (_level, line) => logs.push(line));
  return (data) => {
    const worker = base(data);
    if (crashFirst[name]) {
      crashFirst[name] = false;
      worker.port.postMessage({ type: 'crash-at', ...crash });
    }
    return worker;
  };
}

const statuses = (name: string): { state: string; lastError: string | null }[] =>
  seen.filter((e) => e.channel === 'workers:changed' && (e.payload as { name: string }).name === name).map((e) => e.payload as { state: string; lastError: string | null });

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'ml-job-workers-'));
  services = await createAppServices({
    dataDir: join(tmp, 'data'),
    version: 't',
    hasNativeDialogs: false,
    pickFolder: () => Promise.resolve(null),
    launchers: {
      trainJob: faulty('trainer', TRAIN_ENTRY, { kind: 'checkpoint', step: 25 }),
      convertJob: faulty('converter', CONVERT_ENTRY, { stage: 'decoder' }),
    },
    runCli: null,
    watchLibrary: false,
    log: () => {},
  });
  services.events.subscribe((channel, payload) => seen.push({ channel, payload }));
});
afterAll(async () => {
  await services?.close();
  for (const f of electron.forks) f.child.kill();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!existsSync(TRAIN_ENTRY) || !existsSync(CONVERT_ENTRY))('job workers in (fake) utility processes', () => {
  it('a killed trainer process is reported and restarted; the run resumes to done in its one row, with no lock', async () => {
    const { db } = services;
    const modelDir = join(tmp, 'model');
    mkdirSync(modelDir);
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(FIXTURES, 'tiny-llama', f), join(modelDir, f));
    const r = mulberry32(7);
    await writeSafetensors(join(modelDir, 'adapter.safetensors'), {
      'llama_proj.weight': { data: Float32Array.from({ length: 64 * IN_DIM }, () => (r() - 0.5) * 0.2), shape: [64, IN_DIM] },
      'llama_proj.bias': { data: new Float32Array(64), shape: [64] },
    });
    const now = Date.now();
    for (let i = 0; i < 6; i++) {
      const path = join(tmp, `t${i}.flac`);
      writeFileSync(path, 'x');
      const id = Number(db.prepare('INSERT INTO tracks (path, size_bytes, mtime_ms, fingerprint, genre, mood, added_at, updated_at) VALUES (?, 1, 0, ?, ?, ?, ?, ?)')
        .run(path, `fp-${i}`, i % 2 ? 'jazz' : 'rock', 'calm', now, now).lastInsertRowid);
      const emb = Float32Array.from({ length: 2 * IN_DIM }, () => r() - 0.5);
      db.prepare('INSERT INTO windows (track_id, model_id, start_ms, length_ms, rows, dim, embedding, created_at) VALUES (?, ?, 0, 30000, 2, ?, ?, ?)')
        .run(id, 'tiny-mert', IN_DIM, Buffer.from(emb.buffer), now);
    }
    const training = services.training!;
    const rowsBefore = listRuns(db).length;
    const { runId } = await training.start({ modelId: modelDir, steps: 30, learningRate: 1e-3, activate: false });
    await expect.poll(async () => (await training.runs()).find((x) => x.id === runId)?.state, { timeout: 90_000, interval: 200 }).toBe('done');

    const trainers = electron.forks.filter((f) => f.serviceName === 'trainer');
    expect(trainers.length).toBe(2); // the killed one and the one that resumed
    expect(trainers[0]?.child.exitCode).toBe(70);
    expect(listRuns(db).length).toBe(rowsBefore + 1);
    expect(getRun(db, Number(runId)).state).toBe('done');
    const st = statuses('trainer');
    expect(st.find((s) => s.state === 'restarting')?.lastError).toMatch(/trainer worker exited unexpectedly \(code 70\)/);
    expect(st.at(-1)?.state).toBe('stopped');
    // The second process resumed from the checkpoint at step 25 (the default every 25 steps), not from scratch.
    const steps = seen.filter((e) => e.channel === 'training:progress' && (e.payload as { runId: string; split: string }).split === 'train').map((e) => (e.payload as { step: number }).step);
    expect(steps.at(-1)).toBe(30);
    expect(steps.filter((s) => s === 1).length).toBe(1);
    expect(steps.filter((s) => s === 25).length).toBe(1);
    expect(steps.filter((s) => s === 26).length).toBe(1);
    expect(existsSync(join(services.dataDir, 'training', `run-${runId}`, 'run.lock'))).toBe(false);
  }, 120_000);

  it('a killed converter process is reported as failed; converting again resumes to a ready pack', async () => {
    const tok = join(tmp, 'tokenizer');
    await writeLlamaTokenizer(tok);
    const fixtureDirs = ['tiny-mert', 'tiny-llama', 'tiny-musilingo'].map((d) => join(FIXTURES, d));
    await importModel({ db: services.db, modelsDir: modelsDir(services.dataDir) }, fixtureDirs, 'float32', { modelId: 'fixtures', tokenizerDir: tok });
    const models = services.models!;
    const progress = (): { message: string; failed?: boolean }[] =>
      seen.filter((e) => e.channel === 'models:progress' && (e.payload as { modelId: string }).modelId === 'fixtures').map((e) => e.payload as { message: string; failed?: boolean });

    await models.convert({ modelId: 'fixtures', variant: 'float32' });
    await expect.poll(() => progress().length, { timeout: 5_000 }).toBeGreaterThan(0);
    await expect.poll(() => progress().find((p) => p.failed)?.message ?? JSON.stringify([progress().at(-1), logs.slice(-3)]), { timeout: 90_000, interval: 200 }).toMatch(/Conversion failed: the converter stopped unexpectedly \(code 70\); start it again and it resumes/);
    expect(statuses('converter').at(-1)).toMatchObject({ state: 'failed' });
    expect(listModelPacks(services.db).find((p) => p.modelId === 'fixtures')?.state).not.toBe('ready');

    await models.convert({ modelId: 'fixtures', variant: 'float32' }); // not refused as "already converting"
    await expect.poll(() => progress().at(-1)?.message, { timeout: 90_000, interval: 200 }).toBe('Ready.');
    expect(electron.forks.filter((f) => f.serviceName === 'converter').length).toBe(2);
    expect(listModelPacks(services.db).find((p) => p.modelId === 'fixtures')?.state).toBe('ready');
    expect(statuses('converter').at(-1)).toMatchObject({ state: 'stopped' });
  }, 120_000);

  it('the same converter as a worker thread (the default outside Electron): killed, reported, converted again', async () => {
    const events = createEventHub();
    const got: { message: string; failed?: boolean }[] = [];
    events.subscribe((channel, payload) => {
      if (channel === 'models:progress') got.push(payload as { message: string; failed?: boolean });
    });
    let threads = 0;
    const base = threadLauncher(new URL(`file://${CONVERT_ENTRY}`), (w) => {
      if (threads++ === 0) w.postMessage({ type: 'crash-at', stage: 'decoder' });
    });
    const dataDir = join(tmp, 'data-thread');
    const dbPath = join(tmp, 'thread.sqlite');
    const db = openDatabase(dbPath);
    try {
      await importModel({ db, modelsDir: modelsDir(dataDir) }, ['tiny-mert', 'tiny-llama', 'tiny-musilingo'].map((d) => join(FIXTURES, d)), 'float32', { modelId: 'fixtures', tokenizerDir: join(tmp, 'tokenizer') });
      const models = createModelsFacade({ db, dbPath, dataDir, events, settings: createSettingsStore(db), log: () => {}, runCli: null, launchConvert: base });
      await models.convert({ modelId: 'fixtures', variant: 'float32' });
      await expect.poll(() => got.find((p) => p.failed)?.message, { timeout: 90_000, interval: 200 }).toMatch(/the converter stopped unexpectedly \(code 70\)/);
      await models.convert({ modelId: 'fixtures', variant: 'float32' });
      await expect.poll(() => got.at(-1)?.message, { timeout: 90_000, interval: 200 }).toBe('Ready.');
      expect(threads).toBe(2);
      expect(listModelPacks(db).find((p) => p.modelId === 'fixtures')?.state).toBe('ready');
    } finally {
      db.close();
    }
  }, 120_000);
});
